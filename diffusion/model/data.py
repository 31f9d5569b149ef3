"""Fashion-MNIST from its original gzipped IDX files, and the model's pixel range.

Source: Xiao, Rasul & Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine
Learning Algorithms" (arXiv:1708.07747, 2017), MIT licence, https://github.com/zalandoresearch/fashion-mnist.
60 000 training and 10 000 test images, 28 × 28 grayscale uint8 (0 = background), labels 0–9.

IDX format (LeCun's MNIST page): a big-endian header — two zero bytes, one type byte (0x08 =
unsigned byte, the only type Fashion-MNIST uses), one byte giving the number of dimensions n — then
n big-endian uint32 sizes, then the data in C order. The files are gzipped; plain files are accepted
too. Every header field and the data length are checked, so a truncated download fails loudly.

Where the files are looked for, first hit wins: the ``directory`` argument (CLI ``--data-dir``), the
environment variable ``SPINDIFF_DATA_DIR``, then Debian's ``/usr/share/datasets/fashion-mnist``
(package ``dataset-fashion-mnist``). The dataset is needed for training and for reference statistics
only; serving runs from the shipped weights.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from device.errors import InputError, SpindiffError

ENV_VAR = "SPINDIFF_DATA_DIR"
DEBIAN_DIRECTORY = Path("/usr/share/datasets/fashion-mnist")
SOURCE_URL = "https://github.com/zalandoresearch/fashion-mnist"

#: split -> (images file, labels file), the names the dataset is published under.
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGE_SIZE = 28
NUM_CLASSES = 10
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_IDX_UBYTE = 0x08
_MAX_DIMS = 4
_GZIP_MAGIC = b"\x1f\x8b"


class DatasetMissingError(SpindiffError, FileNotFoundError):
    """The Fashion-MNIST files are not where spindiff looked; the message says how to get them."""


class DatasetFormatError(SpindiffError, ValueError):
    """A dataset file exists but is not a valid IDX file of the expected shape."""


def install_hint(directory: Path | None = None) -> str:
    """How to obtain the four files: what `DatasetMissingError` tells the user."""
    names = ", ".join(name for pair in FILES.values() for name in pair)
    looked = f" (looked in {directory})" if directory is not None else ""
    return (
        f"Fashion-MNIST not found{looked}. Either install it system-wide on Debian/Ubuntu "
        f"(MIT licence): `sudo apt-get install dataset-fashion-mnist` (files go to {DEBIAN_DIRECTORY}), "
        f"or download the four files {names} from {SOURCE_URL} into a directory and pass it with "
        f"--data-dir DIR or set {ENV_VAR}=DIR."
    )


def resolve_data_dir(directory: str | os.PathLike | None = None) -> Path:
    """The directory to read from: ``directory``, else ``$SPINDIFF_DATA_DIR``, else Debian's location.

    The result is not checked for existence here; `load_split` raises `DatasetMissingError`.
    """
    if directory is not None and str(directory) != "":
        return Path(directory).expanduser()
    from_env = os.environ.get(ENV_VAR, "")
    if from_env:
        return Path(from_env).expanduser()
    return DEBIAN_DIRECTORY


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse one IDX file of unsigned bytes (gzipped or plain) into a uint8 array of its dims.

    Raises:
        DatasetMissingError: the file does not exist.
        DatasetFormatError: bad gzip stream, bad magic, unsupported type, or wrong data length.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetMissingError(f"{path} does not exist. " + install_hint(path.parent))
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DatasetFormatError(f"{path}: corrupt gzip stream ({error}); download the file again") from error
    if len(raw) < 4:
        raise DatasetFormatError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    zero0, zero1, dtype, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0:
        raise DatasetFormatError(f"{path}: bad IDX magic {raw[:4].hex()} (must start with two zero bytes)")
    if dtype != _IDX_UBYTE:
        raise DatasetFormatError(f"{path}: IDX type byte 0x{dtype:02x} is not 0x08 (unsigned byte)")
    if not 1 <= ndim <= _MAX_DIMS:
        raise DatasetFormatError(f"{path}: IDX header declares {ndim} dimensions (expected 1–{_MAX_DIMS})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetFormatError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise DatasetFormatError(
            f"{path}: header dims {dims} need {expected} data bytes, file has {len(raw) - header}; "
            "the file is truncated or corrupt, download it again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def load_split(split: str, directory: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of Fashion-MNIST.

    Args:
        split: ``"train"`` or ``"test"``.
        directory: where the gzipped IDX files are; None resolves via `resolve_data_dir`.

    Returns:
        images: uint8 (N, 28, 28), 0 = background; labels: uint8 (N,), classes 0–9 (`CLASS_NAMES`).

    Raises:
        InputError: unknown split. DatasetMissingError: a file is missing (message: how to get it).
        DatasetFormatError: a file is corrupt or the two files disagree.
    """
    if split not in FILES:
        raise InputError(f"split must be one of {sorted(FILES)}, got {split!r}")
    root = resolve_data_dir(directory)
    image_path, label_path = (root / name for name in FILES[split])
    missing = [p.name for p in (image_path, label_path) if not p.is_file()]
    if missing:
        raise DatasetMissingError(f"missing {', '.join(missing)}. " + install_hint(root))
    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DatasetFormatError(f"{image_path}: images have shape {images.shape}, expected (N, 28, 28)")
    if labels.ndim != 1:
        raise DatasetFormatError(f"{label_path}: labels have shape {labels.shape}, expected (N,)")
    if len(labels) != len(images):
        raise DatasetFormatError(
            f"{image_path.name} has {len(images)} images but {label_path.name} has {len(labels)} labels"
        )
    if len(labels) and int(labels.max()) >= NUM_CLASSES:
        raise DatasetFormatError(f"{label_path}: label {int(labels.max())} is outside 0–{NUM_CLASSES - 1}")
    return images, labels


def to_model_range(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 pixels (N, H, W) or (N, 1, H, W) → float32 tensor (N, 1, H, W) in [-1, 1] (x / 127.5 − 1).

    Never modifies the input. Raises InputError on another dtype or rank.
    """
    tensor = torch.as_tensor(images)
    if tensor.dtype != torch.uint8:
        raise InputError(f"to_model_range expects uint8 pixels, got dtype {tensor.dtype}")
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 4 or tensor.shape[1] != 1:
        raise InputError(f"to_model_range expects shape (N, H, W) or (N, 1, H, W), got {tuple(tensor.shape)}")
    return tensor.to(torch.float32) / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Inverse of `to_model_range`: float (N, 1, H, W) in [-1, 1] → uint8 numpy (N, H, W).

    Values are clipped to [-1, 1] and rounded to the nearest level, so
    ``to_uint8(to_model_range(u)) == u`` exactly. Raises InputError on a wrong rank or non-finite input.
    """
    x = torch.as_tensor(x).detach()
    if x.ndim != 4 or x.shape[1] != 1:
        raise InputError(f"to_uint8 expects shape (N, 1, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InputError(f"to_uint8 expects a floating-point tensor, got dtype {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise InputError("to_uint8 got non-finite values (NaN or inf); the sampler diverged")
    pixels = ((x.to(torch.float64).clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    return pixels.to(torch.uint8)[:, 0].cpu().numpy()
