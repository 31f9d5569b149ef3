"""Make the figures of docs/physics.md (plain SVG, no plotting library needed).

    .venv/bin/python docs/make_physics_figures.py [--trials 4000]

Writes docs/figures/psw_compact_vs_macrospin.svg (compact model curves with the macrospin
Monte-Carlo points and 2σ error bars, both regimes), docs/figures/calibration_histogram.svg
(per-device switching probability of vcma-default before and after calibration) and
docs/figures/agreement.json (the table behind the first figure).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from device import agreement, mtj, profiles

OUT = Path(__file__).parent / "figures"
W, H = 460, 320
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 40, 50


def _panel(title, xlabel, ylabel, x_range, y_range, curves, points, x0=0):
    """SVG group for one panel: curves [(xs, ys, colour, label)], points [(xs, ys, err, colour)]."""
    (xmin, xmax), (ymin, ymax) = x_range, y_range
    sx = lambda x: x0 + LEFT + (x - xmin) / (xmax - xmin) * (W - LEFT - RIGHT)  # noqa: E731
    sy = lambda y: TOP + (ymax - y) / (ymax - ymin) * (H - TOP - BOTTOM)  # noqa: E731
    parts = [f'<text x="{x0 + W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">{title}</text>']
    parts.append(f'<rect x="{sx(xmin)}" y="{sy(ymax)}" width="{sx(xmax) - sx(xmin)}" height="{sy(ymin) - sy(ymax)}" fill="none" stroke="#333"/>')
    for tick in np.linspace(xmin, xmax, 5):
        parts.append(f'<line x1="{sx(tick)}" y1="{sy(ymin)}" x2="{sx(tick)}" y2="{sy(ymin) + 5}" stroke="#333"/>')
        parts.append(f'<text x="{sx(tick)}" y="{sy(ymin) + 18}" text-anchor="middle" font-size="11">{tick:.2f}</text>')
    for tick in np.linspace(ymin, ymax, 6):
        parts.append(f'<line x1="{sx(xmin) - 5}" y1="{sy(tick)}" x2="{sx(xmin)}" y2="{sy(tick)}" stroke="#333"/>')
        parts.append(f'<line x1="{sx(xmin)}" y1="{sy(tick)}" x2="{sx(xmax)}" y2="{sy(tick)}" stroke="#ddd"/>')
        parts.append(f'<text x="{sx(xmin) - 8}" y="{sy(tick) + 4}" text-anchor="end" font-size="11">{tick:.1f}</text>')
    parts.append(f'<text x="{x0 + W / 2}" y="{H - 10}" text-anchor="middle" font-size="12">{xlabel}</text>')
    parts.append(f'<text x="{x0 + 16}" y="{H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 {x0 + 16} {H / 2})">{ylabel}</text>')
    for k, (xs, ys, colour, label) in enumerate(curves):
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(zip(xs, ys)))
        parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<line x1="{sx(xmin) + 10}" y1="{sy(ymax) + 14 + 16 * k}" x2="{sx(xmin) + 30}" y2="{sy(ymax) + 14 + 16 * k}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{sx(xmin) + 35}" y="{sy(ymax) + 18 + 16 * k}" font-size="11">{label}</text>')
    for xs, ys, errs, colour in points:
        for x, y, e in zip(xs, ys, errs):
            parts.append(f'<line x1="{sx(x):.1f}" y1="{sy(y - 2 * e):.1f}" x2="{sx(x):.1f}" y2="{sy(y + 2 * e):.1f}" stroke="{colour}"/>')
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="white" stroke="{colour}" stroke-width="1.5"/>')
    return "\n".join(parts)


def _svg(panels, n_panels):
    body = "\n".join(panels)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * n_panels}" height="{H}" '
        f'font-family="sans-serif" viewBox="0 0 {W * n_panels} {H}">\n<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
    )


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
                title, "pulse voltage V (V)", "P(switch)", (dense[0], dense[-1]), (0.0, 0.5),
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
        panels.append(_panel(title, "device switching probability p", "fraction of 1024 devices", (0.2, 0.6), (0.0, max(0.5, frac.max())), [(xs, ys, "#2ca02c", name)], [], x0=k * W))
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
