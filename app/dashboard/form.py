"""The generation form of the jobs page: what it is drawn from, its first-run defaults, its estimate,
and a job's request as the form's values ("Edit and run").

The hardware part of the form is generated from the profile schema (`device.profiles.schema`: the
parameter dataclasses' metadata, the same that validates a profile and describes ``overrides`` in
the OpenAPI document): every field with its label, unit, range, description and source, grouped by
concept, enumerations as menus. The emulation mode (``crossbar.emulation``) is drawn beside the
profile instead of inside the crossbar section: it is the first choice a user makes about speed.

The form starts on a request that finishes in seconds here (`FIRST_RUN`: 4 images, 10 steps, the
statistical emulation mode), which is not the API's default (16 images, 50 steps, exact): a first
click should show a result, not wait minutes. Before submitting, the dry run answers with an
estimated duration (`estimate`, from `worker.estimates`).
"""

from __future__ import annotations

import copy
import functools
import json

from app.api.schemas import SOFTWARE, GenerationCreate
from app.dashboard import telemetry
from device import profiles
from worker import estimates
from worker.store import JobStore

#: the form's starting request: seconds here (docs/emulation.md, "Speed"), where the API's default takes minutes
FIRST_RUN = {"num_images": 4, "steps": 10, "emulation": "statistical"}
EMULATION = ("crossbar", "emulation")
#: the parameter sections shown unfolded (none: the form shows its sections and what each holds; a
#: section opens when it is clicked, has an error, or holds a value loaded from a job or a PNG)
OPEN_SECTIONS: tuple[str, ...] = ()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"


def _shown(value: float, field: dict) -> str:
    """A bound in the unit the form shows (``display``), e.g. 1e-9 s → "1" (ns)."""
    exponent = field["display"][1] if field["display"] else 0
    return _number(float(f"{value / 10.0**exponent:.12g}"))


def range_hint(field: dict) -> str:
    """The allowed values as the form says them, in its unit: "2–14, or 0 (ideal)", "> 0 ns",
    "64–16777216 cycles, multiple of 64", "≥ 0 %; empty = derived"."""
    if field["choices"] or field["type"] == "bool":
        return ""
    low, high = field["low"], field["high"]
    unit = f" {unit_of(field)}" if unit_of(field) else ""
    if low is not None and high is not None:
        text = f"{_shown(low, field)}–{_shown(high, field)}{unit}" + (
            " (low end excluded)" if field["low_open"] else ""
        )
    elif low is not None:
        text = f"{'>' if field['low_open'] else '≥'} {_shown(low, field)}{unit}"
    elif high is not None:
        text = f"≤ {_shown(high, field)}{unit}"
    else:
        text = "any number"
    if field["zero"]:
        text += f", or 0 ({field['zero']})"
    if field["multiple_of"]:
        text += f", multiple of {field['multiple_of']}"
    if field["null"]:
        text += f"; empty = {field['null']}"
    return text


def unit_of(field: dict) -> str:
    """The unit the form shows the field in (its display unit, else its SI unit)."""
    return field["display"][0] if field["display"] else field["unit"]


@functools.cache
def sections() -> list[dict]:
    """`device.profiles.schema` without the emulation mode (drawn apart), each field with its range hint."""
    found = copy.deepcopy(profiles.schema())
    for section in found:
        for group in section["groups"]:
            group["fields"] = [f for f in group["fields"] if (section["name"], f["name"]) != EMULATION]
            for f in group["fields"]:
                f["hint_range"] = range_hint(f)
                f["shown_unit"] = unit_of(f)
        section["groups"] = [g for g in section["groups"] if g["fields"]]
        section["count"] = sum(len(g["fields"]) for g in section["groups"])
        section["open"] = section["name"] in OPEN_SECTIONS
    return found


@functools.cache
def emulation_field() -> dict:
    crossbar = next(s for s in profiles.schema() if s["name"] == EMULATION[0])
    return next(f for g in crossbar["groups"] for f in g["fields"] if f["name"] == EMULATION[1])


def page_context(fields: dict) -> dict:
    """What index.html draws: the request fields (with the first-run defaults), the profile's sections,
    the emulation menu, the noise menu."""
    fields = {**fields, **{k: {**fields[k], "default": FIRST_RUN[k]} for k in ("num_images", "steps")}}
    noise = GenerationCreate.model_json_schema()["properties"]["noise"]
    return {
        "fields": fields,
        "sections": sections(),
        "emulation": {**emulation_field(), "default": FIRST_RUN["emulation"]},
        "noise": {"options": noise["enum"], "default": noise["default"], "help": noise["description"]},
    }


def mode_of(body: GenerationCreate) -> str:
    """``software``, or the emulation mode the request's resolved profile runs in."""
    spec = body.hardware
    if spec.profile == SOFTWARE:
        return SOFTWARE
    return profiles.resolve(spec.profile, spec.overrides).crossbar.emulation


def estimate(jobs: JobStore, body: GenerationCreate, hardware: dict, model_sha256: str | None) -> dict:
    """`worker.estimates.estimate` of a validated request, with the jobs ahead of it in the queue."""
    chip = None
    if hardware["profile"] != SOFTWARE:
        chip = f"{model_sha256}:{hardware['profile_hash']}:{body.chip_seed}"
    answer = estimates.estimate(
        jobs.r,
        profile=hardware["profile"],
        mode=mode_of(body),
        chip=chip,
        num_images=body.num_images,
        steps=body.steps,
        paired=body.paired,
        quality=body.quality.enabled,
    )
    counts = jobs.counts()
    answer["jobs_ahead"] = int(counts.get("queued", 0)) + int(counts.get("running", 0))
    return answer


def edit_body(job: dict) -> dict:
    """A job's request as the form's values ("Edit and run"): the "Run again" body (`telemetry.rerun_body`)
    with the model by id, the noise source and pairing, and the seeds as text (beyond a browser's exact
    integers)."""
    body = json.loads(telemetry.rerun_body(job))
    request = job.get("request") or {}
    body["model"] = request.get("model", "default")
    body["model_sha256"] = request.get("model_sha256")
    body["noise"] = request.get(
        "noise", "torch" if (request.get("hardware") or {}).get("profile") == SOFTWARE else "mtj"
    )
    body["paired"] = bool(request.get("paired", False))
    for key in ("seed", "chip_seed"):
        body[key] = None if body.get(key) is None else str(body[key])
    return body
