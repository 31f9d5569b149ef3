"""The diffusion half of spindiff (torch): the network, generation, the chip backend, metrics, studies.

One sub-package per concern (docs/architecture.md, "Packages and their rooms"): `diffusion.model`
(the U-Net, schedules, data, training, checkpoints), `diffusion.generation` (one request end to
end: samplers, the loop, noise sources, PNGs), `diffusion.chip` (the network on the emulated chip
and its torch engines), `diffusion.metrics` (FID/KID, fidelity, the large-N FID table and a
request's quality block), `diffusion.telemetry` (the typed report, pure pydantic) and
`diffusion.studies` (offline evaluations at large N). `diffusion.shipped` (plain paths) and
``assets/`` (the shipped model and statistics) stay at the top, where the torch-free web side
imports them.
"""
