"""DDPM ancestral sampling with timestep respacing (Ho et al. 2020; Nichol & Dhariwal 2021 §4).

One reverse step from kept step t to the next kept step (ᾱ = ᾱ_t, ᾱ_p = ᾱ of the next kept step, or 1
after the last; β = 1 − ᾱ/ᾱ_p the respaced beta, α = 1 − β), for an ε-prediction ``model_output``:

    x̂_0 = (x_t − √(1−ᾱ)·ε) / √ᾱ                      (eq. 4 solved for x_0; clipped to [−1, 1] if asked)
    μ̃   = √ᾱ_p·β/(1−ᾱ) · x̂_0 + √α·(1−ᾱ_p)/(1−ᾱ) · x_t   (eq. 7)
    σ²  = β̃ = (1−ᾱ_p)/(1−ᾱ) · β   ("small", eq. 7)   or   β   ("large")
    x_p = μ̃ + σ·z                                       (Algorithm 2; z = 0 at the last step)

The sampler draws no randomness: z is the ``noise`` argument, from the injected noise source
(`diffusion.generation.noise`). At the last step no noise is added (ᾱ_p = 1, so μ̃ = x̂_0) and ``noise`` may be
None; it is ignored there.
"""

from __future__ import annotations

import math

import torch

from device.errors import InputError
from diffusion.generation.samplers.respacing import RespacedSampler, check_same_shape

VARIANCES = ("small", "large")


class DDPMSampler(RespacedSampler):
    """Ancestral DDPM sampler over any training schedule ``alphas_cumprod`` (1-D, length T).

    ``set_timesteps(S)`` picks S ≤ T kept steps (``spacing``, default ``"trailing"``; see
    `diffusion.generation.samplers.respacing`); until then all T steps are kept.
    """

    def __init__(self, alphas_cumprod, clip_sample: bool = True, variance: str = "small", spacing: str = "trailing"):
        if variance not in VARIANCES:
            raise InputError(f"variance must be one of {VARIANCES}, got {variance!r}")
        self.variance = variance
        super().__init__(alphas_cumprod, clip_sample, spacing)

    def needs_noise(self, t) -> bool:
        """Whether ``step`` at ``t`` uses a noise tensor (every step but the last)."""
        return not self.respacing.is_last(t)

    def step(self, model_output: torch.Tensor, t, sample: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """x_{t_prev} from x_t: posterior mean plus σ·``noise`` (see the module docstring)."""
        i = self.respacing.index(t)
        a = float(self.respacing.alphas_cumprod[i])
        a_prev = float(self.respacing.alphas_cumprod_prev[i])
        beta = float(self.respacing.betas[i])
        x0 = self.predict_x0(model_output, t, sample)
        mean = (math.sqrt(a_prev) * beta / (1.0 - a)) * x0 + (
            math.sqrt(1.0 - beta) * (1.0 - a_prev) / (1.0 - a)
        ) * sample
        if i == self.num_steps - 1:
            return mean
        if noise is None:
            raise InputError(f"noise is required at t={int(t)} (only the last step may omit it)")
        check_same_shape(noise, sample, "noise")
        var = beta * (1.0 - a_prev) / (1.0 - a) if self.variance == "small" else beta
        return mean + math.sqrt(var) * noise
