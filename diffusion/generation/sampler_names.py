"""The sampler registry: every sampler's name, class, parameters and one-line description.

`SAMPLERS` is the one list of samplers. Everything that names one reads it: `GenerationRequest` and
`make_sampler` (`diffusion.generation.generate`), the API's ``sampler`` enum and its η check
(`app.api.schemas`), the dashboard's sampler menu, η field and report (`app.dashboard`), the
``--sampler`` choices of ``spindiff generate``, ``eval`` and ``bench sampling`` (`app.cli`) and of
the quality study (`diffusion.studies.quality_study`), and the large-N FID table's key
(`diffusion.metrics.large_n_fids`: η is part of it only for a sampler that takes η).

This module imports only the standard library, so that the API process, the dashboard and the
torch-free CLI read it at import time (docs/architecture.md, "Packages and their rooms"). A spec
names its class by import path; `SamplerSpec.sampler_class` imports it (and with it torch) only when
called. `diffusion.generation.samplers` re-exports the registry beside the classes.

A sampler's own parameters are `Parameter` entries, named as the `GenerationRequest` field (and the
API field) that carries them; today there is one, ``eta`` (`ETA`, DDIM's η). A value other than the
parameter's default for a sampler that does not take it is refused (`unused_parameter`), by the API
with 422 and by `GenerationRequest` with `InputError`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    """A parameter of some samplers: its request field ``name``, default, closed bounds [low, high], help."""

    name: str
    default: float
    low: float
    high: float
    description: str


@dataclass(frozen=True)
class SamplerSpec:
    """One registry entry: ``name`` (the request's ``sampler``), ``cls`` (``"module:Class"``),
    ``description`` (one line, shown in the dashboard and the CLI help) and the `Parameter` s it takes."""

    name: str
    cls: str
    description: str
    parameters: tuple[Parameter, ...] = ()

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def takes_eta(self) -> bool:
        """Whether the sampler has a DDIM-style η (the request's ``eta`` field)."""
        return ETA.name in self.parameter_names

    def sampler_class(self) -> type:
        """The class (imports its module, hence torch)."""
        module, _, attribute = self.cls.partition(":")
        return getattr(importlib.import_module(module), attribute)


#: DDIM's η (Song, Meng & Ermon 2021, eq. 16): 0 deterministic, 1 the DDPM "small"-variance step.
ETA = Parameter("eta", 0.0, 0.0, 1.0, "DDIM η (0 deterministic, 1 ≈ DDPM)")

#: Every sampler, by name, in menu order. The first is the default.
SAMPLERS: dict[str, SamplerSpec] = {
    spec.name: spec
    for spec in (
        SamplerSpec(
            "ddpm",
            "diffusion.generation.samplers.ddpm:DDPMSampler",
            "DDPM ancestral sampling, stochastic (Ho et al. 2020)",
        ),
        SamplerSpec(
            "ddim",
            "diffusion.generation.samplers.ddim:DDIMSampler",
            "DDIM, deterministic at η = 0, stochastic up to DDPM at η = 1 (Song et al. 2021)",
            (ETA,),
        ),
    )
}
DEFAULT_SAMPLER = next(iter(SAMPLERS))
#: Every parameter some sampler takes, by request field name.
PARAMETERS: dict[str, Parameter] = {p.name: p for spec in SAMPLERS.values() for p in spec.parameters}


def known_samplers() -> str:
    """``"ddpm, ddim"``: the registry's names, for error messages."""
    return ", ".join(SAMPLERS)


def sampler_spec(name: str) -> SamplerSpec:
    """The spec of ``name``; `device.errors.InputError` naming the known samplers for any other name."""
    try:
        return SAMPLERS[name]
    except (KeyError, TypeError):
        from device.errors import InputError  # here, not at module level: the CLI imports nothing of device/

        raise InputError(f"unknown sampler {name!r}; known samplers: {known_samplers()}") from None


def samplers_taking(parameter: str) -> tuple[str, ...]:
    """The names of the samplers that take ``parameter`` (a request field name), in registry order."""
    return tuple(name for name, spec in SAMPLERS.items() if parameter in spec.parameter_names)


def unused_parameter(sampler: str, parameter: str, value) -> str | None:
    """Why ``value`` of ``parameter`` does not fit ``sampler`` (it is set but unused), or None.

    None also when ``sampler`` is unknown: that is the sampler's own error, reported apart.
    """
    spec = SAMPLERS.get(sampler)
    if spec is None or parameter in spec.parameter_names or value == PARAMETERS[parameter].default:
        return None
    users = samplers_taking(parameter)
    plural = "s" if len(users) > 1 else ""
    return (
        f"{parameter} applies to the {' and '.join(users)} sampler{plural} only; "
        f"use sampler {' or '.join(repr(u) for u in users)} or leave {parameter} at {PARAMETERS[parameter].default:g}"
    )
