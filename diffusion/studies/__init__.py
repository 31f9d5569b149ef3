"""Offline studies at large N: a configuration's FID/KID, and the studies behind docs/quality.md.

`offline_eval` (one configuration → N images → FID/KID, images/s, energy per image; behind
``spindiff eval``; also the ε-error probe), `quality_study` (which chip non-ideality costs how much
FID: ablations and sweeps, resumable, in parallel) and `paired_study` (how much common random
numbers shrink the spread of a chip-vs-software FID difference). Run as ``python -m
diffusion.studies.quality_study`` and ``python -m diffusion.studies.paired_study``.
"""
