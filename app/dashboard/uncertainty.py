"""What the dashboard shows of a job's stated uncertainty: ratio ranges, the bit-area metric, FIDs by N.

Read from the typed report (`diffusion.telemetry.report`), like `app.dashboard.telemetry`:

* `ranges_view`: each GPU/TPU-over-chip energy ratio as headline and low–high over the cost model's
  uncertain assumptions (ADC model F3/F4, GPU/TPU utilisation, post-layout factor), with the list
  of assumptions (`device.cost_uncertainty` made them in the worker).
* `bit_area_view`: the seed paper's energy per bit × area, chip and GPU/TPU on both area bases,
  with its definition.
* `same_n` and `compare_rows`: FIDs are only put side by side at one N. A row of the compare table
  holds the FIDs of one N; a job without one at that N shows a dash, never its FID at another N.
"""

from __future__ import annotations

from app.dashboard.charts import plain

SHORT = {"a100_sxm": "A100 SXM", "h100_sxm": "H100 SXM", "tpu_v4": "TPU v4"}
BASIS_LABELS = {"full_die": "full die", "rng_time_share": "die × RNG time share"}
ASSUMPTION_LABELS = {
    "adc_model": "ADC energy model",
    "utilisation": "GPU/TPU utilisation",
    "post_layout_factor": "post-layout factor",
}
OLD_REPORT = "not computed: this job's report was stored before telemetry schema 2"


def _choice(value) -> str:
    return plain(value, "") if isinstance(value, float) else str(value)


def ranges_view(report) -> dict | None:
    """The energy-ratio ranges of a chip job: {assumptions, method, not_varied} or {missing: why}; None off chip jobs."""
    energy = report.energy if report is not None else None
    if energy is None or energy.kind != "chip":
        return None
    ranges = energy.ratio_ranges
    if ranges is None:
        return {
            "missing": OLD_REPORT
            if report.upgraded_from is not None
            else "not computed for this report (a cancelled job's)"
        }
    assumptions = [
        {
            "name": a.name,
            "label": ASSUMPTION_LABELS.get(a.name, a.name.replace("_", " ")),
            "headline": _choice(a.headline),
            "alternatives": " / ".join(_choice(v) for v in a.alternatives),
            "basis": a.basis,
        }
        for a in ranges.assumptions
    ]
    chip = ranges.chip_energy_per_image_j
    return {
        "missing": None,
        "assumptions": assumptions,
        "method": ranges.method,
        "not_varied": ranges.not_varied,
        "chip_low_j": chip.low,
        "chip_high_j": chip.high,
    }


def bit_area_view(report) -> dict | None:
    """Energy per random bit × area (Cheng et al. 2025): chip and each accelerator on both bases, with ranges."""
    energy = report.energy if report is not None else None
    metric = energy.energy_per_bit_area if energy is not None and energy.kind == "chip" else None
    if metric is None or metric.chip_j_mm2 is None:
        return None
    ranges = energy.ratio_ranges.energy_per_bit_per_area_gpu_over_chip if energy.ratio_ranges else {}
    rows = []
    for key, acc in metric.accelerators.items():
        for basis in ("full_die", "rng_time_share"):
            entry = getattr(acc, basis)
            spread = (ranges.get(key) or {}).get(basis)
            rows.append(
                {
                    "key": key,
                    "name": SHORT.get(key, acc.name),
                    "basis": basis,
                    "basis_label": BASIS_LABELS[basis],
                    "energy_per_bit_j": acc.energy_per_bit_j,
                    "area_mm2": entry.area_mm2,
                    "j_mm2": entry.j_mm2,
                    "ratio": entry.gpu_over_chip,
                    "low": spread.low if spread else None,
                    "high": spread.high if spread else None,
                }
            )
    return {
        "citation": metric.citation,
        "definition": metric.definition,
        "bit_definition": metric.bit_definition,
        "chip_basis": metric.chip_basis,
        "chip_energy_per_bit_j": metric.chip_energy_per_bit_j,
        "chip_area_mm2": metric.chip_area_mm2,
        "chip_j_mm2": metric.chip_j_mm2,
        "rows": rows,
    }


def same_n(points, software) -> list[dict]:
    """Software's FID points at the N of one of ``points`` (this configuration's) only."""
    ns = {p.n for p in points}
    return [p.model_dump() for p in software if p.n in ns]


def fid_text(point: dict | None) -> str | None:
    """``'89.7 ± 1.2 (N = 500, 1 seed set)'`` — the value with its N, spread and how many sets."""
    if point is None or point.get("value") is None:
        return None
    spread = f" ± {point['sd']:.1f}" if point.get("sd") is not None else ""
    sets = point.get("sets") or 1
    return f"{point['value']:.1f}{spread} (N = {point['n']}, {sets} seed set{'s' if sets != 1 else ''})"


def kid_text(kid: dict | None) -> str | None:
    if not kid or kid.get("mean") is None:
        return None
    spread = f" ± {kid['std']:.4f}" if kid.get("std") is not None else ""
    return f"{kid['mean']:.4f}{spread} (N = {kid.get('n')})"


def compare_rows(qualities: list[dict]) -> list[dict]:
    """The compare table's quality rows: KID with ± and N; batch FID and offline FID one row per N.

    Each row is {"label", "cells": [text or None per job]}; a cell is filled only with a value of
    the row's N, so two FIDs of different N never share a row.
    """
    rows = [{"label": "batch KID (± std over subsets)", "cells": [kid_text(q.get("kid")) for q in qualities]}]
    batch_ns = sorted({q["fid"]["n"] for q in qualities if q.get("fid") and q["fid"].get("value") is not None})
    for n in batch_ns:
        cells = [
            f"{q['fid']['value']:.1f}"
            if q.get("fid") and q["fid"].get("value") is not None and q["fid"]["n"] == n
            else None
            for q in qualities
        ]
        rows.append({"label": f"batch FID, N = {n}", "cells": cells, "n": n})
    offline_ns = sorted({p["n"] for q in qualities for p in q.get("points") or []})
    for n in offline_ns:
        cells = [fid_text(next((p for p in q.get("points") or [] if p["n"] == n), None)) for q in qualities]
        rows.append({"label": f"FID measured offline, N = {n}", "cells": cells, "n": n})
    return rows


def range_text(low, high, unit: str = "×") -> str:
    return "" if low is None or high is None else f"{plain(low, '')}–{plain(high, unit)}"
