"""Reverse-diffusion samplers, one per file, diffusers-style: ``set_timesteps(S)``, then
``step(model_output, t, sample, noise)`` for each ``t`` in ``timesteps``. Samplers take the training
schedule's ᾱ, so they work with any schedule, and never draw randomness: the caller injects ``noise``.
"""

from diffusion.generation.samplers.ddim import DDIMSampler
from diffusion.generation.samplers.ddpm import DDPMSampler
from diffusion.generation.samplers.respacing import SPACINGS, respace, respaced_betas, spaced_timesteps

__all__ = ["DDIMSampler", "DDPMSampler", "SPACINGS", "respace", "respaced_betas", "spaced_timesteps"]
