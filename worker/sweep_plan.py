"""A design-space sweep's points: axes over profile parameters expanded to a grid (or listed), each validated.

A sweep names a base profile (a preset, with optional base overrides) and either ``axes`` — a dotted
profile parameter and its values each, e.g. ``{"crossbar.adc_bits": [6, 8], "crossbar.read_time":
[1e-9, 4e-9]}``, expanded to their full grid in the order given (the last axis varies fastest) — or
``points``, an explicit list of ``{parameter: value}``. Each point becomes the overrides of one
ordinary generation job: the base overrides, the point's values and, when the sweep sets one, the
emulation mode (``crossbar.emulation``).

Every point's profile is built here (`device.profiles.resolve`, numba-free) before anything is
queued; a value that fails is reported with its axis, its position and the profile's own message.
`point_request` is the stored request of a point's job, shared by ``POST /v1/sweeps``
(app/api/routes/sweeps.py) and ``spindiff sweep`` (app/cli/sweep.py) through `SweepStore.submit`
(worker/sweep_store.py). Imports no torch.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass

from device import profiles

#: the most points one sweep may have, and the most images all its points together may ask for
MAX_POINTS = 256


class SweepError(ValueError):
    """A sweep that cannot run; ``field`` is where in the body the problem is (``axes.crossbar.adc_bits``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Point:
    """One point: its parameter values (dotted keys, as the axes name them), the job's overrides and profile hash."""

    index: int
    values: dict
    overrides: dict
    profile_hash: str


#: fields of a sweep's body that describe the sweep, not the generation each point runs
SWEEP_FIELDS = ("profile", "overrides", "emulation", "axes", "points")


def point_request(body: dict, model: dict, overrides: dict, profile_hash: str, seed: int, sweep: dict) -> dict:
    """The stored request of one point's generation job (the shape ``/v1/generations`` stores).

    ``body`` is the sweep's body as JSON (the fields of ``SweepCreate``, app/api/sweep_schemas.py),
    ``model`` the resolved model (``id``, ``sha256``; `worker.models.resolve`), ``overrides`` and
    ``profile_hash`` the point's (`Point`), ``sweep`` ``{"id": sweep id, "point": index}``.
    """
    request = {key: copy.deepcopy(value) for key, value in body.items() if key not in SWEEP_FIELDS}
    request.update(
        model=model["id"],
        model_sha256=model["sha256"],
        seed=seed,
        paired=False,
        preview=False,
        hardware={"profile": body["profile"], "overrides": overrides, "profile_hash": profile_hash},
        sweep=sweep,
    )
    return request


def nested(values: dict) -> dict:
    """``{"crossbar.adc_bits": 6}`` → ``{"crossbar": {"adc_bits": 6}}`` (the overrides' shape)."""
    out: dict = {}
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        out.setdefault(section, {})[key] = value
    return out


def merge(base: dict | None, extra: dict) -> dict:
    """Section-wise union of two override dicts; ``extra`` wins on a shared key."""
    out = {section: dict(keys) for section, keys in (base or {}).items()}
    for section, keys in extra.items():
        out.setdefault(section, {}).update(keys)
    return out


def _check_parameter(name: str, field: str) -> None:
    section, dot, key = name.partition(".")
    if not dot or not section or not key or "." in key:
        raise SweepError(field, f"a sweep parameter is 'section.key' (e.g. 'crossbar.adc_bits'), got {name!r}")
    if name == "crossbar.emulation":
        raise SweepError(field, "the emulation mode is the sweep's 'emulation' field, not an axis")


def expand(axes: dict | None, points: list | None) -> list[dict]:
    """The points as ``{parameter: value}`` dicts: the grid of ``axes``, or ``points`` as given."""
    if (axes is None) == (points is None):
        raise SweepError("axes", "give either 'axes' (a grid) or 'points' (an explicit list), not both or neither")
    if axes is not None:
        if not axes:
            raise SweepError("axes", "'axes' needs at least one parameter")
        for name, values in axes.items():
            _check_parameter(name, f"axes.{name}")
            if not isinstance(values, list) or not values:
                raise SweepError(f"axes.{name}", f"axis {name!r} needs a non-empty list of values, got {values!r}")
            if len({json.dumps(v) for v in values}) != len(values):
                raise SweepError(f"axes.{name}", f"axis {name!r} lists a value twice: {values!r}")
        size = 1
        for values in axes.values():
            size *= len(values)
        _check_size(size, "axes")
        names = list(axes)
        return [dict(zip(names, combo)) for combo in itertools.product(*(axes[n] for n in names))]
    if not points:
        raise SweepError("points", "'points' needs at least one point")
    _check_size(len(points), "points")
    for k, point in enumerate(points):
        if not isinstance(point, dict) or not point:
            raise SweepError(f"points.{k}", f"point {k} must be a non-empty object of parameter: value, got {point!r}")
        for name in point:
            _check_parameter(name, f"points.{k}.{name}")
    return [dict(p) for p in points]


def _check_size(size: int, field: str) -> None:
    if size > MAX_POINTS:
        raise SweepError(field, f"the sweep has {size} points; at most {MAX_POINTS} per sweep")


def plan(
    profile: str, base_overrides: dict | None, emulation: str | None, axes: dict | None, points: list | None
) -> list[Point]:
    """Every point validated and hashed, or a `SweepError` naming the first that fails (axis and value)."""
    try:
        base = profiles.get_profile(profile)
    except profiles.OVERRIDE_ERRORS as error:
        raise SweepError("profile", f"{error} (a sweep runs on the chip: 'software' has no parameters)") from None
    if base_overrides:
        try:
            profiles.resolve(profile, base_overrides)
        except profiles.OVERRIDE_ERRORS as error:
            failing = profiles.failing_override(base, base_overrides)
            raise SweepError(f"overrides.{failing}" if failing else "overrides", str(error)) from None
    extra = {} if emulation is None else {"crossbar": {"emulation": emulation}}
    planned = []
    for index, values in enumerate(expand(axes, points)):
        overrides = merge(merge(base_overrides, nested(values)), extra)
        try:
            resolved = profiles.resolve(profile, overrides)
        except profiles.OVERRIDE_ERRORS as error:
            field, name = _blame(values, base, base_overrides, axes is not None, index)
            what = f"{name} = {values[name]!r}" if name else f"point {index} {values}"
            raise SweepError(field, f"{what}: {error}") from None
        planned.append(Point(index, values, overrides, resolved.hash))
    hashes = [p.profile_hash for p in planned]
    if len(set(hashes)) != len(hashes):
        first = next(p for p in planned if hashes.count(p.profile_hash) > 1)
        raise SweepError("points" if axes is None else "axes", f"two points give the same profile: {first.values}")
    return planned


def _blame(values: dict, base, base_overrides: dict | None, grid: bool, index: int) -> tuple[str, str | None]:
    """(body field, parameter) of the value that fails alone on the base profile; (the point, None) when
    only the point's combination of values fails."""
    on = profiles.with_overrides(base, base_overrides) if base_overrides else base
    for name, value in values.items():
        try:
            profiles.with_overrides(on, nested({name: value}))
        except profiles.OVERRIDE_ERRORS:
            return (f"axes.{name}" if grid else f"points.{index}.{name}"), name
    return ("axes" if grid else f"points.{index}"), None
