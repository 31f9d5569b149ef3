"""The generation loop: x_T from the noise source, then one denoise + one sampler step per kept step.

Everything is injected: ``denoise(x_t, t_batch) -> ε`` (software network or the chip backend), the
sampler (`diffusion.generation.samplers`), and the noise source (`diffusion.generation.noise`). Per step the loop calls
``cancel()`` first, then ``denoise``, then draws z only if the sampler uses it at that step (never at
the last step, never for DDIM η = 0, so the RNG ledger counts only noise that is used), then
``progress(steps_done, total, x̂_0)`` and the sampler step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from device.errors import InputError, SpindiffError
from diffusion.generation.noise import NoiseSource, check_shape


class Cancelled(SpindiffError):
    """``cancel()`` returned true before a step; ``steps_done`` steps had completed."""

    def __init__(self, steps_done: int, total: int):
        super().__init__(f"generation cancelled after {steps_done} of {total} steps")
        self.steps_done = steps_done
        self.total = total


def sample(
    denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    sampler,
    noise_source: NoiseSource,
    shape,
    num_steps: int,
    progress: Callable[[int, int, torch.Tensor], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> torch.Tensor:
    """Run ``num_steps`` reverse steps on a batch of ``shape`` (batch first); returns x_0."""
    shape = check_shape(shape)
    if len(shape) == 0 or shape[0] < 1:
        raise InputError(f"shape must start with a batch size ≥ 1, got {shape!r}")
    sampler.set_timesteps(num_steps)
    total = len(sampler.timesteps)
    x = noise_source.gaussian(shape)
    with torch.no_grad():
        for i, t in enumerate(sampler.timesteps.tolist()):
            if cancel is not None and cancel():
                raise Cancelled(i, total)
            eps = denoise(x, torch.full((shape[0],), t, dtype=torch.long))
            noise = noise_source.gaussian(shape) if sampler.needs_noise(t) else None
            if progress is not None:
                progress(i + 1, total, sampler.predict_x0(eps, t, x))
            x = sampler.step(eps, t, x, noise)
    return x
