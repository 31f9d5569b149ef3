"""Tests of diffusion/metrics/fidelity.py: SSIM (Wang et al. 2004) against a plain per-window twin, analytic
values and a published implementation's value; PSNR against its definition; the telemetry block."""

import math

import numpy as np
import pytest

from device.errors import InputError
from diffusion.metrics.fidelity import K1, K2, WINDOW, fidelity_block, gaussian_window, psnr, ssim, ssim_map


def naive_ssim_map(
    x: np.ndarray, y: np.ndarray, size: int = 11, sigma: float = 1.5, k1=0.01, k2=0.03, L=255.0
) -> np.ndarray:
    """Wang et al. 2004 eqs. (13)–(15) written out window by window, with the window-weighted
    statistics μ = Σ w·x, σ² = Σ w·(x − μ)², σ_xy = Σ w·(x − μ_x)(y − μ_y) (no E[x²] − μ² shortcut)."""
    r = np.arange(size) - (size - 1) / 2
    w = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    w /= w.sum()
    c1, c2 = (k1 * L) ** 2, (k2 * L) ** 2
    x, y = x.astype(np.float64), y.astype(np.float64)
    out = np.empty((x.shape[0] - size + 1, x.shape[1] - size + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            a, b = x[i : i + size, j : j + size], y[i : i + size, j : j + size]
            mx, my = (w * a).sum(), (w * b).sum()
            vx, vy = (w * (a - mx) ** 2).sum(), (w * (b - my) ** 2).sum()
            cxy = (w * (a - mx) * (b - my)).sum()
            out[i, j] = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return out


def smooth_pair():
    yy, xx = np.mgrid[:28, :28]
    c = (127 + 100 * np.sin(xx / 4.0) * np.cos(yy / 5.0)).astype(np.uint8)
    return c, (c.astype(float) * 0.8 + 20).astype(np.uint8)


def test_the_window_is_the_papers_gaussian():
    w = gaussian_window()
    assert w.shape == (11, 11) and math.isclose(w.sum(), 1.0, rel_tol=1e-15)
    np.testing.assert_allclose(w, w.T, rtol=0, atol=0)
    assert math.isclose(w[5, 5] / w[5, 6], math.exp(1 / (2 * 1.5**2)), rel_tol=1e-12)  # σ = 1.5
    assert (WINDOW, K1, K2) == (11, 0.01, 0.03)


def test_ssim_matches_the_per_window_twin():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (3, 28, 28)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-60, 61, a.shape), 0, 255).astype(np.uint8)
    fast = ssim_map(a, b)
    assert fast.shape == (3, 18, 18)  # 'valid' positions of an 11×11 window in 28×28
    for k in range(3):
        np.testing.assert_allclose(fast[k], naive_ssim_map(a[k], b[k]), rtol=0, atol=1e-12)


def test_ssim_known_values():
    # constant images a and b: σ terms cancel, SSIM = (2ab + C1)/(a² + b² + C1) exactly (eq. 13)
    c1 = (0.01 * 255) ** 2
    a, b = np.full((28, 28), 100, np.uint8), np.full((28, 28), 140, np.uint8)
    assert ssim(a, b)[0] == pytest.approx((2 * 100 * 140 + c1) / (100**2 + 140**2 + c1), rel=1e-12)
    # scikit-image 0.26.0 structural_similarity(c, d, gaussian_weights=True, sigma=1.5,
    # use_sample_covariance=False, data_range=255) — its settings "to match Wang et al." — gives:
    c, d = smooth_pair()
    assert ssim(c, d)[0] == pytest.approx(0.9735376209237335, abs=1e-12)
    assert ssim(c, c)[0] == 1.0 and ssim(c, d)[0] == pytest.approx(ssim(d, c)[0], abs=1e-15)


def test_psnr_is_its_definition():
    c, _ = smooth_pair()
    shifted = c.copy()
    shifted[c < 255] += 1  # MSE = share of pixels changed by one level
    mse = np.mean(c < 255)
    assert psnr(c, shifted)[0] == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-12)
    assert psnr(c, c)[0] == math.inf


def test_fidelity_block_of_identical_and_of_different_batches():
    c, d = smooth_pair()
    same = fidelity_block(np.stack([c, d]), np.stack([c, d]))
    assert same["n"] == 2 and same["identical"] == 2
    assert same["psnr_db"]["per_image"] == [None, None] and same["psnr_db"]["mean"] is None  # infinite: JSON has no inf
    assert same["ssim"]["mean"] == 1.0 and same["ssim"]["min"] == 1.0 and same["mean_abs_diff"]["max"] == 0.0
    mixed = fidelity_block(np.stack([c, c]), np.stack([c, d]))
    assert mixed["identical"] == 1 and mixed["psnr_db"]["mean"] is None
    assert mixed["psnr_db"]["min"] == pytest.approx(psnr(c, d)[0]) and mixed["ssim"]["min"] == pytest.approx(
        ssim(c, d)[0]
    )
    assert mixed["mean_abs_diff"]["per_image"][0] == 0.0 and mixed["mean_abs_diff"]["per_image"][1] > 0


@pytest.mark.parametrize(
    "a, b, words",
    [
        (np.zeros((2, 28, 28), np.uint8), np.zeros((3, 28, 28), np.uint8), "one shape"),
        (np.zeros((2, 8, 8), np.uint8), np.zeros((2, 8, 8), np.uint8), "at least 11"),
        (np.zeros((28,), np.uint8), np.zeros((28,), np.uint8), "(H, W) or (N, H, W)"),
    ],
)
def test_bad_inputs_raise(a, b, words):
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        ssim(a, b)


def test_fidelity_block_wants_uint8():
    with pytest.raises(InputError, match="uint8"):
        fidelity_block(np.zeros((1, 28, 28)), np.zeros((1, 28, 28)))
