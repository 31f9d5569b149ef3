"""The injected noise source of the sampler: where x_T and every step's z come from.

A sampler never draws randomness; the generation loop asks a `NoiseSource` for standard-normal
tensors. Two implementations:

* `TorchNoise(seed)`: a seeded ``torch.Generator`` (CPU), the software baseline.
* `ArrayNoise(gaussian_fn)`: adapts any ``shape -> numpy float32 array`` callable, which is how the
  emulated MTJ source plugs in: ``ArrayNoise(device.rng.MTJRandomSource(...).gaussian)``.

Both count what they hand out (``calls``, ``samples_drawn``) for the ledger and for tests. Two
wrappers: `ChargedNoise` (values from one source while the chip's array is run and charged for the
same draws: ``noise = "torch"`` on a chip) and `DigestNoise` (SHA-256 of x_T and of the whole
stream, for the reproducibility record and the paired-noise checks).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from device.errors import InputError


@runtime_checkable
class NoiseSource(Protocol):
    """Anything that returns i.i.d. N(0, 1) float32 tensors of a requested shape."""

    def gaussian(self, shape) -> torch.Tensor: ...


def check_shape(shape) -> tuple[int, ...]:
    """``shape`` (an int or a sequence of ints) as a tuple of non-negative ints."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise InputError(f"shape must be an int or a sequence of ints, got {shape!r}") from None
    if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0 for d in dims):
        raise InputError(f"shape must be non-negative integers, got {shape!r}")
    return tuple(int(d) for d in dims)


class TorchNoise:
    """N(0, 1) float32 tensors from a CPU ``torch.Generator`` seeded with ``seed`` (no global state)."""

    def __init__(self, seed: int):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
            raise InputError(f"seed must be an integer in [0, 2**64), got {seed!r}")
        self.seed = int(seed)
        self.generator = torch.Generator(device="cpu").manual_seed(self.seed)
        self.calls = 0
        self.samples_drawn = 0

    def gaussian(self, shape) -> torch.Tensor:
        dims = check_shape(shape)
        z = torch.randn(dims, generator=self.generator, dtype=torch.float32)
        self.calls += 1
        self.samples_drawn += z.numel()
        return z


class ArrayNoise:
    """Adapter: ``gaussian_fn(shape) -> np.ndarray`` (float32, exactly ``shape``) as a `NoiseSource`.

    The array is checked (type, dtype, shape) and copied into a new tensor, so the source may reuse
    its buffer and the tensor never aliases it.
    """

    def __init__(self, gaussian_fn: Callable[[tuple[int, ...]], np.ndarray]):
        if not callable(gaussian_fn):
            raise InputError(f"gaussian_fn must be callable, got {gaussian_fn!r}")
        self.gaussian_fn = gaussian_fn
        self.calls = 0
        self.samples_drawn = 0

    def gaussian(self, shape) -> torch.Tensor:
        dims = check_shape(shape)
        arr = self.gaussian_fn(dims)
        if not isinstance(arr, np.ndarray):
            raise InputError(f"gaussian_fn must return a numpy array, got {type(arr).__name__}")
        if arr.dtype != np.float32:
            raise InputError(f"gaussian_fn must return float32 samples, got dtype {arr.dtype}")
        if arr.shape != dims:
            raise InputError(f"gaussian_fn returned shape {arr.shape}, expected {dims}")
        self.calls += 1
        self.samples_drawn += arr.size
        return torch.from_numpy(np.array(arr, dtype=np.float32, order="C", copy=True))


class ChargedNoise:
    """Values from ``values`` (a `NoiseSource`); ``charge(shape)`` runs the chip's own array for the same draw.

    ``noise = "torch"`` on a chip: the sampler uses the torch stream (the same for every profile),
    while the chip's MTJ array still produces — and the ledger charges — every sample the sampler
    consumes, its output discarded. The energy, latency and RNG counters are thus those of the chip
    making its own noise; only the values come from the shared stream.
    """

    def __init__(self, values: NoiseSource, charge: Callable[[tuple[int, ...]], object]):
        if not callable(charge):
            raise InputError(f"charge must be callable, got {charge!r}")
        self.values = values
        self.charge = charge
        self.calls = 0
        self.samples_drawn = 0

    def gaussian(self, shape) -> torch.Tensor:
        dims = check_shape(shape)
        self.charge(dims)
        z = self.values.gaussian(dims)
        self.calls += 1
        self.samples_drawn += z.numel()
        return z


class DigestNoise:
    """Wraps a `NoiseSource` and fingerprints what it hands out: SHA-256 of x_T (the first draw) and of
    every draw in order (shape and float32 bytes), for the reproducibility record and pairing checks."""

    def __init__(self, source: NoiseSource):
        self.source = source
        self._stream = hashlib.sha256()
        self.x_T_sha256: str | None = None
        self.calls = 0
        self.samples_drawn = 0

    def gaussian(self, shape) -> torch.Tensor:
        z = self.source.gaussian(shape)
        data = z.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
        if self.x_T_sha256 is None:
            self.x_T_sha256 = hashlib.sha256(data).hexdigest()
        self._stream.update(repr(tuple(z.shape)).encode())
        self._stream.update(data)
        self.calls += 1
        self.samples_drawn += z.numel()
        return z

    @property
    def stream_sha256(self) -> str:
        """SHA-256 over every draw so far (x_T and each step's z, with their shapes)."""
        return self._stream.hexdigest()
