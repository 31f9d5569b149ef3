"""DDPM ancestral sampling with timestep respacing (Ho et al. 2020; Nichol & Dhariwal 2021 §4).

One reverse step from kept step t to the next kept step (ᾱ = ᾱ_t, ᾱ_p = ᾱ of the next kept step, or 1
after the last; β = 1 − ᾱ/ᾱ_p the respaced beta, α = 1 − β), for an ε-prediction ``model_output``:

    x̂_0 = (x_t − √(1−ᾱ)·ε) / √ᾱ                      (eq. 4 solved for x_0; clipped to [−1, 1] if asked)
    μ̃   = √ᾱ_p·β/(1−ᾱ) · x̂_0 + √α·(1−ᾱ_p)/(1−ᾱ) · x_t   (eq. 7)
    σ²  = β̃ = (1−ᾱ_p)/(1−ᾱ) · β   ("small", eq. 7)   or   β   ("large")
    x_p = μ̃ + σ·z                                       (Algorithm 2; z = 0 at the last step)

The sampler draws no randomness: z is the ``noise`` argument, from the injected noise source
(`diffusion.noise`). At the last step no noise is added (ᾱ_p = 1, so μ̃ = x̂_0) and ``noise`` may be
None; it is ignored there.
"""

from __future__ import annotations

import math

import torch

from device.errors import InputError
from diffusion.samplers.respacing import Respacing, check_alphas_cumprod, respace

VARIANCES = ("small", "large")


class DDPMSampler:
    """Ancestral DDPM sampler over any training schedule ``alphas_cumprod`` (1-D, length T).

    ``set_timesteps(S)`` picks S ≤ T kept steps (``spacing``, default ``"trailing"``; see
    `diffusion.samplers.respacing`); until then all T steps are kept.
    """

    def __init__(self, alphas_cumprod, clip_sample: bool = True, variance: str = "small",
                 spacing: str = "trailing"):
        if variance not in VARIANCES:
            raise InputError(f"variance must be one of {VARIANCES}, got {variance!r}")
        self.alphas_cumprod = check_alphas_cumprod(alphas_cumprod)
        self.num_train_timesteps = int(self.alphas_cumprod.size)
        self.clip_sample = bool(clip_sample)
        self.variance = variance
        self.spacing = spacing
        self.set_timesteps(self.num_train_timesteps)

    def set_timesteps(self, num_steps: int) -> None:
        """Keep ``num_steps`` training steps; ``self.timesteps`` is then their descending array."""
        self.respacing: Respacing = respace(self.alphas_cumprod, num_steps, self.spacing)
        self.timesteps = self.respacing.timesteps

    @property
    def num_steps(self) -> int:
        return int(self.timesteps.size)

    def needs_noise(self, t) -> bool:
        """Whether ``step`` at ``t`` uses a noise tensor (every step but the last)."""
        return not self.respacing.is_last(t)

    def predict_x0(self, model_output: torch.Tensor, t, sample: torch.Tensor) -> torch.Tensor:
        """The clean-sample estimate x̂_0 at ``t`` (clipped if ``clip_sample``): previews, progress."""
        _check_same_shape(model_output, sample, "model_output")
        a = float(self.respacing.alphas_cumprod[self.respacing.index(t)])
        x0 = (sample - math.sqrt(1.0 - a) * model_output) / math.sqrt(a)
        return x0.clamp(-1.0, 1.0) if self.clip_sample else x0

    def step(self, model_output: torch.Tensor, t, sample: torch.Tensor,
             noise: torch.Tensor | None) -> torch.Tensor:
        """x_{t_prev} from x_t: posterior mean plus σ·``noise`` (see the module docstring)."""
        i = self.respacing.index(t)
        a = float(self.respacing.alphas_cumprod[i])
        a_prev = float(self.respacing.alphas_cumprod_prev[i])
        beta = float(self.respacing.betas[i])
        x0 = self.predict_x0(model_output, t, sample)
        mean = (math.sqrt(a_prev) * beta / (1.0 - a)) * x0 \
            + (math.sqrt(1.0 - beta) * (1.0 - a_prev) / (1.0 - a)) * sample
        if i == self.num_steps - 1:
            return mean
        if noise is None:
            raise InputError(f"noise is required at t={int(t)} (only the last step may omit it)")
        _check_same_shape(noise, sample, "noise")
        var = beta * (1.0 - a_prev) / (1.0 - a) if self.variance == "small" else beta
        return mean + math.sqrt(var) * noise


def _check_same_shape(x: torch.Tensor, sample: torch.Tensor, name: str) -> None:
    if tuple(x.shape) != tuple(sample.shape):
        raise InputError(f"{name} must have the sample's shape {tuple(sample.shape)}, got {tuple(x.shape)}")
