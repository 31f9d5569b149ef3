"""Tests of diffusion/generation/sampler_names.py, the sampler registry, and of every place that reads it.

Each registry entry must be accepted by the API schema, the CLI's ``--sampler`` choices (``generate``,
``eval``, ``bench sampling``), the quality study's, the dashboard's menu and the generator (which
builds and steps it); a name outside the registry must be refused by each of them with an error that
names the known samplers. The registry module itself stays standard-library only (the API process
and the torch-free CLI import it).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from app import cli
from app.api.schemas import GenerationCreate
from device.errors import InputError
from diffusion.generation import sampler_names
from diffusion.generation.generate import GenerationRequest, make_sampler
from diffusion.generation.sampler_names import ETA, SAMPLERS, sampler_spec, samplers_taking
from diffusion.generation.samplers import RespacedSampler, build_sampler
from diffusion.metrics import large_n_fids
from diffusion.studies import quality_study

REPO = Path(__file__).resolve().parents[3]
ACP = np.cumprod(1.0 - np.linspace(1e-4, 0.02, 100))
UNKNOWN = "euler"
#: The CLI commands with a ``--sampler`` option, each with the other arguments it needs to parse.
CLI_COMMANDS = [["generate", "--out", "out"], ["eval"], ["bench", "sampling"]]
NO_ETA = [name for name, spec in SAMPLERS.items() if not spec.takes_eta]


def parameters_of(name: str) -> dict:
    """A value inside the bounds, other than the default, of each parameter the sampler takes."""
    return {p.name: (p.low + p.high) / 2 for p in SAMPLERS[name].parameters}


def assert_names_every_sampler(text: str) -> None:
    for name in SAMPLERS:
        assert name in text, f"{name!r} missing from {text!r}"


def test_the_registry_is_well_formed():
    assert list(SAMPLERS) and sampler_names.DEFAULT_SAMPLER == next(iter(SAMPLERS))
    for name, spec in SAMPLERS.items():
        assert spec.name == name and spec.description and "\n" not in spec.description
        module, _, attribute = spec.cls.partition(":")
        assert module.startswith("diffusion.generation.samplers.") and attribute, spec.cls
        cls = spec.sampler_class()
        assert isinstance(cls, type) and issubclass(cls, RespacedSampler), spec.cls
        for p in spec.parameters:
            assert p.low <= p.default <= p.high and sampler_names.PARAMETERS[p.name] is p
            assert hasattr(GenerationRequest, p.name), f"{p.name} needs a GenerationRequest field"
            assert p.name in GenerationCreate.model_fields, f"{p.name} needs an API field"
    assert samplers_taking(ETA.name) == tuple(n for n, s in SAMPLERS.items() if s.takes_eta)


def test_the_registry_module_imports_only_the_standard_library():
    tree = ast.parse(Path(sampler_names.__file__).read_text())
    imported = {
        alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported
    code = (
        "import sys, json\n"
        "from diffusion.generation import sampler_names\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'device'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --- every entry is accepted everywhere ---------------------------------------------------------


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_the_api_schema_accepts_every_sampler_with_its_parameters(name):
    body = GenerationCreate(sampler=name, **parameters_of(name))
    assert body.sampler == name
    assert GenerationCreate.model_json_schema()["properties"]["sampler"]["enum"] == list(SAMPLERS)


@pytest.mark.parametrize("name", list(SAMPLERS))
@pytest.mark.parametrize("command", CLI_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_the_cli_accepts_every_sampler(name, command):
    assert cli.build_parser().parse_args([*command, "--sampler", name]).sampler == name


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_the_quality_study_accepts_every_sampler(name, capsys):
    assert quality_study.main(["--sampler", name, "--list"]) == 0
    assert "software" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_the_generator_builds_and_steps_every_sampler(name):
    request = GenerationRequest(profile="software", sampler=name, **parameters_of(name))
    sampler = make_sampler(request, ACP)
    spec = sampler_spec(name)
    assert type(sampler) is spec.sampler_class()
    for p in spec.parameters:  # the request's value reached the sampler
        assert getattr(sampler, p.name) == getattr(request, p.name)
    sampler.set_timesteps(4)
    x = torch.zeros(2, 1, 4, 4, dtype=torch.float64)
    for t in sampler.timesteps.tolist():
        noise = torch.ones_like(x) if sampler.needs_noise(t) else None
        x = sampler.step(torch.zeros_like(x), t, x, noise)
    assert torch.isfinite(x).all()
    assert type(build_sampler(name, ACP)) is spec.sampler_class()


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_the_fid_table_key_has_eta_exactly_for_the_samplers_that_take_it(name):
    with_eta = [large_n_fids.key("a" * 64, name, 10, eta, "p") for eta in (0.0, 1.0)]
    assert (with_eta[0] != with_eta[1]) == SAMPLERS[name].takes_eta
    assert ("/eta=" in with_eta[0]) == SAMPLERS[name].takes_eta


def test_the_dashboard_menu_is_the_registry():
    from app.dashboard.routes import form_fields

    field = form_fields()["sampler"]
    assert [o["name"] for o in field["options"]] == list(SAMPLERS)
    assert [o["takes_eta"] for o in field["options"]] == [s.takes_eta for s in SAMPLERS.values()]
    assert [o["description"] for o in field["options"]] == [s.description for s in SAMPLERS.values()]
    assert field["default"] == sampler_names.DEFAULT_SAMPLER


# --- a name outside the registry is refused everywhere, naming the known samplers ----------------


def test_the_api_schema_refuses_an_unknown_sampler_naming_the_known_ones():
    with pytest.raises(ValidationError) as info:
        GenerationCreate(sampler=UNKNOWN)
    (error,) = info.value.errors()
    assert error["loc"] == ("sampler",)
    assert_names_every_sampler(error["msg"])


@pytest.mark.parametrize("command", CLI_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_the_cli_refuses_an_unknown_sampler_naming_the_known_ones(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args([*command, "--sampler", UNKNOWN])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid choice: '{UNKNOWN}'" in err
    assert_names_every_sampler(err.split("invalid choice")[1])


def test_the_quality_study_refuses_an_unknown_sampler_naming_the_known_ones(capsys):
    with pytest.raises(SystemExit) as info:
        quality_study.main(["--sampler", UNKNOWN, "--list"])
    assert info.value.code == 2
    assert_names_every_sampler(capsys.readouterr().err.split("invalid choice")[1])


@pytest.mark.parametrize(
    "refuse",
    [
        lambda: GenerationRequest(profile="software", sampler=UNKNOWN),
        lambda: build_sampler(UNKNOWN, ACP),
        lambda: sampler_spec(UNKNOWN),
        lambda: large_n_fids.key("a" * 64, UNKNOWN, 10, 0.0, "p"),
    ],
    ids=["GenerationRequest", "build_sampler", "sampler_spec", "large_n_fids.key"],
)
def test_the_generator_refuses_an_unknown_sampler_naming_the_known_ones(refuse):
    with pytest.raises(InputError, match=f"unknown sampler '{UNKNOWN}'; known samplers: ") as info:
        refuse()
    assert_names_every_sampler(str(info.value))


# --- η only for the samplers that take it ------------------------------------------------------


@pytest.mark.parametrize("name", NO_ETA)
def test_eta_is_refused_for_a_sampler_that_does_not_take_it(name):
    takers = samplers_taking(ETA.name)
    with pytest.raises(ValidationError) as info:
        GenerationCreate(sampler=name, eta=0.5)
    (error,) = info.value.errors()
    assert error["loc"] == ("eta",) and all(t in error["msg"] for t in takers)
    with pytest.raises(InputError, match="eta applies to the") as raised:
        GenerationRequest(profile="software", sampler=name, eta=0.5)
    assert all(t in str(raised.value) for t in takers)
    assert GenerationRequest(profile="software", sampler=name, eta=ETA.default).eta == ETA.default
