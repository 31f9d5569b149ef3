"""The sweep pages' views: a sweep (`worker.sweep_results.summary`) as a header, a sortable table and the scatter.

`report_context` shapes what ``_sweep_report.html`` draws: the request in a line, status and
counts, one table row per point (each cell with its text and the value it sorts by), and the
FID-against-energy figure (`app.dashboard.sweep_chart`). The figure draws only succeeded points with
a batch FID and an energy per image, all at one N (a sweep's points share ``num_images``; should
their N differ anyway, the most common N is drawn and the others are counted as not drawn, never
mixed). Presets are not marked: the FID table's entries are at another N. `parameter_types` lists
every sweepable profile parameter with its type, for the form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

from app.dashboard.charts import plain, si
from app.dashboard.figures import Figure
from app.dashboard.sweep_chart import ScatterPoint, scatter
from app.dashboard.telemetry import SHORT_NAMES
from device import profiles

ACTIVE = ("queued", "running")
STATUS_ORDER = ("running", "queued", "succeeded", "failed", "cancelled", "expired")


def parameter_types() -> dict[str, str]:
    """``{"crossbar.adc_bits": "int", …}`` for every field of a profile's sections (the loader's types:
    float, int, str, bool, float | None), except the emulation mode (a sweep's own field)."""
    base = profiles.get_profile("vcma-default")
    found = {}
    for section in dataclasses.fields(base):
        value = getattr(base, section.name)
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                found[f"{section.name}.{f.name}"] = str(f.type)
    found.pop("crossbar.emulation", None)
    return found


def value_text(value) -> str:
    """A parameter value as typed: ``6``, ``1e-09``, ``true``, ``exact``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return "null" if value is None else str(value)


def point_title(point: dict, n: int | None = None) -> str:
    """The hover text of a point: its index, parameters and values, FID at N, KID, energy per image."""
    values = ", ".join(f"{k} = {value_text(v)}" for k, v in point["values"].items())
    text = f"#{point['index']} · {values}"
    r = point.get("results")
    if r:
        if r.get("fid") is not None:
            text += f" · batch FID {r['fid']:.1f} (N = {n if n is not None else r.get('n')})"
        if r.get("kid_mean") is not None:
            text += f" · KID {r['kid_mean']:.4f}"
        text += f" · {si(r.get('energy_per_image_j'), 'J')} per image"
    else:
        text += f" · {point['status']}"
    return text + " · click for its job"


def _drawable(point: dict) -> bool:
    r = point.get("results") or {}
    energy = r.get("energy_per_image_j")
    return r.get("fid") is not None and energy is not None and energy > 0


def sweep_figure(view: dict) -> tuple[Figure | None, int | None, list[str]]:
    """(the FID/energy figure or None, the N drawn, notes on the points not drawn)."""
    drawable = [p for p in view["points"] if _drawable(p)]
    notes = []
    if not drawable:
        done = sum(1 for p in view["points"] if p.get("results"))
        if done:
            notes.append(
                f"{done} succeeded point{'s' if done != 1 else ''} without a batch FID (N < 2, or quality off)"
            )
        return None, None, notes
    sizes = Counter(p["results"]["n"] for p in drawable)
    n = sizes.most_common(1)[0][0]
    other_n = [p for p in drawable if p["results"]["n"] != n]
    if other_n:
        notes.append(f"{len(other_n)} point(s) at another N not drawn: batch FIDs compare only at one N")
    drawn = [p for p in drawable if p["results"]["n"] == n]
    missing = len(view["points"]) - len(drawable)
    if missing:
        notes.append(f"{missing} of {len(view['points'])} points not drawn (not succeeded, or no batch FID)")
    front = set(view["pareto"])
    points = [
        ScatterPoint(
            index=p["index"],
            x=p["results"]["energy_per_image_j"],
            y=p["results"]["fid"],
            title=point_title(p, n),
            href=f"/jobs/{p['job_id']}",
            pareto=p["index"] in front,
        )
        for p in drawn
    ]
    on_front = sum(1 for p in points if p.pareto)
    caption = (
        f"Each dot is one point of the sweep: its batch FID at N = {n} images (all points share N, seeds and sampler, "
        f"so their FIDs compare with each other, not with FID@10k or FIDs at another N) against its energy per image "
        f"(log scale). No error bars: a batch FID has none of its own (the KID ± in the table is the spread over "
        f"reference subsets, not an uncertainty of FID). The line joins the Pareto front: the {on_front} point"
        f"{'s' if on_front != 1 else ''} no other point beats on both. The presets are not marked: the FID table has "
        f"them at another N. Hover a dot for its parameters, click it for its job."
    )
    chart = scatter(
        points,
        x_title="energy per image (J, log scale)",
        y_title=f"batch FID, N = {n} (lower is better)",
        label=f"batch FID at N = {n} against energy per image, {len(points)} points",
    )
    return Figure(f"FID against energy per image (N = {n})", chart, caption), n, notes


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def counts_text(counts: dict) -> str:
    ordered = [s for s in STATUS_ORDER if counts.get(s)] + sorted(set(counts) - set(STATUS_ORDER))
    return " · ".join(f"{counts[s]} {s}" for s in ordered)


def _cell(text: str, sort) -> dict:
    return {"text": text, "sort": "" if sort is None else sort}


def table(view: dict, n: int | None) -> tuple[list[dict], list[dict]]:
    """(columns [{key, label, numeric}], rows [{index, status, job_id, cells {key: {text, sort}}, …}])."""
    gpus = []
    for p in view["points"]:
        for key in (p.get("results") or {}).get("energy_ratio_gpu_over_chip") or {}:
            if key not in gpus:
                gpus.append(key)
    columns = [{"key": "point", "label": "#", "numeric": True}]
    columns += [{"key": f"axis-{k}", "label": axis, "numeric": True} for k, axis in enumerate(view["axes"])]
    columns += [
        {"key": "status", "label": "status", "numeric": False},
        {"key": "fid", "label": f"batch FID (N = {n})" if n else "batch FID", "numeric": True},
        {"key": "kid", "label": "batch KID ± std", "numeric": True},
        {"key": "energy", "label": "energy / image", "numeric": True},
        {"key": "area", "label": "area", "numeric": True},
        {"key": "latency", "label": "latency / image", "numeric": True},
    ]
    columns += [{"key": f"ratio-{g}", "label": f"{SHORT_NAMES.get(g, g)} / chip", "numeric": True} for g in gpus]
    columns += [{"key": "pareto", "label": "front", "numeric": True}]
    front = set(view["pareto"])
    rows = []
    for p in view["points"]:
        r = p.get("results") or {}
        cells = {"point": _cell(str(p["index"]), p["index"])}
        for k, axis in enumerate(view["axes"]):
            value = p["values"].get(axis)
            sort = value if isinstance(value, (int, float)) and not isinstance(value, bool) else value_text(value)
            cells[f"axis-{k}"] = _cell(value_text(value), sort)
        cells["status"] = _cell(p["status"], STATUS_ORDER.index(p["status"]) if p["status"] in STATUS_ORDER else 9)
        fid = r.get("fid")
        cells["fid"] = _cell("—" if fid is None else f"{fid:.1f}", fid)
        kid, std = r.get("kid_mean"), r.get("kid_std")
        kid_text = "—" if kid is None else f"{kid:.4f}" + ("" if std is None else f" ± {std:.4f}")
        cells["kid"] = _cell(kid_text, kid)
        cells["energy"] = _cell(si(r.get("energy_per_image_j"), "J"), r.get("energy_per_image_j"))
        cells["area"] = _cell(plain(r.get("area_total_mm2"), "mm²"), r.get("area_total_mm2"))
        cells["latency"] = _cell(si(r.get("latency_per_image_s"), "s"), r.get("latency_per_image_s"))
        ratios = r.get("energy_ratio_gpu_over_chip") or {}
        for g in gpus:
            cells[f"ratio-{g}"] = _cell(plain(ratios.get(g), "×"), ratios.get(g))
        on = p["index"] in front
        cells["pareto"] = _cell("★" if on else "", 0 if on else 1)
        progress = p.get("progress") or {}
        total = progress.get("total") or 0
        rows.append(
            {
                "index": p["index"],
                "status": p["status"],
                "job_id": p["job_id"],
                "pareto": on,
                "title": point_title(p, n),
                "error": (p.get("error") or {}).get("message"),
                "step": progress.get("step") or 0,
                "total": total,
                "cells": cells,
            }
        )
    return columns, rows


def report_context(view: dict) -> dict:
    """Everything ``_sweep_report.html`` shows of one sweep."""
    request = view["request"]
    figure, n, notes = sweep_figure(view)
    columns, rows = table(view, n)
    points = len(view["points"])
    finished = sum(1 for p in view["points"] if p["status"] not in ACTIVE)
    overrides = [
        f"{section}.{key} = {value_text(value)}"
        for section, keys in (request.get("overrides") or {}).items()
        for key, value in keys.items()
    ]
    return {
        "sweep": view,
        "short_id": view["id"][:8],
        "created_at": _iso(view.get("created_at")),
        "active": view["status"] in ACTIVE,
        "counts_text": counts_text(view["counts"]),
        "points": points,
        "finished": finished,
        "images": points * int(request.get("num_images") or 0),
        "overrides": overrides,
        "figure": figure,
        "n": n,
        "notes": notes,
        "columns": columns,
        "rows": rows,
        "pareto_count": len(view["pareto"]),
    }
