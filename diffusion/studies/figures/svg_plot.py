"""Tiny plain-SVG plotting for the docs figures (no plotting library in the project's dependencies).

Used by the figure scripts of diffusion/studies/figures/ (``python -m diffusion.studies.figures.<name>``).
"""

from __future__ import annotations

import numpy as np

W, H = 460, 320
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 40, 50


def panel(
    title,
    xlabel,
    ylabel,
    x_range,
    y_range,
    curves,
    points,
    x0=0,
    x_ticks=None,
    y_format=".1f",
    x_format=".2f",
    hlines=(),
    notes=(),
    x_labels=None,
):
    """SVG group for one panel: curves [(xs, ys, colour, label)], points [(xs, ys, err, colour)].

    ``x_ticks``: explicit tick positions (default 5 even ticks); ``hlines``: [(y, colour, label)]
    dashed horizontal reference lines, listed in the legend after the curves. Error bars are ±2·err.
    ``notes``: [(x, y, text)] small labels written just right of the data point (x, y).
    ``x_labels``: the text of each of ``x_ticks`` (e.g. 10^x for a log axis; default the tick formatted).
    """
    (xmin, xmax), (ymin, ymax) = x_range, y_range
    sx = lambda x: x0 + LEFT + (x - xmin) / (xmax - xmin) * (W - LEFT - RIGHT)  # noqa: E731
    sy = lambda y: TOP + (ymax - y) / (ymax - ymin) * (H - TOP - BOTTOM)  # noqa: E731
    parts = [f'<text x="{x0 + W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">{title}</text>']
    parts.append(
        f'<rect x="{sx(xmin)}" y="{sy(ymax)}" width="{sx(xmax) - sx(xmin)}" height="{sy(ymin) - sy(ymax)}" fill="none" stroke="#333"/>'
    )
    ticks = list(np.linspace(xmin, xmax, 5) if x_ticks is None else x_ticks)
    for tick, text in zip(ticks, x_labels or [f"{t:{x_format}}" for t in ticks]):
        parts.append(f'<line x1="{sx(tick)}" y1="{sy(ymin)}" x2="{sx(tick)}" y2="{sy(ymin) + 5}" stroke="#333"/>')
        parts.append(f'<text x="{sx(tick)}" y="{sy(ymin) + 18}" text-anchor="middle" font-size="11">{text}</text>')
    for tick in np.linspace(ymin, ymax, 6):
        parts.append(f'<line x1="{sx(xmin) - 5}" y1="{sy(tick)}" x2="{sx(xmin)}" y2="{sy(tick)}" stroke="#333"/>')
        parts.append(f'<line x1="{sx(xmin)}" y1="{sy(tick)}" x2="{sx(xmax)}" y2="{sy(tick)}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{sx(xmin) - 8}" y="{sy(tick) + 4}" text-anchor="end" font-size="11">{tick:{y_format}}</text>'
        )
    parts.append(f'<text x="{x0 + W / 2}" y="{H - 10}" text-anchor="middle" font-size="12">{xlabel}</text>')
    parts.append(
        f'<text x="{x0 + 16}" y="{H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 {x0 + 16} {H / 2})">{ylabel}</text>'
    )
    for k, (xs, ys, colour, label) in enumerate(curves):
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(zip(xs, ys)))
        parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(
            f'<line x1="{sx(xmin) + 10}" y1="{sy(ymax) + 14 + 16 * k}" x2="{sx(xmin) + 30}" y2="{sy(ymax) + 14 + 16 * k}" stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(f'<text x="{sx(xmin) + 35}" y="{sy(ymax) + 18 + 16 * k}" font-size="11">{label}</text>')
    for j, (y, colour, label) in enumerate(hlines):
        k = len(curves) + j
        parts.append(
            f'<line x1="{sx(xmin)}" y1="{sy(y):.1f}" x2="{sx(xmax)}" y2="{sy(y):.1f}" stroke="{colour}" stroke-dasharray="6 4"/>'
        )
        parts.append(
            f'<line x1="{sx(xmin) + 10}" y1="{sy(ymax) + 14 + 16 * k}" x2="{sx(xmin) + 30}" '
            f'y2="{sy(ymax) + 14 + 16 * k}" stroke="{colour}" stroke-dasharray="6 4"/>'
        )
        parts.append(f'<text x="{sx(xmin) + 35}" y="{sy(ymax) + 18 + 16 * k}" font-size="11">{label}</text>')
    for xs, ys, errs, colour in points:
        for x, y, e in zip(xs, ys, errs):
            parts.append(
                f'<line x1="{sx(x):.1f}" y1="{sy(y - 2 * e):.1f}" x2="{sx(x):.1f}" y2="{sy(y + 2 * e):.1f}" stroke="{colour}"/>'
            )
            parts.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="white" stroke="{colour}" stroke-width="1.5"/>'
            )
    placed = []  # label positions so far; a label that would overlap one moves down a line
    for x, y, text in notes:
        px, py = sx(x) + 7, sy(y) + 4
        width = 5.5 * len(text)  # ≈ 10 px sans-serif
        while any(abs(py - qy) < 11 and px < qx + 5.5 * len(t) and qx < px + width for qx, qy, t in placed):
            py += 12
        placed.append((px, py, text))
        parts.append(f'<text x="{px:.1f}" y="{py:.1f}" font-size="10">{text}</text>')
    return "\n".join(parts)


def svg(panels, n_panels, n_rows: int = 1):
    """A white SVG document for ``n_panels`` panels side by side in ``n_rows`` rows (groups already placed)."""
    body = "\n".join(panels)
    width, height = W * n_panels, H * n_rows
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" viewBox="0 0 {width} {height}">\n<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
    )
