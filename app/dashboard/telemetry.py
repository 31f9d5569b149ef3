"""What the dashboard shows of one job, read from its public JSON (`app.api.views.job_view`) only.

The worker writes the telemetry (``diffusion.generation.generate`` and the cost ledger of ``device.cost``) as a
typed report (`diffusion.telemetry.report`, pure pydantic: the same models the API publishes and the CLI
reads; old stored schemas are upgraded by its loader). This module picks out of it the figures a
person compares — energy per image by component, the GPU/TPU baselines with their ranges, area,
latency, quality with N and intervals, the reproducibility record — and never imports the emulator.
Seeds are kept as text: they go up to 2⁶³ and a browser's JSON numbers stop being exact at 2⁵³.
"""

from __future__ import annotations

import json

from app.dashboard import uncertainty
from diffusion.generation.sampler_names import DEFAULT_SAMPLER, SAMPLERS
from worker.telemetry import Quality, Telemetry, load

# Inference energy by component, in the ledger's keys (device/cost.py), in drawing order.
COMPONENTS = (
    ("array_read", "array reads"),
    ("adc", "ADC"),
    ("dac", "DAC"),
    ("shift_add", "shift-add"),
    ("digital", "digital"),
    ("rng", "RNG"),
)
# One-off costs of programming a chip (not part of any image's energy).
ONE_OFF = (("programming", "weight programming (write + verify)"), ("rng_calibration", "RNG calibration"))
AREA = (
    ("cells", "cell arrays"),
    ("adcs", "ADCs"),
    ("drivers", "drivers"),
    ("rng", "RNG array"),
    ("digital", "digital lanes"),
)
ACCELERATORS = ("a100_sxm", "h100_sxm", "tpu_v4")
SHORT_NAMES = {"a100_sxm": "A100 SXM", "h100_sxm": "H100 SXM", "tpu_v4": "TPU v4"}
TERMINAL = ("succeeded", "failed", "cancelled")


