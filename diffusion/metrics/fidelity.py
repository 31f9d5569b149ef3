"""Per-image fidelity of a chip image to its software twin: PSNR and SSIM on uint8 images.

A paired request (`diffusion.generation.generate.GenerationRequest.paired`) samples the software network on
the same x_T and step noise as the chip, so chip image k and twin image k are the same garment
up to the chip's error; these two standard full-reference metrics measure that error per image.

* PSNR = 10·log₁₀(L² / MSE), L = 255 (the uint8 data range), in dB; infinite for identical images.
  JSON has no infinity, so the telemetry writes ``null`` for it and counts the identical images.
* SSIM: Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility to
  structural similarity", IEEE Trans. Image Processing 13(4):600–612, 2004, eq. (13) with the
  paper's standard settings — an 11×11 circular-symmetric Gaussian window with σ = 1.5 normalised
  to unit sum, K1 = 0.01, K2 = 0.03, C1 = (K1·L)², C2 = (K2·L)² — computed at every position where
  the window fits inside the image (MATLAB ``filter2(w, x, 'valid')`` in the authors' reference
  ``ssim_index.m``: an 18×18 map for 28×28 images) and averaged (the paper's MSSIM, eq. 17). Local
  statistics are window-weighted with the population (1/Σw = 1) normalisation, as in the paper.

SSIM was chosen beside PSNR because it compares local structure (means, contrasts, correlation)
rather than summed squared error, so a garment that keeps its shape but shifts brightness scores
high while a garment whose structure is lost scores low; PSNR is the plain error scale.
"""

from __future__ import annotations

import math

import numpy as np

from device.errors import InputError

DATA_RANGE = 255.0
WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_1d(size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian g whose outer product g·gᵀ is the 2-D window."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
    """The (size, size) Gaussian window of Wang et al. 2004 (MATLAB ``fspecial('gaussian', size, σ)``), sum 1."""
    g = gaussian_1d(size, sigma)
    return np.outer(g, g)


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Two image batches (N, H, W) or single images (H, W) of one shape, as float64 (N, H, W)."""
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        raise InputError(f"images must have one shape, got {x.shape} and {y.shape}")
    if x.ndim == 2:
        x, y = x[None], y[None]
    if x.ndim != 3 or x.shape[0] < 1:
        raise InputError(f"images must be (H, W) or (N, H, W), got shape {np.asarray(a).shape}")
    if min(x.shape[1:]) < WINDOW:
        raise InputError(f"SSIM needs images of at least {WINDOW}×{WINDOW} pixels, got {x.shape[1]}×{x.shape[2]}")
    return x.astype(np.float64), y.astype(np.float64)


def _filter_valid(images: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' weighted sum of (N, H, W) with the 1-D kernel g along both image axes."""
    rows = np.lib.stride_tricks.sliding_window_view(images, g.size, axis=1) @ g  # (N, H', W)
    return np.lib.stride_tricks.sliding_window_view(rows, g.size, axis=2) @ g  # (N, H', W')


def ssim_map(a, b, data_range: float = DATA_RANGE) -> np.ndarray:
    """SSIM index at every valid window position (N, H − 10, W − 10), Wang et al. 2004 eq. (13)."""
    x, y = _pair(a, b)
    g = gaussian_1d()  # the window is separable: outer(g, g)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = _filter_valid(x, g), _filter_valid(y, g)
    var_x = _filter_valid(x * x, g) - mu_x * mu_x
    var_y = _filter_valid(y * y, g) - mu_y * mu_y
    cov = _filter_valid(x * y, g) - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim(a, b, data_range: float = DATA_RANGE) -> np.ndarray:
    """Mean SSIM (MSSIM) of each image pair: (N,) float64 in [−1, 1], 1 only for identical images."""
    return ssim_map(a, b, data_range).mean(axis=(1, 2))


def psnr(a, b, data_range: float = DATA_RANGE) -> np.ndarray:
    """PSNR of each image pair in dB: (N,) float64, ``inf`` where the images are identical."""
    x, y = _pair(a, b)
    mse = ((x - y) ** 2).mean(axis=(1, 2))
    with np.errstate(divide="ignore"):
        return np.where(mse > 0, 10.0 * np.log10(data_range**2 / np.where(mse > 0, mse, 1.0)), np.inf)


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def fidelity_block(images, twin_images) -> dict:
    """The telemetry's ``fidelity`` block: chip images (N, H, W) uint8 against their software twins.

    Per image: PSNR (dB; ``null`` = infinite, the images are identical), SSIM and the mean absolute
    pixel difference (0–255 levels); over the batch: the mean and the minimum of each. The PSNR mean
    is ``null`` (infinite) as soon as one image is identical to its twin; ``identical`` counts them.
    """
    chip, twin = np.asarray(images), np.asarray(twin_images)
    if chip.dtype != np.uint8 or twin.dtype != np.uint8:
        raise InputError(f"fidelity compares uint8 images, got {chip.dtype} and {twin.dtype}")
    p, s = psnr(chip, twin), ssim(chip, twin)
    mad = np.abs(chip.astype(np.int16) - twin.astype(np.int16)).reshape(chip.shape[0], -1).mean(axis=1)
    return {
        "against": "software twin: the software network on the same x_T and step noise",
        "n": int(chip.shape[0]),
        "identical": int(np.sum(~np.isfinite(p))),
        "psnr_db": {
            "per_image": [_finite_or_none(v) for v in p],
            "mean": _finite_or_none(p.mean()),
            "min": _finite_or_none(p.min()),
            "data_range": DATA_RANGE,
        },
        "ssim": {
            "per_image": [float(v) for v in s],
            "mean": float(s.mean()),
            "min": float(s.min()),
            "window": f"{WINDOW}x{WINDOW} Gaussian, sigma {SIGMA}",
            "k1": K1,
            "k2": K2,
            "source": "Wang et al. 2004, IEEE TIP 13(4):600-612",
        },
        "mean_abs_diff": {
            "per_image": [float(v) for v in mad],
            "mean": float(mad.mean()),
            "max": float(mad.max()),
            "unit": "uint8 levels (of 255)",
        },
    }
