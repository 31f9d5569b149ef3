"""The generation loop: x_T from the noise source, then one denoise + one sampler step per kept step.

Everything is injected: ``denoise(x_t, t_batch) -> ε`` (software network or the chip backend), the
sampler (`diffusion.generation.samplers`), and the noise source (`diffusion.generation.noise`). Per step the loop calls
``cancel()`` first, then ``denoise``, then draws z only if the sampler uses it at that step (never at
the last step, never for DDIM η = 0, so the RNG ledger counts only noise that is used), then
``progress(steps_done, total, x̂_0)``, the sampler step and ``checkpoint(LoopState)``.

A run resumes from a `LoopState` (``start``): the noise source's draws of the finished steps are
replayed (values discarded, so the source continues as if it had never stopped, its counts and
charges included), x_t is the state's, and the loop goes on from the next step. The samplers keep no
state between steps, so x_t, the step index and the noise source's position are the whole chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from device.errors import InputError, SpindiffError
from diffusion.generation.noise import NoiseSource, check_shape


class Cancelled(SpindiffError):
    """``cancel()`` returned true before a step; ``steps_done`` steps had completed."""

    def __init__(self, steps_done: int, total: int):
        super().__init__(f"generation cancelled after {steps_done} of {total} steps")
        self.steps_done = steps_done
        self.total = total


@dataclass(frozen=True)
class LoopState:
    """The chain after ``step`` finished steps: ``x`` is x_t of the next one (x_0 when all are done)."""

    step: int
    x: torch.Tensor


def sample(
    denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    sampler,
    noise_source: NoiseSource,
    shape,
    num_steps: int,
    progress: Callable[[int, int, torch.Tensor], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    start: LoopState | None = None,
    checkpoint: Callable[[LoopState], None] | None = None,
) -> torch.Tensor:
    """Run ``num_steps`` reverse steps on a batch of ``shape`` (batch first); returns x_0.

    ``start``: continue after ``start.step`` finished steps from ``start.x`` (module docstring);
    ``checkpoint``: called with the chain's `LoopState` after every step."""
    shape = check_shape(shape)
    if len(shape) == 0 or shape[0] < 1:
        raise InputError(f"shape must start with a batch size ≥ 1, got {shape!r}")
    sampler.set_timesteps(num_steps)
    timesteps = sampler.timesteps.tolist()
    total = len(timesteps)
    x = noise_source.gaussian(shape)
    first = 0
    if start is not None:
        if not 0 <= start.step <= total or tuple(start.x.shape) != shape:
            raise InputError(
                f"cannot resume a {total}-step run of shape {shape} from step {start.step} "
                f"with x_t of shape {tuple(start.x.shape)}"
            )
        for t in timesteps[: start.step]:  # replay the finished steps' noise: the source continues where it was
            if sampler.needs_noise(t):
                noise_source.gaussian(shape)
        x, first = start.x.clone(), start.step
    with torch.no_grad():
        for i in range(first, total):
            t = timesteps[i]
            if cancel is not None and cancel():
                raise Cancelled(i, total)
            eps = denoise(x, torch.full((shape[0],), t, dtype=torch.long))
            noise = noise_source.gaussian(shape) if sampler.needs_noise(t) else None
            if progress is not None:
                progress(i + 1, total, sampler.predict_x0(eps, t, x))
            x = sampler.step(eps, t, x, noise)
            if checkpoint is not None:
                checkpoint(LoopState(i + 1, x))
    return x
