"""FID against the chip's energy per image, for every preset and model in the FID table: the trade-off a user picks on.

    python -m diffusion.studies.figures.fid_energy [--table diffusion/assets/fid_table.json]
        [--sampler ddpm] [--steps 10] [--n 500] [--out docs/figures]

Reads the shipped FID table (`diffusion.metrics.large_n_fids`: one entry per configuration, N and
seed set) at one (sampler, steps, N) — by default the setting with the most chip entries — and writes

* docs/figures/fid_vs_energy.svg — one point per (model, profile), in exact mode where it was measured
  (the statistical mode emulates the same chip at the same energy): the mean FID over
  its seed sets against its energy per image on a log axis, with bars of ± one standard deviation
  over seed sets (`diffusion.metrics.fid_uncertainty`: the configuration's own with three or more
  sets, else software's at the same N); software of each model as a dashed line at the same N
  (software runs on a GPU, not on the chip, so it has no point on the energy axis);
* docs/figures/fid_vs_energy.md — the same as a table, with N, the seed sets, the chip-minus-software
  difference at the same N and where each spread comes from.

Only FIDs of one N are drawn together (docs/quality.md: FID's bias depends on N). Models are named by
the shipped model whose ``model.json`` has the hash (`diffusion.shipped.SHIPPED_MODELS`), else by the
hash prefix. Entries without an energy per image (recorded before entries kept it) are listed in
the table but not drawn.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

from diffusion.metrics import fid_uncertainty, large_n_fids
from diffusion.shipped import FID_TABLE, SHIPPED_MODELS
from diffusion.studies.figures import FIGURES
from diffusion.studies.figures.svg_plot import panel, svg

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
MICRO = 1e6


def model_names() -> dict[str, str]:
    """Hash prefix (16 hex digits, as the table keys models) → shipped model id, for the models exported here."""
    names = {}
    for name, directory in SHIPPED_MODELS.items():
        card = Path(directory) / "model.json"
        if card.is_file():
            names[json.loads(card.read_text())["sha256"][:16]] = name
    return names


def default_setting(entries: list[dict]) -> tuple[str, int, int]:
    """The (sampler, steps, N) with the most chip entries (ties: the larger N)."""
    counts = Counter((e["sampler"], e["steps"], e["n"]) for e in entries if e["profile"] != large_n_fids.SOFTWARE)
    if not counts:
        raise SystemExit("the FID table has no chip entries to draw")
    return max(counts, key=lambda s: (counts[s], s[2]))


def rows_at(entries: list[dict], sampler: str, steps: int, n: int, table_path) -> list[dict]:
    """One row per (model, profile, emulation) measured at (sampler, steps, N), software rows included."""
    configs = sorted(
        {
            (e["model"], e["profile"], e["emulation"], e["eta"])
            for e in entries
            if (e["sampler"], e["steps"], e["n"]) == (sampler, steps, n)
        },
        key=lambda c: (c[0], c[1] != large_n_fids.SOFTWARE, c[1], str(c[2])),
    )
    rows = []
    for model, profile, emulation, eta in configs:
        label = profile if emulation in (None, "exact") else f"{profile}/{emulation}"
        (point,) = [
            p for p in fid_uncertainty.fid_points(model, sampler, steps, eta or 0.0, label, table_path) if p["n"] == n
        ]
        energies = [
            e["energy_per_image_j"]
            for e in large_n_fids.entries(model, sampler, steps, eta or 0.0, label, table_path)
            if e["n"] == n and e.get("energy_per_image_j") is not None
        ]
        rows.append(
            {
                "model": model,
                "profile": profile,
                "emulation": emulation,
                "label": label,
                "n": n,
                "fid": point["value"],
                "sd": point["sd"],
                "sd_basis": point["sd_basis"],
                "sets": point["sets"],
                "seed_sets": point["seed_sets"],
                "energy_per_image_j": sum(energies) / len(energies) if energies else None,
            }
        )
    software = {r["model"]: r for r in rows if r["profile"] == large_n_fids.SOFTWARE}
    for r in rows:
        r["software_fid"], r["software_basis"] = _software_at_same_seeds(
            r, software.get(r["model"]), entries, sampler, steps, n
        )
    return rows


def _software_at_same_seeds(row: dict, software: dict | None, entries: list[dict], sampler, steps, n):
    """Software's FID to hold ``row`` against: its mean over the same seed sets when it has them all
    (paired: the same x_T and noise seeds), else its mean over all its sets at N; with the basis."""
    if software is None:
        return None, "no software FID at this N"
    sets = {(s["seed"], s["batch"], s["images"]) for s in row["seed_sets"]}
    noises = {s["noise"] for s in row["seed_sets"]}
    same = [
        e["fid"]
        for e in entries
        if e["model"] == row["model"]
        and e["profile"] == large_n_fids.SOFTWARE
        and (e["sampler"], e["steps"], e["n"]) == (sampler, steps, n)
        and (e["seed"], e["batch"], e["images"]) in sets
    ]
    if len(same) == len(sets):
        paired = noises == {"torch"}  # software always runs on torch noise
        return sum(same) / len(same), "paired: same seeds and noise" if paired else "same seeds, chip on MTJ noise"
    return software["fid"], f"all {software['sets']} software sets"


def figure(rows: list[dict], sampler: str, steps: int, n: int, names: dict[str, str]) -> str:
    """The SVG: log10 energy per image (µJ) on x, FID on y, one colour per model."""
    chips = [r for r in rows if r["profile"] != large_n_fids.SOFTWARE and r["energy_per_image_j"]]
    exact = {(r["model"], r["profile"]) for r in chips if r["emulation"] == "exact"}
    # one point per chip: the exact mode where measured (the statistical one is its emulation, same energy)
    drawn = [r for r in chips if r["emulation"] == "exact" or (r["model"], r["profile"]) not in exact]
    if not drawn:
        raise SystemExit(f"no chip entries with an energy per image at {sampler}, {steps} steps, N = {n}")
    models = sorted({r["model"] for r in rows})
    colour = {m: COLOURS[k % len(COLOURS)] for k, m in enumerate(models)}
    xs = [math.log10(r["energy_per_image_j"] * MICRO) for r in drawn]
    lo, hi = math.floor(min(xs) * 2) / 2 - 0.25, math.ceil(max(xs) * 2) / 2 + 0.25
    fids = [r["fid"] for r in rows] + [r["fid"] + 2 * (r["sd"] or 0) for r in drawn]
    top = math.ceil(max(fids) * 1.15 / 10) * 10
    bottom = max(0.0, math.floor(min(r["fid"] for r in rows) * 0.8 / 10) * 10)
    ticks = [math.log10(m * 10**d) for d in range(-1, 6) for m in (1, 3) if lo <= math.log10(m * 10**d) <= hi]
    points, notes = [], []
    for m in models:
        mine = [r for r in drawn if r["model"] == m]
        points.append(
            (
                [math.log10(r["energy_per_image_j"] * MICRO) for r in mine],
                [r["fid"] for r in mine],
                [(r["sd"] or 0.0) / 2 for r in mine],  # the panel draws ±2·err: bars of ± one sd
                colour[m],
            )
        )
        notes += [
            (
                math.log10(r["energy_per_image_j"] * MICRO),
                r["fid"],
                r["profile"] + ("" if r["emulation"] == "exact" else " (stat.)"),
            )
            for r in mine
        ]
    hlines = [
        (r["fid"], colour[r["model"]], f"software, {names.get(r['model'], r['model'])} (GPU; FID {r['fid']:.1f})")
        for r in rows
        if r["profile"] == large_n_fids.SOFTWARE
    ]
    curves = [
        ([], [], colour[m], f"chip, model {names.get(m, m)}") for m in models if any(r["model"] == m for r in drawn)
    ]
    body = panel(
        f"FID@{n} vs energy per image ({sampler}, {steps} steps)",
        "energy per image on the chip (µJ, log scale)",
        f"FID@{n} (mean ± 1 sd over seed sets)",
        (lo, hi),
        (bottom, top),
        curves,
        points,
        x_ticks=ticks,
        x_format=".2f",
        x_labels=[_micro_label(t) for t in ticks],
        y_format=".0f",
        hlines=hlines,
        notes=notes,
    )
    return svg([body], 1)


def _micro_label(log_value: float) -> str:
    value = 10**log_value
    return f"{value:.0f}" if value >= 1 else f"{value:.1f}"


def table(rows: list[dict], sampler: str, steps: int, n: int, names: dict[str, str]) -> str:
    """The markdown table of the figure's rows."""
    lines = [
        f"FID@{n} against the chip's energy per image ({sampler}, {steps} steps; Fashion-MNIST test split; "
        "diffusion/assets/fid_table.json, drawn by `python -m diffusion.studies.figures.fid_energy`).",
        "",
        "| model | profile | emulation | N | seed sets (seed, batch) | FID (mean) | ± sd | sd from | Δ vs software (same N) | energy per image (µJ) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sets = "; ".join(
            f"{s['seed']}, {s['batch']}" + (f" ({s['images']})" if s.get("images") else "") for s in r["seed_sets"]
        )
        delta = (
            "–"
            if r["profile"] == large_n_fids.SOFTWARE or r["software_fid"] is None
            else f"{100 * (r['fid'] / r['software_fid'] - 1):+.1f} % ({r['software_basis']})"
        )
        energy = "–" if r["energy_per_image_j"] is None else f"{r['energy_per_image_j'] * MICRO:.1f}"
        sd = "–" if r["sd"] is None else f"{r['sd']:.2f}"
        basis = (
            "own sets"
            if r["sd_basis"].startswith("standard deviation")
            else ("software's sets" if r["sd_basis"].startswith("software") else "not measured")
        )
        lines.append(
            f"| {names.get(r['model'], r['model'])} | {r['profile']} | {r['emulation'] or '–'} | {r['n']} | {sets} | "
            f"{r['fid']:.2f} | {sd} | {basis} | {delta} | {energy} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default=str(FID_TABLE))
    parser.add_argument("--sampler")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--n", type=int)
    parser.add_argument("--out", default=str(FIGURES))
    args = parser.parse_args(argv)
    entries = large_n_fids.load(args.table)
    sampler, steps, n = default_setting(entries)
    sampler, steps, n = args.sampler or sampler, args.steps or steps, args.n or n
    rows = rows_at(entries, sampler, steps, n, args.table)
    names = model_names()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fid_vs_energy.svg").write_text(figure(rows, sampler, steps, n, names))
    (out / "fid_vs_energy.md").write_text(table(rows, sampler, steps, n, names))
    print(
        f"wrote {out}/fid_vs_energy.svg and fid_vs_energy.md ({len(rows)} configurations, {sampler}, {steps} steps, N = {n})"
    )


if __name__ == "__main__":
    main()