def _value_text(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def profile_label(request: dict, limit: int | None = None) -> str:
    """The profile with its overrides, as a job is named everywhere on the dashboard:
    ``vcma-default · adc_bits 4 · read_time 4e-09``. A parameter is named by its key, or by
    ``section.key`` where two sections of the overrides share the key; ``limit`` shows that many
    overrides and counts the rest (``· +2 more``)."""
    hardware = request.get("hardware") or {}
    name = hardware.get("profile", "?") if isinstance(hardware, dict) else str(hardware)
    overrides = (hardware.get("overrides") if isinstance(hardware, dict) else None) or {}
    pairs = [(section, key, value) for section, values in overrides.items() for key, value in (values or {}).items()]
    keys = [key for _, key, _ in pairs]
    parts = [
        f"{key if keys.count(key) == 1 else f'{section}.{key}'} {_value_text(value)}" for section, key, value in pairs
    ]
    if limit is not None and len(parts) > limit:
        parts = [*parts[:limit], f"+{len(parts) - limit} more"]
    return " · ".join([name, *parts])


def overrides_text(request: dict) -> list[str]:
    """``['crossbar.adc_bits = 6', …]`` for the request's overrides."""
    overrides = (request.get("hardware") or {}).get("overrides") or {}
    return [
        f"{section}.{key} = {json.dumps(value)}"
        for section, values in overrides.items()
        for key, value in values.items()
    ]


def _times(factor: float) -> str:
    return f"{factor:,.0f}×" if factor >= 100 else f"{factor:.3g}×"


def speed_text(ratio: float | None) -> str:
    """The chip's speed against an accelerator's from ``ratio`` = the accelerator's time over the
    chip's: ``'72× slower'``, ``'3.1× faster'``, ``'as fast'``; '' without a ratio."""
    if not ratio or ratio <= 0:
        return ""
    if abs(ratio - 1) < 0.005:
        return "as fast"
    return f"{_times(1 / ratio)} slower" if ratio < 1 else f"{_times(ratio)} faster"


def energy_text(ratio: float | None) -> str:
    """The chip's energy against an accelerator's from ``ratio`` = the accelerator's energy over the
    chip's: ``'92.8× less'``, ``'2× more'``, ``'the same'``; '' without a ratio."""
    if not ratio or ratio <= 0:
        return ""
    if abs(ratio - 1) < 0.005:
        return "the same"
    return f"{_times(ratio)} less" if ratio > 1 else f"{_times(1 / ratio)} more"


def takes_eta(sampler) -> bool:
    """Whether ``sampler`` takes η, by the sampler registry (False for a name it does not know)."""
    spec = SAMPLERS.get(sampler) if isinstance(sampler, str) else None
    return spec is not None and spec.takes_eta


def summary(job: dict) -> dict:
    """The request in a line: profile, sampler, steps, images, seeds (as text)."""
    request = job.get("request") or {}
    sampler = str(request.get("sampler", DEFAULT_SAMPLER))
    return {
        "id": job["id"],
        "short_id": job["id"][:8],
        "status": job["status"],
        "profile": profile_label(request),
        "is_chip": (request.get("hardware") or {}).get("profile") != "software",
        "overrides": overrides_text(request),
        "sampler": sampler,
        "sampler_text": f"{sampler.upper()}"
        + (f" η={request.get('eta')}" if takes_eta(sampler) and request.get("eta") else ""),
        "steps": request.get("steps"),
        "num_images": request.get("num_images"),
        "seed": None if request.get("seed") is None else str(request["seed"]),
        "chip_seed": str(request.get("chip_seed", 0)),
        "model": request.get("model"),
        "created_at": job.get("created_at"),
        "finished_at": job.get("finished_at"),
    }


def _accelerators(energy, chip_per_image: float | None, chip_latency: float | None) -> list[dict]:
    found = energy.baseline.accelerators if energy.baseline is not None else {}
    ratios = energy.ratios.energy_per_image_gpu_over_chip if energy.kind == "chip" else {}
    ranges = energy.ratio_ranges.energy_per_image_gpu_over_chip if energy.kind == "chip" and energy.ratio_ranges else {}
    rows = []
    for key in [*ACCELERATORS, *sorted(set(found) - set(ACCELERATORS))]:
        spec = found.get(key)
        if not spec:
            continue
        per_image = spec.energy_per_image_j
        ratio = ratios.get(key)
        if ratio is None and chip_per_image and per_image:
            ratio = per_image / chip_per_image
        spread = ranges.get(key)
        time_per_image = spec.time_per_image_s
        latency_ratio = time_per_image / chip_latency if (time_per_image and chip_latency) else None
        rows.append(
            {
                "key": key,
                "name": spec.name or key,
                "short": SHORT_NAMES.get(key, spec.name or key),
                "energy_per_image_j": per_image,
                "energy_ratio": ratio,
                "energy_ratio_low": spread.low if spread else None,
                "energy_ratio_high": spread.high if spread else None,
                "energy_ratio_by_assumption": spread.by_assumption if spread else {},
                "time_per_image_s": time_per_image,
                "latency_ratio": latency_ratio,
                # "the chip is 72× slower than an A100 SXM"; "the chip uses 92.8× less energy per image than …"
                "speed": speed_text(latency_ratio),
                "article": "an" if (SHORT_NAMES.get(key, spec.name or key) or "x")[0] in "AEFHILMNORSX" else "a",
                "energy_vs": energy_text(ratio) if energy.kind == "chip" else "",
                "tdp_w": spec.tdp_w,
                "die_area_mm2": spec.die_area_mm2,
                "energy_per_random_bit_j": spec.energy_per_random_bit_j,
                "source": spec.source,
                "uncertain": spec.uncertain or "",
            }
        )
    return rows


def report(job: dict) -> Telemetry | None:
    """The job's telemetry as the typed report (`diffusion.telemetry.report`), old stored schemas upgraded."""
    return load(job.get("telemetry"))


def energy_view(job: dict) -> dict | None:
    """Energy, area, latency and the GPU/TPU comparison of a job's telemetry; None without any."""
    typed = report(job)
    energy = typed.energy if typed is not None else None
    if energy is None:
        return None
    request = job.get("request") or {}
    baseline = energy.baseline
    chip = energy.kind == "chip"
    images = (
        (energy.images if chip else None) or (baseline.images if baseline else None) or request.get("num_images") or 1
    )
    per_image = energy.energy_per_image_j if chip else None
    latency = energy.latency_s if chip else None
    view = {
        "chip": chip,
        "images": images,
        "steps": energy.steps if chip else None,
        "energy_per_image_j": per_image,
        "energy_total_j": energy.energy_total_j if chip else None,
        "energy_per_step_j": energy.energy_per_step_j if chip else None,
        "components": [],
        "one_off": [],
        "area": [],
        "area_total_mm2": energy.area_total_mm2 if chip else None,
        "latency": {k: getattr(latency, k) for k in ("per_image", "per_step", "total", "mvm", "digital", "rng")}
        if chip
        else None,
        "latency_model": latency.model if chip else "",
        "accelerators": _accelerators(energy, per_image, latency.per_image if chip else None),
        "baseline_model": baseline.model if baseline else "",
        "baseline_utilisation": baseline.utilisation if baseline else None,
        "rng_bit_j": energy.rng_detail.energy_per_output_bit_j if chip else None,
        "assumptions": energy.assumptions if chip else {},
        "ranges": uncertainty.ranges_view(typed),
        "bit_area": uncertainty.bit_area_view(typed),
    }
    if chip:
        by_component = energy.energy_j.model_dump()
        total = energy.energy_total_j
        view["components"] = [
            {
                "key": key,
                "label": label,
                "j_per_image": (by_component.get(key) or 0.0) / images,
                "share": (by_component.get(key) or 0.0) / total if total else None,
            }
            for key, label in COMPONENTS
        ]
        area = energy.area_um2.model_dump()
        view["area"] = [{"key": key, "label": label, "mm2": (area.get(key) or 0.0) / 1e6} for key, label in AREA]
    programming = typed.programming.energy_j.model_dump() if typed.programming is not None else {}
    view["one_off"] = [
        {"key": key, "label": label, "j": programming[key]} for key, label in ONE_OFF if programming.get(key)
    ]
    return view


def quality_view(job: dict) -> dict:
    """Batch KID (± std, N), batch FID with its N, the configuration's FIDs by N — or why they are missing.

    ``points`` are this configuration's offline FIDs, one per N; ``software`` the software baseline's
    at those same N's only (chip jobs), so a chip FID is never set beside a software FID of another N.
    """
    typed = report(job)
    quality = typed.quality if typed is not None and typed.quality is not None else Quality(available=False)
    calibrated = quality.fid_calibrated
    view = {
        "requested": bool(((job.get("request") or {}).get("quality") or {}).get("enabled", True)),
        "available": bool(quality.available),
        "reason": quality.reason,
        "calibrated": calibrated.model_dump() if calibrated is not None and calibrated.value is not None else None,
        "calibrated_note": calibrated.note if calibrated is not None else "",
        "fid": None,
        "kid": None,
        "n": quality.n,
        "reference": quality.reference,
        "points": [p.model_dump() for p in quality.fid_at_n],
        "points_note": quality.fid_at_n_note,
        "software": uncertainty.same_n(quality.fid_at_n, quality.software_at_same_n),
        "paired": quality.paired.model_dump() if quality.paired is not None else None,
        "fidelity": typed.fidelity.model_dump() if typed is not None and typed.fidelity is not None else None,
        "upgraded": typed is not None and typed.upgraded_from is not None,
    }
    if quality.batch_fid is not None:
        view["available"] = True
        view["fid"] = quality.batch_fid.model_dump()
        view["kid"] = quality.batch_kid.model_dump() if quality.batch_kid is not None else None
    return view


def record_view(job: dict) -> dict | None:
    """The reproducibility record, with seeds as text and the profile as pretty JSON."""
    record = job.get("reproducibility")
    if not record:
        return None
    sampler = record.get("sampler") or {}
    return {
        "seed": str(record.get("seed")),
        "chip_seed": str(record.get("chip_seed")),
        "model": record.get("model"),
        "model_sha256": record.get("model_sha256"),
        "profile_name": (record.get("profile") or {}).get("name") or (record.get("hardware") or {}).get("profile"),
        "profile_hash": record.get("profile_hash"),
        "overrides": overrides_text({"hardware": record.get("hardware") or {}}),
        "sampler": sampler.get("name"),
        "steps": sampler.get("steps"),
        "eta": sampler.get("eta"),
        "takes_eta": takes_eta(sampler.get("name")),
        "timesteps": sampler.get("timesteps") or [],
        "code_version": record.get("code_version"),
        "profile_json": json.dumps(record.get("profile"), indent=2) if record.get("profile") else None,
        "json": json.dumps(record, indent=2),
    }


def rerun_body(job: dict) -> str:
    """The exact request of ``job`` as a POST /v1/generations body (JSON text, seeds exact).

    The model is named by its weights' SHA-256, so a server whose ``default`` model changed answers
    422 instead of quietly running other weights; the profile by name with the same overrides (the
    new job's record then shows whether the profile hash is still the same).
    """
    request = job.get("request") or {}
    hardware = request.get("hardware") or {}
    spec = hardware.get("profile", "vcma-default")
    if hardware.get("overrides"):
        spec = {"profile": spec, "overrides": hardware["overrides"]}
    body = {
        "model": request.get("model_sha256") or request.get("model", "default"),
        "num_images": request.get("num_images"),
        "sampler": request.get("sampler"),
        "steps": request.get("steps"),
        "eta": request.get("eta", 0.0),
        "seed": request.get("seed"),
        "chip_seed": request.get("chip_seed", 0),
        "hardware": spec,
        "quality": request.get("quality") or {"enabled": True},
        "preview": bool(request.get("preview", False)),
    }
    return json.dumps(body)


def timings_view(job: dict) -> list[tuple[str, float | None]]:
    """Wall-clock times on this server (emulation, not the chip's latency)."""
    timings = job.get("timings") or {}
    emulation = (job.get("telemetry") or {}).get("timings") or {}
    rows = [("waiting in the queue", timings.get("queued_s")), ("running", timings.get("running_s"))]
    rows += [
        (label, emulation.get(key))
        for key, label in (
            ("programming_s", "programming the emulated chip"),
            ("chip_load_s", "loading the programmed chip from disk"),
            ("sampling_s", "sampling"),
            ("quality_s", "scoring quality"),
        )
    ]
    return [(label, value) for label, value in rows if value is not None]


def grid_geometry(job: dict, image_size: int = 28, padding: int = 2) -> dict:
    """Where image k sits in the job's grid PNG, in the grid's own pixels (before its upscaling).

    Mirrors ``diffusion.generation.images.grid``: ⌈√N⌉ columns, ``padding`` pixels around every image. The
    page lays an SVG of this size over the picture, so the click targets scale with it.
    """
    n = int((job.get("request") or {}).get("num_images") or len(job.get("images") or []) or 1)
    columns = 1
    while columns * columns < n:
        columns += 1
    rows = -(-n // columns)
    pitch = image_size + padding
    cells = [
        {"index": k, "x": padding + (k % columns) * pitch, "y": padding + (k // columns) * pitch} for k in range(n)
    ]
    return {
        "columns": columns,
        "rows": rows,
        "size": image_size,
        "cells": cells,
        "width": columns * pitch + padding,
        "height": rows * pitch + padding,
    }
