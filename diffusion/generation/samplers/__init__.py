"""Reverse-diffusion samplers, one per file, diffusers-style: ``set_timesteps(S)``, then
``step(model_output, t, sample, noise)`` for each ``t`` in ``timesteps``. Samplers take the training
schedule's ᾱ, so they work with any schedule, and never draw randomness: the caller injects ``noise``.

Which samplers exist, with their parameters and descriptions, is the registry `SAMPLERS`
(`diffusion.generation.sampler_names`, torch-free, re-exported here); `build_sampler` makes one by
name from it.
"""

from diffusion.generation.sampler_names import SAMPLERS, SamplerSpec, sampler_spec
from diffusion.generation.samplers.ddim import DDIMSampler
from diffusion.generation.samplers.ddpm import DDPMSampler
from diffusion.generation.samplers.respacing import (
    SPACINGS,
    RespacedSampler,
    respace,
    respaced_betas,
    spaced_timesteps,
)


def build_sampler(name: str, alphas_cumprod, **parameters) -> RespacedSampler:
    """The sampler ``name`` of the registry over ``alphas_cumprod``, given the values of its parameters.

    ``parameters`` may hold values of parameters the sampler does not take (a request carries every
    field): those are dropped. An unknown name is an `InputError` naming the known samplers.
    """
    spec = sampler_spec(name)
    return spec.sampler_class()(alphas_cumprod, **{k: v for k, v in parameters.items() if k in spec.parameter_names})


__all__ = [
    "DDIMSampler",
    "DDPMSampler",
    "SAMPLERS",
    "SPACINGS",
    "RespacedSampler",
    "SamplerSpec",
    "build_sampler",
    "respace",
    "respaced_betas",
    "sampler_spec",
    "spaced_timesteps",
]
