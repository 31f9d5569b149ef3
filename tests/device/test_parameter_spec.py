"""device/parameter_spec.py: the metadata of every profile field is declared, is what the dataclasses
enforce (each bound refused just outside, accepted at the edge), and reports every problem at once."""

from __future__ import annotations

import dataclasses
import math

import pytest

from device import parameter_spec, profiles
from device.crossbar_parameters import CrossbarParameters
from device.errors import FieldError, ParameterError, ProfileError
from device.mtj_parameters import MTJParameters
from device.rng_parameters import RNGParameters

SECTIONS = {
    name: type(getattr(profiles.VCMA_DEFAULT, name)) for name in ("mtj", "variation", "rng", "crossbar", "technology")
}
FIELDS = [(cls, f) for cls in SECTIONS.values() for f in dataclasses.fields(cls)]


def _outside(spec: parameter_spec.Spec, annotation: str):
    """Values just outside the declared range (none for an unbounded side)."""
    step = 1 if annotation == "int" else None
    out = []
    if spec.low is not None:
        low = spec.low if spec.low_open else (spec.low - step if step else spec.low - max(abs(spec.low) * 1e-6, 1e-12))
        if not (spec.zero and low == 0):
            out.append(low)
    if spec.high is not None:
        out.append(spec.high + step if step else spec.high * (1 + 1e-6) + 1e-12)
    return out


@pytest.mark.parametrize("cls, f", FIELDS, ids=lambda x: getattr(x, "name", getattr(x, "__name__", "")))
def test_every_field_is_declared_and_its_range_is_what_the_class_refuses(cls, f):
    spec = f.metadata["spec"]
    assert spec.label and spec.description and spec.source and spec.group in {g for g, _, _ in cls.GROUPS}
    assert parameter_spec.value_error(cls.__name__, f.name, f.type, spec, f.default) is None  # the default is allowed
    if spec.checked_apart or f.type in ("bool", "str"):
        return
    for value in _outside(spec, f.type.removesuffix(" | None")):
        with pytest.raises(ParameterError, match=rf"{cls.__name__}\.{f.name} must"):
            cls(**{f.name: value})
    if f.type != "int":
        with pytest.raises(ParameterError, match=f.name):
            cls(**{f.name: math.nan})


def test_choices_and_multiples_are_enforced_from_the_metadata():
    for name in ("source", "calibration", "knob", "gaussian_method"):
        choices = parameter_spec.spec_of(RNGParameters, name).choices
        with pytest.raises(
            ParameterError,
            match=rf"RNGParameters\.{name} must be one of {choices!r}".replace("(", r"\(").replace(")", r"\)"),
        ):
            RNGParameters(**{name: "nope"})
    with pytest.raises(ParameterError, match="calibration_window must be a multiple of 64, got 100"):
        RNGParameters(calibration_window=100)
    assert CrossbarParameters(adc_bits=0).adc_bits == 0  # 0 = ideal read-out, outside [2, 14]


def test_every_problem_is_reported_at_once_with_its_field():
    with pytest.raises(ParameterError) as caught:
        CrossbarParameters(adc_bits=99, read_noise=-1.0, ir_drop="yes", input_mode="serial")
    assert [e.path for e in caught.value.errors] == ["input_mode", "adc_bits", "read_noise", "ir_drop"]
    assert str(caught.value) == "; ".join(e.message for e in caught.value.errors)
    with pytest.raises(ParameterError) as caught:
        MTJParameters(demag_x=0.5)  # a check across fields: at the field changed, naming the others it read
    assert caught.value.errors == (
        FieldError(
            "demag_z", "MTJParameters: demag_x + demag_y + demag_z must be 1, got 1.4894", ("demag_x", "demag_y")
        ),
    )


def test_override_problems_are_shown_at_the_override_that_causes_them():
    base = profiles.get_profile("vcma-default")
    problems = profiles.override_problems(
        base, {"mtj": {"demag_x": 0.5}, "crossbar": {"adc_bits": 1, "read_noise": -1}}
    )
    assert [p.path for p in problems] == ["mtj.demag_x", "crossbar.adc_bits", "crossbar.read_noise"]
    # the read-error coupling names rng.read_time first; a change of the read voltage is shown there
    (problem,) = profiles.override_problems(base, {"rng": {"read_voltage": 1e-4}})
    assert problem.path == "rng.read_voltage" and "raise rng.read_time or rng.read_voltage" in problem.message
    assert profiles.override_problems(base, {"crossbar": {"adc_bits": 6}}) == []
    with pytest.raises(ProfileError) as caught:
        profiles.with_overrides(base, {"crossbar": {"adc_bits": 1, "nope": 2}})
    assert [e.path for e in caught.value.errors] == ["crossbar.nope", "crossbar.adc_bits"]


def test_the_schemas_say_what_is_checked():
    schema = profiles.overrides_json_schema()
    assert set(schema["properties"]) == set(SECTIONS) and schema["additionalProperties"] is False
    adc = schema["properties"]["crossbar"]["properties"]["adc_bits"]
    assert adc["anyOf"] == [{"const": 0}, {"minimum": 2, "maximum": 14}] and adc["type"] == "integer"
    window = schema["properties"]["rng"]["properties"]["calibration_window"]
    assert (window["minimum"], window["maximum"], window["multipleOf"]) == (64, 1 << 24, 64)
    form = profiles.schema()
    assert [s["name"] for s in form] == list(SECTIONS)
    drawn = [f["name"] for s in form if s["name"] == "crossbar" for g in s["groups"] for f in g["fields"]]
    assert sorted(drawn) == sorted(f.name for f in dataclasses.fields(CrossbarParameters))
