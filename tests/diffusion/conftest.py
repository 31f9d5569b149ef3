"""Shared fixtures of the diffusion tests: a tiny synthetic Fashion-MNIST in IDX format, tiny configs.

The IDX writer here is independent of diffusion/model/data.py (it follows the format description, not
the reader), so the reader's tests can fail. The real dataset is never used in tests.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from diffusion.model.schedule import ScheduleConfig
from diffusion.model.train import TrainConfig
from diffusion.model.unet import UNetConfig

TRAIN_N, TEST_N = 64, 32
NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: 0x00 0x00 0x08 ndim, big-endian uint32 dims, C-order data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx_gz(path: Path, array: np.ndarray) -> Path:
    path.write_bytes(gzip.compress(idx_bytes(array)))
    return path


def synthetic_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n 28×28 uint8 images: a bright rectangle per image on a dark background; labels 0–9."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        h, w = rng.integers(8, 20, size=2)
        top, left = rng.integers(0, 28 - h), rng.integers(0, 28 - w)
        images[i, top : top + h, left : left + w] = rng.integers(180, 256)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_dataset(
    directory: Path, train_n: int = TRAIN_N, test_n: int = TEST_N
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write the four gzipped IDX files into ``directory``; returns the arrays written per split."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, n, seed in (("train", train_n, 1), ("test", test_n, 2)):
        images, labels = synthetic_split(n, seed)
        write_idx_gz(directory / NAMES[split][0], images)
        write_idx_gz(directory / NAMES[split][1], labels)
        written[split] = (images, labels)
    return written


@pytest.fixture(scope="session")
def fashion(tmp_path_factory):
    """(directory, {split: (images, labels)}) of the synthetic dataset, written once per session."""
    directory = tmp_path_factory.mktemp("fashion")
    return directory, write_dataset(directory)


@pytest.fixture(scope="session")
def fashion_dir(fashion) -> Path:
    return fashion[0]


TINY_UNET = UNetConfig(base_channels=8, channel_mults=(1, 2), num_res_blocks=1, time_embed_dim=16, norm_groups=4)


#: A run that takes milliseconds per step: a 2-level 8-channel U-Net, T = 100, batch 16.
TINY_CONFIG = TrainConfig(
    unet=TINY_UNET,
    schedule=ScheduleConfig(kind="linear", num_train_timesteps=100, beta_start=1e-3, beta_end=0.1),
    batch_size=16,
    lr=2e-3,
    warmup_steps=2,
    total_steps=6,
    checkpoint_every=2,
    log_every=1,
    seed=3,
    num_threads=1,
)


@pytest.fixture
def tiny_config() -> TrainConfig:
    """`TINY_CONFIG` (frozen, so every test gets the same one)."""
    return TINY_CONFIG
