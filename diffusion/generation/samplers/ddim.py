"""DDIM sampling with η (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models", eqs. 12 and 16).

One step from kept step t to the next kept step (ᾱ = ᾱ_t, ᾱ_p = ᾱ of the next kept step, or 1 after
the last), for an ε-prediction ``model_output``:

    x̂_0 = (x_t − √(1−ᾱ)·ε) / √ᾱ                       (optionally clipped to [−1, 1])
    σ   = η · √((1−ᾱ_p)/(1−ᾱ)) · √(1 − ᾱ/ᾱ_p)           (eq. 16)
    x_p = √ᾱ_p·x̂_0 + √(1−ᾱ_p−σ²)·ε + σ·z               (eq. 12)

The direction term uses the model's ε, not one recomputed from the clipped x̂_0 (diffusers'
default, ``use_clipped_model_output=False``). Recomputing it makes η = 1 algebraically equal to
DDPM even when clipping acts, but it is wrong for η = 0 with the cosine schedule: at t = T − 1,
ᾱ ≈ 2e-9, x̂_0 = (x_t − ε)/5e-5 is noise amplified 20 000× and clipped to a ±1 speckle, and a
recomputed ε ≈ x_t carries that speckle through every deterministic step (measured: speckled,
step-count-independent images). Without clipping, η = 1 equals DDPM's "small"-variance ancestral
step exactly (σ² = β̃, same mean). η = 0 is deterministic given x_T and needs no noise. The sampler draws no randomness: z is the ``noise`` argument.
At the last step
ᾱ_p = 1, so σ = 0 and x_p = x̂_0; ``noise`` is ignored there.
"""

from __future__ import annotations

import math
import numbers

import torch

from device.errors import InputError
from diffusion.generation.samplers.respacing import RespacedSampler, check_same_shape


class DDIMSampler(RespacedSampler):
    """DDIM sampler over any training schedule ``alphas_cumprod`` (1-D, length T), 0 ≤ η ≤ 1.

    ``set_timesteps(S)`` picks S ≤ T kept steps (``spacing``, default ``"trailing"``; see
    `diffusion.generation.samplers.respacing`); until then all T steps are kept.
    """

    def __init__(self, alphas_cumprod, eta: float = 0.0, clip_sample: bool = True, spacing: str = "trailing"):
        if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not 0.0 <= eta <= 1.0:
            raise InputError(f"eta must be a number in [0, 1], got {eta!r}")
        self.eta: float = float(eta)
        super().__init__(alphas_cumprod, clip_sample, spacing)

    def needs_noise(self, t) -> bool:
        """Whether ``step`` at ``t`` uses a noise tensor: η > 0 and not the last step."""
        return self.eta > 0.0 and not self.respacing.is_last(t)

    def sigma(self, t) -> float:
        """σ_t(η) of eq. 16 for the step at ``t`` (0 at the last step)."""
        i = self.respacing.index(t)
        a = float(self.respacing.alphas_cumprod[i])
        a_prev = float(self.respacing.alphas_cumprod_prev[i])
        return self.eta * math.sqrt((1.0 - a_prev) / (1.0 - a) * (1.0 - a / a_prev))

    def step(self, model_output: torch.Tensor, t, sample: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """x_{t_prev} from x_t by eq. 12 (see the module docstring)."""
        i = self.respacing.index(t)
        a_prev = float(self.respacing.alphas_cumprod_prev[i])
        sigma = self.sigma(t)
        x0 = self.predict_x0(model_output, t, sample)
        direction = math.sqrt(max(1.0 - a_prev - sigma * sigma, 0.0))
        prev = math.sqrt(a_prev) * x0 + direction * model_output
        if sigma == 0.0:
            return prev
        if noise is None:
            raise InputError(f"noise is required at t={int(t)} when eta > 0 (only the last step may omit it)")
        check_same_shape(noise, sample, "noise")
        return prev + sigma * noise
