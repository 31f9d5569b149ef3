"""Where a generation stands after some finished sampler steps, so that it can continue bit for bit.

`GenerationState` is what `diffusion.generation.generate.generate` hands its ``checkpoint`` callback
after every step and takes back as ``resume``. It holds only what the skipped steps changed and
cannot be recomputed cheaply:

* ``x``: the batch's x_t after ``step`` steps (float32, N × 1 × 28 × 28: 3 kB an image);
* ``analog_rng``: the state of the chip's analog-noise ``torch.Generator`` (read and ADC noise, or the
  statistical model's; `diffusion.chip.backend.ChipNetwork.generator`), a few kB on CPU;
* ``ledger``: the chip's inference counts of those steps (crossbar reads, conversions, digital ops,
  energy and latency sums), without the random source's counts.

The noise source is not stored: on resume the generation loop replays its draws for the finished
steps (x_T and each step's z, values discarded; `diffusion.generation.loop.sample`), which puts the
torch generator or the MTJ array's bit streams where they were, with the same counts, charges and
stream digest. That is the cheap part of a step (about 1 ms per draw of 16 images from the
``vcma-default`` array, microseconds from torch); the network calls, the expensive part, are skipped.

Resumed images are identical to an uninterrupted run's (tests/diffusion/generation/test_resume.py);
the ledger's integer counts are identical too, its energy and latency sums equal to rounding (they are
summed in another order). A paired request (chip and software twin) is not resumable: it restarts.
``fingerprint`` ties a state to its request and model; a state that does not match is refused.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass

import numpy as np

from device.errors import InputError

#: format of `GenerationState.to_bytes` (bumped when the layout changes; other versions are refused)
FORMAT = 1
_MAGIC = b"SPDS"


class StateMismatch(InputError):
    """A `GenerationState` that belongs to another request, model or engine, or to a request that cannot resume."""


@dataclass(frozen=True)
class GenerationState:
    """A generation after ``step`` of ``total`` sampler steps (module docstring)."""

    step: int
    total: int
    x: np.ndarray  # float32, the batch's x_t after `step` steps
    fingerprint: str  # `fingerprint` of the request and model it belongs to
    analog_rng: bytes | None = None  # the chip's analog-noise generator state; None for software
    ledger: dict | None = None  # the chip's inference counts of the finished steps, no RNG counts; None for software

    def __post_init__(self) -> None:
        if not isinstance(self.total, int) or self.total < 1:
            raise InputError(f"total must be a positive integer, got {self.total!r}")
        if not isinstance(self.step, int) or not 0 <= self.step <= self.total:
            raise InputError(f"step must be an integer in [0, {self.total}], got {self.step!r}")
        if not isinstance(self.x, np.ndarray) or self.x.dtype != np.float32:
            raise InputError(f"x must be a float32 numpy array, got {getattr(self.x, 'dtype', type(self.x))}")

    def to_bytes(self) -> bytes:
        """A compact binary form: magic, format, header length, JSON header, x's bytes, the generator state."""
        header = {
            "step": self.step,
            "total": self.total,
            "shape": list(self.x.shape),
            "fingerprint": self.fingerprint,
            "analog_rng_bytes": None if self.analog_rng is None else len(self.analog_rng),
            "ledger": self.ledger,
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        x = np.ascontiguousarray(self.x, dtype="<f4").tobytes()
        return _MAGIC + struct.pack("<HI", FORMAT, len(head)) + head + x + (self.analog_rng or b"")

    @classmethod
    def from_bytes(cls, data: bytes) -> GenerationState:
        """The state `to_bytes` wrote; `InputError` naming what is wrong with anything else."""
        if not isinstance(data, (bytes, bytearray)) or data[:4] != _MAGIC or len(data) < 10:
            raise InputError("not a generation state (no SPDS header)")
        version, size = struct.unpack("<HI", data[4:10])
        if version != FORMAT:
            raise InputError(f"generation state format {version}; this version reads format {FORMAT}")
        try:
            header = json.loads(data[10 : 10 + size])
        except ValueError as error:
            raise InputError(f"generation state header is not JSON: {error}") from None
        shape = tuple(int(d) for d in header["shape"])
        start = 10 + size
        end = start + 4 * int(np.prod(shape, dtype=np.int64))
        rng_bytes = header["analog_rng_bytes"]
        if len(data) != end + (rng_bytes or 0):
            raise InputError(f"generation state has {len(data)} bytes; its header describes {end + (rng_bytes or 0)}")
        x = np.frombuffer(data[start:end], dtype="<f4").astype(np.float32).reshape(shape)
        return cls(
            step=int(header["step"]),
            total=int(header["total"]),
            x=x,
            fingerprint=str(header["fingerprint"]),
            analog_rng=None if rng_bytes is None else bytes(data[end:]),
            ledger=header["ledger"],
        )


def fingerprint(request, model_sha256: str, device: str | None = None) -> str:
    """SHA-256 of what a state belongs to: the request (profile by its hash), the model's weights and, on a
    chip, the torch device type its emulation runs on (``"cpu"``, ``"cuda"``: their arithmetic differs)."""
    fields = asdict(request)
    hardware = request.hardware
    fields["profile"] = "software" if hardware is None else hardware.hash
    blob = json.dumps({"request": fields, "model_sha256": model_sha256, "device": device}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def resumable(request) -> str | None:
    """Why ``request`` cannot be resumed from a state, or None when it can."""
    if request.paired:
        return "a paired request runs its software twin after the chip: it restarts from step 0"
    return None
