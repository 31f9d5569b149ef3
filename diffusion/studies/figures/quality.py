"""Figures and table of docs/quality.md from the quality study's JSON-lines results.

    python -m diffusion.studies.figures.quality [--results docs/figures/quality_study.jsonl]

Reads the rows `python -m diffusion.studies.quality_study` appended (one per variant), keeps the most
common (model, N, sampler, steps) setting, and writes:

* docs/figures/fid_vs_adc_bits_and_sigma.svg — FID against ADC resolution and against the R_P/TMR
  variation σ (vcma-default is the 8-bit, 5 % point), software FID as a dashed line; a second row of
  panels shows the chip's relative ε-prediction error for the same variants;
* docs/figures/quality_study.md — the full table (FID, KID ± std, ε error, images/s, energy);
* docs/figures/epsilon_ablation.md — from ``--epsilon`` rows (``quality_study --epsilon-only``):
  each variant's ε-prediction error per noise level and its change against vcma-default;
* from ``--headline`` rows (the N = 500 study, docs/figures/headline.jsonl):
  docs/figures/headline.md, the same table, and docs/figures/fid_vs_epsilon_error.svg — FID against
  ε error: software with a random ε error of relative size r injected (the sampler's tolerance)
  as a curve, each chip variant as a point at its measured ε error (from the ``--epsilon`` rows).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

from diffusion.studies.figures import FIGURES
from diffusion.studies.figures.svg_plot import H, W, panel, svg

OUT = FIGURES
SHARED_POINTS = {"adc_bits": ("vcma-default", 8.0), "sigma": ("vcma-default", 0.05)}
AXES = {
    "adc_bits": ("FID vs ADC resolution", "ADC bits", [4, 5, 6, 7, 8], ".0f"),
    "sigma": ("FID vs R_P / TMR variation", "σ (relative)", [0.0, 0.05, 0.10, 0.15, 0.20], ".2f"),
}


def select_rows(rows: list[dict]) -> tuple[dict, dict]:
    """Rows of the most common (model, N, sampler, steps) setting, keyed by label (last one wins)."""
    if not rows:
        raise SystemExit("no rows: run `python -m diffusion.studies.quality_study` first")
    setting = Counter((r["model_sha256"], r["n"], r["sampler"], r["steps"]) for r in rows).most_common(1)[0][0]
    chosen = {r["label"]: r for r in rows if (r["model_sha256"], r["n"], r["sampler"], r["steps"]) == setting}
    model, n, sampler, steps = setting
    return chosen, {"model_sha256": model, "n": n, "sampler": sampler, "steps": steps}


def sweep_points(rows: dict, group: str, value: str) -> list[tuple[float, float]]:
    """(x, value) of one sweep, the shared vcma-default point included, sorted by x; rows without
    the value (an ε error not measured) are left out."""
    label, x = SHARED_POINTS[group]
    members = [(float(r["x"]), r) for r in rows.values() if r["group"] == group]
    if label in rows:
        members.append((x, rows[label]))
    points = [(x, _value(r, value)) for x, r in members]
    return sorted((x, y) for x, y in points if y is not None)


def _value(row: dict, value: str) -> float | None:
    if value == "epsilon":
        return row["epsilon_error"]["mean"] if row.get("epsilon_error") else None
    return float(row[value])


def sweep_figure(rows: dict, setting: dict) -> str:
    software = rows.get("software")
    parts = []
    values = ("fid", "epsilon") if any(r.get("epsilon_error") for r in rows.values()) else ("fid",)
    for col, group in enumerate(("adc_bits", "sigma")):
        title, xlabel, ticks, fmt = AXES[group]
        for row_index, value in enumerate(values):
            pts = sweep_points(rows, group, value)
            if not pts:
                continue
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            hlines = (
                [(software["fid"], "#555", f"software FID {software['fid']:.1f}")]
                if value == "fid" and software
                else []
            )
            top = max(ys + [h[0] for h in hlines]) * 1.15
            label = f"FID@{setting['n']}" if value == "fid" else "ε error"
            group_svg = panel(
                title if value == "fid" else title.replace("FID", "ε-prediction error"),
                xlabel,
                label,
                (ticks[0], ticks[-1]),
                (0.0, top),
                [(xs, ys, "#1f77b4", f"chip ({setting['sampler']}, {setting['steps']} steps)")],
                [(xs, ys, [0.0] * len(xs), "#1f77b4")],
                x0=col * W,
                x_ticks=ticks,
                x_format=fmt,
                y_format=".1f" if value == "fid" else ".3f",
                hlines=hlines,
            )
            parts.append(f'<g transform="translate(0 {row_index * H})">{group_svg}</g>')
    return svg(parts, 2, n_rows=len(values))


def table(rows: dict, setting: dict) -> str:
    lines = [
        f"Model `{setting['model_sha256'][:12]}`, {setting['sampler']} {setting['steps']} steps, N = {setting['n']} "
        "images per row (FID at this N; compare rows only with each other).",
        "",
        "| variant | group | change from its base | FID | Δ vs software | KID ×10³ (± std) | ε error | images/s | energy/image |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    software = rows.get("software", {}).get("fid")
    for r in rows.values():
        delta = f"{(r['fid'] / software - 1) * 100:+.1f} %" if software else "–"
        eps = f"{r['epsilon_error']['mean']:.3f}" if r.get("epsilon_error") else "–"
        energy = f"{r['energy_per_image_j'] * 1e6:.0f} µJ" if r.get("energy_per_image_j") else "–"
        change = json.dumps(r["overrides"]) if r["overrides"] else r["base"]
        lines.append(
            f"| {r['label']} | {r['group']} | `{change}` | {r['fid']:.2f} | {delta} | "
            f"{r['kid_mean'] * 1e3:.2f} ± {r['kid_std'] * 1e3:.2f} | {eps} | {r['images_per_second']:.2f} | {energy} |"
        )
    return "\n".join(lines) + "\n"


def epsilon_table(rows: list[dict]) -> str:
    """Markdown table of ε-only rows (last row per label wins), vcma-default first."""
    latest = {r["label"]: r for r in rows}
    base = latest.get("vcma-default", {}).get("epsilon_error", {}).get("mean")
    order = sorted(latest.values(), key=lambda r: (r["label"] != "vcma-default", r["epsilon_error"]["mean"]))
    timesteps = sorted(int(t) for t in order[0]["epsilon_error"]["per_timestep"])
    lines = [
        "| variant | change from vcma-default | mean ε error | "
        + " | ".join(f"t = {t}" for t in timesteps)
        + " | vs vcma-default |",
        "|---|---|---|" + "---|" * len(timesteps) + "---|",
    ]
    for r in order:
        eps = r["epsilon_error"]
        per_t = " | ".join(f"{eps['per_timestep'][str(t)]:.3f}" for t in timesteps)  # JSON keys are strings
        change = json.dumps(r["overrides"]) if r["overrides"] else r["base"]
        versus = f"{(eps['mean'] / base - 1) * 100:+.0f} %" if base else "–"
        lines.append(f"| {r['label']} | `{change}` | {eps['mean']:.3f} | {per_t} | {versus} |")
    return "\n".join(lines) + "\n"


def epsilon_figure(rows: dict, setting: dict, eps_rows: list[dict]) -> str:
    """FID against ε error: the injected-error software curve and the chip variants as points."""
    measured = {r["label"]: r["epsilon_error"]["mean"] for r in eps_rows}
    software = rows.get("software")
    curve = sorted((r["x"], r["fid"]) for r in rows.values() if r["group"] == "injected")
    if software:
        curve.insert(0, (0.0, software["fid"]))
    chips = [
        (0.0 if r["base"] == "ideal" else measured[r["label"]], r["fid"], r["label"])
        for r in rows.values()
        if r["base"] != "software" and (r["label"] in measured or r["base"] == "ideal")
    ]
    if not chips and not curve:
        raise SystemExit("no headline rows with an ε error to plot")
    xs = [p[0] for p in curve + chips]
    ys = [p[1] for p in curve + chips]
    hlines = [(software["fid"] * 1.1, "#2ca02c", "software FID + 10 %")] if software else []
    step = next(s for s in (0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.5) if 4 * s >= max(xs) * 1.15)
    ticks = [round(step * k, 3) for k in range(5)]
    y_low = 5 * math.floor(min(ys) * 0.95 / 5)
    y_high = y_low + 5 * math.ceil((max(ys + [h[0] for h in hlines]) * 1.08 - y_low) / 5)  # 5 whole-number intervals
    body = panel(
        f"FID@{setting['n']} vs ε-prediction error ({setting['sampler']}, {setting['steps']} steps)",
        "relative ε error",
        f"FID@{setting['n']}",
        (0.0, ticks[-1]),
        (y_low, y_high),
        [([c[0] for c in curve], [c[1] for c in curve], "#555", "software + random ε error r (x = r)")],
        [([c[0] for c in chips], [c[1] for c in chips], [0.0] * len(chips), "#d62728")],
        x_ticks=ticks,
        x_format=".3f",
        hlines=hlines,
        notes=[(x, y, label) for x, y, label in chips],
    )
    return svg([body], 1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(OUT / "quality_study.jsonl"))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--epsilon", default=str(OUT / "epsilon_ablation.jsonl"), help="ε-only rows (optional)")
    parser.add_argument("--headline", default=str(OUT / "headline.jsonl"), help="N = 500 rows (optional)")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in Path(args.results).read_text().splitlines() if line.strip()]
    chosen, setting = select_rows(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fid_vs_adc_bits_and_sigma.svg").write_text(sweep_figure(chosen, setting))
    (out / "quality_study.md").write_text(table(chosen, setting))
    print(f"wrote {out}/fid_vs_adc_bits_and_sigma.svg and quality_study.md ({len(chosen)} variants)")
    epsilon = Path(args.epsilon)
    if epsilon.is_file():
        eps_rows = [json.loads(line) for line in epsilon.read_text().splitlines() if line.strip()]
        (out / "epsilon_ablation.md").write_text(epsilon_table(eps_rows))
        print(f"wrote {out}/epsilon_ablation.md ({len(eps_rows)} rows)")
    else:
        eps_rows = []
    headline = Path(args.headline)
    if headline.is_file():
        head_rows, head_setting = select_rows(
            [json.loads(line) for line in headline.read_text().splitlines() if line.strip()]
        )
        (out / "headline.md").write_text(table(head_rows, head_setting))
        (out / "fid_vs_epsilon_error.svg").write_text(epsilon_figure(head_rows, head_setting, eps_rows))
        print(f"wrote {out}/headline.md and fid_vs_epsilon_error.svg ({len(head_rows)} variants)")


if __name__ == "__main__":
    main()
