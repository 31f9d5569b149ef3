"""Make the figures of docs/physics.md (plain SVG, no plotting library needed).

    python -m diffusion.studies.figures.physics [--trials 4000]

Writes docs/figures/psw_compact_vs_macrospin.svg (compact model curves with the macrospin
Monte-Carlo points and 2σ error bars, both regimes), docs/figures/calibration_histogram.svg
(per-device switching probability of vcma-default before and after calibration) and
docs/figures/agreement.json (the table behind the first figure).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from device import agreement, mtj, profiles
from diffusion.studies.figures import FIGURES
from diffusion.studies.figures.svg_plot import W
from diffusion.studies.figures.svg_plot import panel as _panel
from diffusion.studies.figures.svg_plot import svg as _svg

OUT = FIGURES


def agreement_figure(trials: int) -> list[dict]:
    params = mtj.MTJParameters()
    panels, table = [], []
    for k, sweep in enumerate(agreement.STANDARD_SWEEPS):
        rows = agreement.compare(params, sweep, n_trials=trials)
        table += [r.to_dict() for r in rows]
        cols = agreement.as_arrays(rows)
        dense = np.linspace(min(sweep.voltages), max(sweep.voltages), 120)
        curve = mtj.switching_probability(params, dense, sweep.pulse_width, sweep.field)
        title = f"{sweep.name.replace('_', '-')} regime: {sweep.pulse_width * 1e9:.0f} ns, H = {sweep.field / 1e3:+.0f} kA/m"
        panels.append(
            _panel(
                title,
                "pulse voltage V (V)",
                "P(switch)",
                (dense[0], dense[-1]),
                (0.0, 0.5),
                [(dense, curve, "#1f77b4", "compact model"), ([], [], "#d62728", f"macrospin, {trials} trials (±2σ)")],
                [(cols["voltage"], cols["macrospin"], cols["standard_error"], "#d62728")],
                x0=k * W,
            )
        )
    (OUT / "psw_compact_vs_macrospin.svg").write_text(_svg(panels, len(panels)))
    return table


def calibration_figure() -> None:
    bins = np.linspace(0.2, 0.6, 81)
    panels = []
    for k, name in enumerate(["vcma-uncalibrated", "vcma-default"]):
        source = profiles.make_random_source(profiles.get_profile(name), chip_seed=0)
        counts, _ = np.histogram(source.probabilities, bins=bins)
        frac = counts / counts.sum()
        xs = np.repeat(bins, 2)[1:-1]
        ys = np.repeat(frac, 2)
        title = f"{name}: mean p = {source.probabilities.mean():.4f}, σ = {source.probabilities.std():.4f}"
        panels.append(
            _panel(
                title,
                "device switching probability p",
                "fraction of 1024 devices",
                (0.2, 0.6),
                (0.0, max(0.5, frac.max())),
                [(xs, ys, "#2ca02c", name)],
                [],
                x0=k * W,
            )
        )
    (OUT / "calibration_histogram.svg").write_text(_svg(panels, len(panels)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=4000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    table = agreement_figure(args.trials)
    (OUT / "agreement.json").write_text(json.dumps(table, indent=1))
    calibration_figure()
    print(f"wrote {OUT}/psw_compact_vs_macrospin.svg, calibration_histogram.svg, agreement.json")


if __name__ == "__main__":
    main()
