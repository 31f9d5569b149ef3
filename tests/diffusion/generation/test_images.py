"""Tests of diffusion/generation/images.py: PNG bytes carry the record, grids tile, range conversion."""

import io

import numpy as np
import pytest
from PIL import Image

from device.errors import InputError
from diffusion.generation import images


def test_png_round_trip_with_record():
    image = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    record = {"seed": 7, "profile": "vcma-default", "model_sha256": "ab" * 32}
    data = images.png_bytes(image, record)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert images.read_record(data) == record
    with Image.open(io.BytesIO(data)) as picture:
        np.testing.assert_array_equal(np.asarray(picture), image)
    assert images.read_record(images.png_bytes(image)) is None
    big = images.png_bytes(image, scale=4)
    with Image.open(io.BytesIO(big)) as picture:
        assert picture.size == (112, 112)


def test_grid_layout():
    stack = np.stack([np.full((4, 4), k, dtype=np.uint8) for k in range(1, 6)])
    g = images.grid(stack, columns=3, padding=1)
    assert g.shape == (2 * 5 + 1, 3 * 5 + 1)
    assert g[1, 1] == 1 and g[1, 6] == 2 and g[6, 1] == 4 and g[6, 11] == 0  # empty slot stays background


def test_to_uint8_maps_model_range():
    x = np.array([[[[-1.0, 0.0, 1.0, 2.0]]]], dtype=np.float32)
    np.testing.assert_array_equal(images.to_uint8(x), [[[0, 128, 255, 255]]])


def test_bad_inputs_raise():
    with pytest.raises(InputError, match="uint8"):
        images.png_bytes(np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(InputError, match="at least one"):
        images.grid(np.zeros((0, 4, 4), dtype=np.uint8))
    with pytest.raises(InputError, match="uint8"):
        images.grid(np.zeros((2, 4), dtype=np.uint8))
