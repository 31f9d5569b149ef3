"""One generation request, end to end: the request type, the sampling loop, samplers, noise, PNGs.

`generate` (`GenerationRequest` and `generate`: model + backend + sampler + noise source → images
+ telemetry), `loop` (the generation loop, about twenty lines), `samplers/` (DDPM and DDIM, one per
file, never drawing randomness), `noise` (the injected noise sources: torch or the MTJ array) and
`images` (uint8 images as PNG bytes with the reproducibility record, and grids). The service's
worker and ``spindiff generate`` call `generate.generate`.
"""
