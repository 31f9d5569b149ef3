"""A design-space sweep's FID against energy per image, with its Pareto front, for the docs.

    python -m diffusion.studies.figures.sweep_pareto --sweep DIR/sweep.json [--name NAME] [--out docs/figures]

Reads the ``sweep.json`` that ``spindiff sweep`` writes (or ``GET /v1/sweeps/{id}`` returns) and writes

* docs/figures/NAME.svg — each succeeded point's batch FID at the sweep's N against its energy per
  image (µJ, log axis), the points on the Pareto front (lower FID and lower energy than every other
  point in at least one) joined by a line, each labelled with its parameter values;
* docs/figures/NAME.md — the same as a table: values, N, FID, KID ± its subset spread, energy per
  image, whether on the front.

All points share N, seeds and sampler, so their batch FIDs compare with each other; they are not
FID@10k (docs/quality.md) and the figure says so.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from diffusion.studies.figures import FIGURES
from diffusion.studies.figures.svg_plot import panel, svg

MICRO = 1e6


def _short(name: str) -> str:
    return name.split(".", 1)[1] if "." in name else name


def _values(values: dict) -> str:
    """The point's values alone, compact: ``(4, 1e-09)``."""
    return "(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values.values()) + ")"


def _label(values: dict) -> str:
    return ", ".join(f"{_short(k)} {v:g}" if isinstance(v, float) else f"{_short(k)} {v}" for k, v in values.items())


def rows(view: dict) -> list[dict]:
    """The succeeded points with a FID and an energy, ascending energy."""
    front = set(view["pareto"])
    out = []
    for p in view["points"]:
        r = p.get("results") or {}
        if p["status"] != "succeeded" or r.get("fid") is None or not r.get("energy_per_image_j"):
            continue
        out.append({"index": p["index"], "values": p["values"], "pareto": p["index"] in front, **r})
    return sorted(out, key=lambda r: r["energy_per_image_j"])


def figure(view: dict) -> str:
    points = rows(view)
    if not points:
        raise SystemExit("the sweep has no succeeded point with a FID and an energy per image")
    n = points[0]["n"]
    xs = [math.log10(r["energy_per_image_j"] * MICRO) for r in points]
    ys = [r["fid"] for r in points]
    lo, hi = min(xs) - 0.1, max(xs) + 0.25
    spread = max(ys) - min(ys) or max(ys) * 0.1
    bottom, top = max(0.0, min(ys) - 0.15 * spread), max(ys) + 0.15 * spread
    ticks = [math.log10(m * 10**d) for d in range(-1, 6) for m in (1, 2, 5) if lo <= math.log10(m * 10**d) <= hi]
    front = [r for r in points if r["pareto"]]
    names = ", ".join(_short(k) for k in points[0]["values"])
    body = panel(
        f"FID@{n} vs energy per image; points labelled ({names})",
        "energy per image on the chip (µJ, log scale)",
        f"batch FID at N = {n} (not FID@10k)",
        (lo, hi),
        (bottom, top),
        [
            (
                [math.log10(r["energy_per_image_j"] * MICRO) for r in front],
                [r["fid"] for r in front],
                "#d62728",
                "Pareto front",
            )
        ],
        [(xs, ys, [0.0] * len(points), "#1f77b4")],
        x_ticks=ticks,
        x_labels=[f"{10**t:.0f}" if 10**t >= 1 else f"{10**t:.1f}" for t in ticks],
        y_format=".0f",
        notes=[(x, y, _values(r["values"])) for x, y, r in zip(xs, ys, points)],
    )
    return svg([body], 1)


def table(view: dict) -> str:
    request = view["request"]
    lines = [
        f"Sweep of `{request.get('profile')}` ({request.get('emulation') or 'profile default'} emulation), "
        f"{request.get('sampler')} {request.get('steps')} steps, seed {request.get('seed')}, "
        f"{request.get('num_images')} images per point, {request.get('noise')} noise; batch FID and KID at that N "
        "against the Fashion-MNIST test split (comparable across the points, not FID@10k).",
        "",
        "| point | parameters | N | FID | KID (± subset spread) | energy per image (µJ) | on the front |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows(view), key=lambda r: r["index"]):
        lines.append(
            f"| {r['index']} | {_label(r['values'])} | {r['n']} | {r['fid']:.1f} | "
            f"{r['kid_mean']:.4f} ± {r['kid_std']:.4f} | {r['energy_per_image_j'] * MICRO:.1f} | "
            f"{'yes' if r['pareto'] else ''} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", required=True, help="sweep.json of spindiff sweep (or GET /v1/sweeps/{id})")
    parser.add_argument("--name", default="sweep_pareto")
    parser.add_argument("--out", default=str(FIGURES))
    args = parser.parse_args(argv)
    view = json.loads(Path(args.sweep).read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.svg").write_text(figure(view))
    (out / f"{args.name}.md").write_text(table(view))
    print(f"wrote {out}/{args.name}.svg and {args.name}.md ({len(rows(view))} points)")


if __name__ == "__main__":
    main()
