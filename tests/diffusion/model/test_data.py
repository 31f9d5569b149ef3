"""Tests of diffusion/model/data.py on the synthetic IDX fixture (never the real dataset)."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
import torch

from device.errors import InputError, SpindiffError
from diffusion.model import data
from diffusion.model.data import DatasetFormatError, DatasetMissingError, load_split, read_idx, to_model_range, to_uint8
from tests.diffusion.conftest import NAMES, TEST_N, TRAIN_N, idx_bytes, write_idx_gz


def test_load_split_returns_the_arrays_written(fashion):
    directory, written = fashion
    for split, n in (("train", TRAIN_N), ("test", TEST_N)):
        images, labels = load_split(split, directory)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.uint8
        np.testing.assert_array_equal(images, written[split][0])
        np.testing.assert_array_equal(labels, written[split][1])


def test_read_idx_accepts_plain_files(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "x.idx").write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(read_idx(tmp_path / "x.idx"), array)


def test_directory_resolution_order(fashion_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(fashion_dir))
    assert data.resolve_data_dir() == fashion_dir
    assert data.resolve_data_dir(tmp_path) == tmp_path  # the argument beats the environment
    assert load_split("test")[0].shape == (TEST_N, 28, 28)  # read via the environment variable
    monkeypatch.delenv(data.ENV_VAR)
    assert data.resolve_data_dir() == data.DEBIAN_DIRECTORY
    monkeypatch.setattr(data, "DEBIAN_DIRECTORY", fashion_dir)
    assert load_split("train")[0].shape == (TRAIN_N, 28, 28)  # read from the Debian fallback


def test_missing_files_raise_with_the_install_hint(tmp_path):
    with pytest.raises(DatasetMissingError) as info:
        load_split("train", tmp_path)
    message = str(info.value)
    assert isinstance(info.value, SpindiffError) and isinstance(info.value, FileNotFoundError)
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "https://github.com/zalandoresearch/fashion-mnist" in message
    assert "--data-dir" in message and "SPINDIFF_DATA_DIR" in message
    for name in (*NAMES["train"], *NAMES["test"]):
        assert name in message
    assert str(tmp_path) in message


def test_one_missing_file_is_named(fashion_dir, tmp_path):
    shutil.copy(fashion_dir / NAMES["test"][0], tmp_path)
    with pytest.raises(DatasetMissingError, match=r"missing t10k-labels-idx1-ubyte\.gz"):
        load_split("test", tmp_path)


def test_unknown_split_raises():
    with pytest.raises(InputError, match="'valid'"):
        load_split("valid")


def _corrupt(tmp_path, fashion_dir, raw: bytes, compress: bool = True):
    shutil.copy(fashion_dir / NAMES["test"][1], tmp_path)
    (tmp_path / NAMES["test"][0]).write_bytes(gzip.compress(raw) if compress else raw)
    return tmp_path


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"\x01\x00\x08\x03" + b"\x00" * 12, "bad IDX magic"),
        (b"\x00\x00\x0d\x03" + b"\x00" * 12, "type byte 0x0d"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
        (b"\x00\x00", "too short"),
    ],
)
def test_corrupt_headers_raise(tmp_path, fashion_dir, raw, match):
    with pytest.raises(DatasetFormatError, match=match):
        load_split("test", _corrupt(tmp_path, fashion_dir, raw))


def test_truncated_data_raises(tmp_path, fashion_dir):
    raw = idx_bytes(np.zeros((TEST_N, 28, 28), dtype=np.uint8))[:-5]
    with pytest.raises(DatasetFormatError, match="truncated or corrupt"):
        load_split("test", _corrupt(tmp_path, fashion_dir, raw))


def test_broken_gzip_stream_raises(tmp_path, fashion_dir):
    good = gzip.compress(idx_bytes(np.zeros((TEST_N, 28, 28), dtype=np.uint8)))
    with pytest.raises(DatasetFormatError, match="corrupt gzip"):
        load_split("test", _corrupt(tmp_path, fashion_dir, good[: len(good) // 2], compress=False))


def test_wrong_image_shape_raises(tmp_path, fashion_dir):
    with pytest.raises(DatasetFormatError, match=r"expected \(N, 28, 28\)"):
        load_split("test", _corrupt(tmp_path, fashion_dir, idx_bytes(np.zeros((TEST_N, 27, 28), dtype=np.uint8))))


def test_count_mismatch_between_images_and_labels_raises(tmp_path, fashion_dir):
    raw = idx_bytes(np.zeros((TEST_N - 1, 28, 28), dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match=f"{TEST_N - 1} images but .* {TEST_N} labels"):
        load_split("test", _corrupt(tmp_path, fashion_dir, raw))


def test_labels_out_of_range_raise(tmp_path, fashion_dir):
    shutil.copy(fashion_dir / NAMES["test"][0], tmp_path)
    write_idx_gz(tmp_path / NAMES["test"][1], np.full(TEST_N, 10, dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match="label 10"):
        load_split("test", tmp_path)


def test_labels_with_wrong_rank_raise(tmp_path, fashion_dir):
    shutil.copy(fashion_dir / NAMES["test"][0], tmp_path)
    write_idx_gz(tmp_path / NAMES["test"][1], np.zeros((TEST_N, 1), dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match="expected \\(N,\\)"):
        load_split("test", tmp_path)


def test_to_model_range_maps_0_255_to_minus1_1_without_mutating():
    pixels = np.array([[[0, 255], [127, 128]]], dtype=np.uint8)
    before = pixels.copy()
    x = to_model_range(pixels)
    assert x.dtype == torch.float32 and x.shape == (1, 1, 2, 2)
    assert x[0, 0, 0, 0] == -1.0 and x[0, 0, 0, 1] == 1.0
    assert abs(float(x[0, 0, 1, 0]) - (127 / 127.5 - 1)) < 1e-7
    np.testing.assert_array_equal(pixels, before)
    assert to_model_range(torch.from_numpy(pixels).unsqueeze(1)).shape == (1, 1, 2, 2)


def test_to_uint8_inverts_to_model_range_exactly():
    every_level = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    np.testing.assert_array_equal(to_uint8(to_model_range(every_level)), every_level)


def test_to_uint8_clips_and_rounds():
    x = torch.tensor([-3.0, 5.0, 0.0, -1 + 0.4 / 127.5, -1 + 0.6 / 127.5]).reshape(1, 1, 1, 5)
    np.testing.assert_array_equal(to_uint8(x)[0, 0], [0, 255, 128, 0, 1])


@pytest.mark.parametrize(
    ("func", "arg", "match"),
    [
        (to_model_range, np.zeros((2, 28, 28), dtype=np.float32), "uint8"),
        (to_model_range, np.zeros((2, 3, 28, 28), dtype=np.uint8), "shape"),
        (to_model_range, np.zeros(28, dtype=np.uint8), "shape"),
        (to_uint8, torch.zeros(2, 28, 28), "shape"),
        (to_uint8, torch.zeros(2, 1, 28, 28, dtype=torch.int64), "floating-point"),
        (to_uint8, torch.full((1, 1, 2, 2), float("nan")), "non-finite"),
    ],
)
def test_pixel_conversions_reject_bad_input(func, arg, match):
    with pytest.raises(InputError, match=match):
        func(arg)
