"""Image-quality metrics and the FIDs measured with them, offline and per request.

`inception` (the hash-pinned FID feature extractor), `fid_kid` (FID, KID, precision/recall and the
batch report on Inception features; float64 numpy/scipy), `reference_stats` (the real images'
statistics, made once and verified on load), `fidelity` (PSNR and SSIM of a chip image to its
software twin), `large_n_fids` (the shipped table of FIDs measured at large N), `fid_uncertainty`
(a configuration's FIDs by N with their seed-set spread) and `per_request` (the quality block of
one request's telemetry). Modules that serve the torch-free web side import torch only when they
score.
"""
