"""A configuration's measured FIDs with their N and their spread over seed sets, for the telemetry.

FID is biased at finite N by a model-dependent amount (docs/quality.md), so an FID means something
only with its N and is compared only with FIDs at the same N. This module gathers, for one
configuration, the entries of the shipped table (`diffusion.metrics.large_n_fids`: one per N and
seed set). Each N gives one point: the mean over its seed sets, their range, and a standard deviation —

* the configuration's own over its sets when it has at least three;
* otherwise software's at the same N, stated as such (the sampling spread depends mostly on N:
  docs/quality.md, five software sets at N = 500 score 59.5–62.4, sd 1.2; the two-set chip rows
  agree within it);
* otherwise none, saying the spread at that N was not measured.

`software_points` gives the software baseline's points at the N's of a chip configuration, so a
chip FID is only ever put beside a software FID of the same N. Imports no torch.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from diffusion.metrics import large_n_fids
from diffusion.shipped import FID_TABLE

SOFTWARE = large_n_fids.SOFTWARE
MIN_SETS_FOR_SD = 3


def _raw_points(entries: list[dict]) -> dict[int, list[dict]]:
    """N → the entries (fid, kid_mean, kid_std, source, …) of one configuration."""
    by_n: dict[int, list[dict]] = {}
    for entry in entries:
        by_n.setdefault(int(entry["n"]), []).append(entry)
    return by_n


def _point(n: int, rows: list[dict], software_sd: dict | None) -> dict:
    values = [float(r["fid"]) for r in rows]
    mean = statistics.fmean(values)
    kids = [r["kid_mean"] for r in rows if r.get("kid_mean") is not None]
    kid_stds = [r["kid_std"] for r in rows if r.get("kid_std") is not None]
    if len(values) >= MIN_SETS_FOR_SD:
        sd, basis = statistics.stdev(values), f"standard deviation over this configuration's {len(values)} seed sets"
    elif software_sd is not None:
        sd, basis = (
            software_sd["sd"],
            (
                f"software's standard deviation over {software_sd['sets']} seed sets at N = {n} "
                "(the sampling spread at one N; this configuration has fewer sets)"
            ),
        )
    else:
        sd, basis = None, f"not measured: fewer than {MIN_SETS_FOR_SD} seed sets at N = {n}"
    return {
        "n": n,
        "value": mean,
        "emulation": rows[0].get("emulation"),
        "sets": len(values),
        "values": values,
        "range": [min(values), max(values)] if len(values) > 1 else None,
        "sd": sd,
        "sd_basis": basis,
        "interval": None if sd is None else {"low": mean - sd, "high": mean + sd, "kind": "mean ± 1 sd over seed sets"},
        "kid_mean": statistics.fmean(kids) if kids else None,
        "kid_std": statistics.fmean(kid_stds) if kid_stds else None,
        "seed_sets": [{f: r.get(f) for f in ("seed", "batch", "images", "noise")} for r in rows],
        "sources": sorted({str(r.get("source", "")) for r in rows}),
    }


def _software_sd(model_sha256: str, sampler: str, steps: int, eta: float, table_path) -> dict[int, dict]:
    raw = _raw_points(large_n_fids.entries(model_sha256, sampler, steps, eta, SOFTWARE, table_path))
    return {
        n: {"sd": statistics.stdev([float(r["fid"]) for r in rows]), "sets": len(rows)}
        for n, rows in raw.items()
        if len(rows) >= MIN_SETS_FOR_SD
    }


def fid_points(
    model_sha256: str, sampler: str, steps: int, eta: float, profile: str, table_path: str | Path = FID_TABLE
) -> list[dict]:
    """Every measured FID of this configuration, one JSON-ready point per N, ascending N (module docstring)."""
    spread = _software_sd(model_sha256, sampler, steps, eta, table_path)
    raw = _raw_points(large_n_fids.entries(model_sha256, sampler, steps, eta, profile, table_path))
    return [_point(n, rows, spread.get(n)) for n, rows in sorted(raw.items())]


def software_points(
    model_sha256: str, sampler: str, steps: int, eta: float, at_n, table_path: str | Path = FID_TABLE
) -> list[dict]:
    """The software baseline's points at the N's in ``at_n`` only (those that were measured)."""
    wanted = {int(n) for n in at_n}
    return [p for p in fid_points(model_sha256, sampler, steps, eta, SOFTWARE, table_path) if p["n"] in wanted]
