"""Which torch device the diffusion side computes on: ``SPINDIFF_DEVICE`` = auto | cpu | cuda[:N].

``auto`` (the default) picks CUDA when torch sees a GPU and the CPU otherwise; ``cpu`` and ``cuda``
force one. Asking for CUDA on a machine without one is an error rather than a silent fallback, so
a deployment that expects a GPU finds out at start-up, not from a slow job. Only the device choice
lives here; the execution engines (`diffusion.chip.crossbar_torch`) take the device they are given.
"""

from __future__ import annotations

import os

import torch

from device.errors import InputError

ENV_VAR = "SPINDIFF_DEVICE"
CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | None = None) -> torch.device:
    """``name`` (else ``$SPINDIFF_DEVICE``, else ``"auto"``) → a `torch.device`.

    Accepted values, case-insensitive: ``auto`` (cuda when `torch.cuda.is_available()`, else cpu),
    ``cpu``, ``cuda`` and ``cuda:N`` (N an index below the visible GPU count). Raises
    `device.errors.InputError` naming the variable and the value for anything else, and for CUDA
    on a machine where torch sees none.
    """
    source = "device name" if name is not None else ENV_VAR
    raw = name if name is not None else os.environ.get(ENV_VAR, "auto")
    if not isinstance(raw, str):
        raise InputError(f"{source} must be a string ({', '.join(CHOICES)} or cuda:N), got {raw!r}")
    value = raw.strip().lower() or "auto"
    if value == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if value == "cpu":
        return torch.device("cpu")
    kind, colon, index = value.partition(":")
    if kind != "cuda" or (colon and not index.isdigit()):
        raise InputError(f"{source}={raw!r} is not a device; use one of {', '.join(CHOICES)} or cuda:N")
    if not torch.cuda.is_available():
        raise InputError(f"{source}={raw!r} asks for CUDA, but torch sees no CUDA device here; use auto or cpu")
    if index and int(index) >= torch.cuda.device_count():
        raise InputError(f"{source}={raw!r}: there are only {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(value)
