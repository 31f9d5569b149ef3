"""What each field of a parameter dataclass is: label, unit, range, choices, one-line description, source.

Every field of the profile's sections (`MTJParameters`, `VariationParameters`, `RNGParameters`,
`CrossbarParameters`, `TechnologyParameters`) is declared with `param`, which stores a `Spec` in the
dataclass field's metadata. That one declaration is read three times:

- by the dataclass's own validation (`field_errors`, called from each ``__post_init__``): types,
  ranges, choices and multiples, every field checked and every problem reported with its field;
- by the API's OpenAPI document (`json_schema`: the overrides a request may send, with JSON Schema
  bounds, enums, defaults and the unit and source as ``x-unit`` / ``x-source``);
- by the dashboard's generation form (`describe`: labels, units, ranges, groups and descriptions).

Metadata is not part of `dataclasses.asdict`, so it never enters a profile's JSON or hash. Checks that
tie several fields together (a sum, a dependency) stay in the class's ``__post_init__``, reported as
`FieldError` values naming the fields they read. Standard library only (the API process imports it).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from device.errors import FieldError, ParameterError

_TYPES = ("float", "int", "str", "bool", "float | None")


@dataclass(frozen=True)
class Spec:
    """One field's metadata (SI units throughout; ``display`` only changes how the form shows it).

    Attributes:
        label: a short name for people ("Read time"), symbols where they help ("TMR ratio").
        description: one line: what the value does.
        source: where the default comes from: a paper, a reference model, docs/formulas.md F-number,
            or "assumption: …" / "spindiff design choice".
        group: key of the concept group of the field's class (the class's ``GROUPS``).
        unit: SI unit of the stored value, "" for a pure number.
        low, high: the allowed closed range; None = unbounded on that side.
        low_open: ``low`` itself is not allowed (> low).
        zero: when set, 0 is allowed outside [low, high] and means this ("ideal read-out").
        null: when set, None (JSON null) is allowed and means this ("derived from the read").
        choices: the allowed values of a string field.
        multiple_of: an integer field must be a multiple of this.
        display: (unit, exponent): the form shows value / 10**exponent in that unit, e.g. ("ns", -9).
        checked_apart: the range is enforced by the class itself with a message of its own (the
            generic range check skips it; the schema still states it).
    """

    label: str
    description: str
    source: str
    group: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    zero: str = ""
    null: str = ""
    choices: tuple[str, ...] = ()
    multiple_of: int | None = None
    display: tuple[str, int] | None = None
    checked_apart: bool = False


def param(default, **spec: Any) -> Any:
    """A dataclass field with ``default`` and its `Spec` (keyword arguments of `Spec`)."""
    return dataclasses.field(default=default, metadata={"spec": Spec(**spec)})


def spec_of(cls_or_obj, name: str) -> Spec:
    for f in dataclasses.fields(cls_or_obj):
        if f.name == name:
            return f.metadata["spec"]
    raise KeyError(name)


def range_text(spec: Spec, number=repr) -> str:
    """``[2, 14] (or 0 for ideal read-out)``, ``> 0``, ``>= 0``, ``(0, 1]``, or "" when unbounded."""
    low, high = spec.low, spec.high
    if low is not None and high is not None:
        text = f"{'(' if spec.low_open else '['}{number(low)}, {number(high)}]"
    elif low is not None:
        text = f"{'>' if spec.low_open else '>='} {number(low)}"
    elif high is not None:
        text = f"<= {number(high)}"
    else:
        text = ""
    return f"{text} (or 0 for {spec.zero})" if text and spec.zero else text


def _number(value) -> str:
    """A bound as written in the source: integers without a decimal point."""
    return str(int(value)) if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15 else repr(value)


def value_error(owner: str, name: str, annotation: str, spec: Spec, value) -> str | None:
    """Why ``value`` is not allowed for the field (its message), or None when it is."""
    where = f"{owner}.{name}"
    if annotation == "float | None":
        if value is None:
            return None
        annotation = "float"
    if annotation == "bool":
        return None if isinstance(value, bool) else f"{where} must be true or false, got {value!r}"
    if annotation == "str":
        if spec.choices and value not in spec.choices:
            return f"{where} must be one of {spec.choices}, got {value!r}"
        return None if isinstance(value, str) else f"{where} must be a string, got {value!r}"
    if annotation == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            bounds = range_text(spec, _number)
            return f"{where} must be an integer{' in ' + bounds if bounds.startswith('[') else ''}, got {value!r}"
    elif not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        derived = f" or None ({spec.null})" if spec.null else ""
        return f"{where} must be a finite number{derived}, got {value!r}"
    if spec.checked_apart or (spec.zero and value == 0):
        return None
    low, high = spec.low, spec.high
    too_low = low is not None and (value <= low if spec.low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        bounds = range_text(spec, _number)
        verb = "lie in" if bounds[:1] in "[(" else "be"
        return f"{where} must {verb} {bounds}, got {value!r}"
    if spec.multiple_of and value % spec.multiple_of:
        return f"{where} must be a multiple of {spec.multiple_of}, got {value!r}"
    return None


def field_errors(obj) -> list[FieldError]:
    """Every field of the parameter object ``obj`` that its `Spec` refuses, in declaration order."""
    owner = type(obj).__name__
    found = []
    for f in dataclasses.fields(obj):
        message = value_error(owner, f.name, f.type, f.metadata["spec"], getattr(obj, f.name))
        if message:
            found.append(FieldError(f.name, message))
    return found


def raise_if(errors: list[FieldError]) -> None:
    """Raise one `ParameterError` carrying every problem found (messages joined), if any."""
    if errors:
        raise ParameterError.of(errors)


def describe(cls) -> list[dict]:
    """The fields of ``cls`` for a form: name, type, default and every `Spec` entry (JSON-able)."""
    out = []
    for f in dataclasses.fields(cls):
        spec: Spec = f.metadata["spec"]
        entry = {"name": f.name, "type": f.type, "default": f.default, **dataclasses.asdict(spec)}
        entry["choices"] = list(spec.choices)
        entry["display"] = list(spec.display) if spec.display else None
        entry["range"] = range_text(spec, _number)
        out.append(entry)
    return out


def field_json_schema(annotation: str, spec: Spec, default) -> dict:
    """The JSON Schema of one field (bounds, enum, multiple, default, unit and source as x-keys)."""
    kind = {"float": "number", "int": "integer", "str": "string", "bool": "boolean", "float | None": "number"}
    schema: dict = {"title": spec.label, "description": spec.description}
    if spec.unit:
        schema["description"] += f" Unit: {spec.unit}."
    bounds: dict = {}
    if spec.low is not None:
        bounds["exclusiveMinimum" if spec.low_open else "minimum"] = spec.low
    if spec.high is not None:
        bounds["maximum"] = spec.high
    if spec.multiple_of:
        bounds["multipleOf"] = spec.multiple_of
    if spec.zero and bounds:
        schema["anyOf"] = [{"const": 0}, bounds]
    else:
        schema.update(bounds)
    schema["type"] = [kind[annotation], "null"] if spec.null else kind[annotation]
    if spec.choices:
        schema["enum"] = list(spec.choices)
    schema["default"] = default
    schema["x-unit"] = spec.unit
    schema["x-source"] = spec.source
    return schema


def json_schema(cls) -> dict:
    """The JSON Schema of a partial ``cls`` (every key optional, no others): a profile section's overrides."""
    properties = {f.name: field_json_schema(f.type, f.metadata["spec"], f.default) for f in dataclasses.fields(cls)}
    return {
        "type": "object",
        "title": getattr(cls, "LABEL", cls.__name__),
        "properties": properties,
        "additionalProperties": False,
    }


def check_declared(cls) -> None:
    """Every field of ``cls`` has a `Spec` with a known group, a supported type and a default."""
    for attribute in ("LABEL", "SUMMARY", "GROUPS"):  # the form's section title, its line and its groups
        if not getattr(cls, attribute, None):
            raise TypeError(f"{cls.__name__} has no {attribute}")
    groups = {key for key, _, _ in cls.GROUPS}
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("spec")
        if not isinstance(spec, Spec):
            raise TypeError(f"{cls.__name__}.{f.name} has no Spec (declare it with device.parameter_spec.param)")
        if f.type not in _TYPES:
            raise TypeError(f"{cls.__name__}.{f.name} has unsupported type {f.type!r}")
        if spec.group not in groups:
            raise TypeError(f"{cls.__name__}.{f.name}: group {spec.group!r} is not in {cls.__name__}.GROUPS")
