"""The sweep page's scatter: batch FID against energy per image (log x), the Pareto front as a line.

One ``<svg>`` in the style of `app.dashboard.charts` (CSS classes for colours, escaped text, a
viewBox in user units): a log axis of energy per image fitted to the points (1-2-5 ticks, finer
ones when the points span less than a decade), a linear FID axis fitted to the points (FIDs of one
sweep differ by little against their size, so it does not start at zero), one dot per point, each a
link to its job (``/jobs/{id}``) with a ``<title>`` (the hover text: its parameters and values), and
a polyline through the points of the front in order of energy. No error bars are drawn: a batch
FID has none of its own (the batch KID's ± is the spread over reference subsets, a different
quantity), so the caption states N instead. All points of one chart must share N (the caller,
`app.dashboard.sweeps`, draws only one N).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from app.dashboard.charts import _nice_step, si

WIDTH = 420
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 52.0, 14.0, 10.0, 44.0
RADIUS = 5.5
MAX_LABELS = 24  # more points than this: no index labels beside the dots (they would overlap)


@dataclass(frozen=True)
class ScatterPoint:
    """One point: ``x`` energy per image (J, > 0), ``y`` FID; ``title`` its hover text; ``href`` its job page."""

    index: int
    x: float
    y: float
    title: str
    href: str
    pareto: bool = False


class LogAxis:
    """log10 positions over [lo, hi] (in decades), padded around the values; ticks that read well."""

    def __init__(self, values: list[float], start: float, end: float):
        if not values or min(values) <= 0:
            raise ValueError(f"a log axis needs positive values, got {values!r}")
        self.start, self.end = start, end
        low, high = math.log10(min(values)), math.log10(max(values))
        pad = max(0.06 * (high - low), (0.3 - (high - low)) / 2, 0.0)  # at least 0.3 decades shown
        self.lo, self.hi = low - pad, high + pad

    def position(self, value: float) -> float:
        fraction = (math.log10(value) - self.lo) / (self.hi - self.lo)
        return self.start + fraction * (self.end - self.start)

    def ticks(self) -> list[float]:
        """Decades, else 1-2-5, else 1…9 per decade, else evenly spaced values: the coarsest set with at
        least three ticks inside the axis and no gap wider than half of it (thinned to at most eight)."""
        for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
            found = [
                m * 10.0**k
                for k in range(math.floor(self.lo), math.ceil(self.hi) + 1)
                for m in mantissas
                if self.lo <= math.log10(m * 10.0**k) <= self.hi
            ]
            found = found[:: math.ceil(len(found) / 8)] if found else found
            if len(found) >= 3 and self._widest_gap(found) <= 0.5:
                return found
        low, high = 10.0**self.lo, 10.0**self.hi
        for divisions in (4, 6, 10):  # evenly spaced values, finer until they cover the axis
            step = _nice_step((high - low) / divisions)
            found = [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]
            if len(found) >= 3 and self._widest_gap(found) <= 0.5:
                break
        return found

    def _widest_gap(self, ticks: list[float]) -> float:
        """The widest stretch of the axis without a tick (its ends included), as a fraction of the axis."""
        edges = [self.lo, *(math.log10(t) for t in ticks), self.hi]
        return max(b - a for a, b in zip(edges, edges[1:])) / (self.hi - self.lo)


class LinearAxis:
    """Linear positions over nice bounds around the values (not from zero)."""

    def __init__(self, values: list[float], start: float, end: float):
        self.start, self.end = start, end
        low, high = min(values), max(values)
        span = high - low
        pad = max(0.08 * span, 0.02 * abs(high), 0.5) if span > 0 else max(0.05 * abs(high), 1.0)
        self.step = _nice_step((span + 2 * pad) / 4)
        self.lo = math.floor((low - pad) / self.step) * self.step
        self.hi = math.ceil((high + pad) / self.step) * self.step

    def position(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def ticks(self) -> list[float]:
        count = int(round((self.hi - self.lo) / self.step))
        return [self.lo + k * self.step for k in range(count + 1)]


def _number(value: float) -> str:
    return f"{value:.4g}"


def _text(x: float, y: float, text: str, cls: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def scatter(points: list[ScatterPoint], *, x_title: str, y_title: str, label: str) -> Markup:
    """FID (y, linear) against energy per image (x, log) with the front drawn through the ``pareto`` points."""
    if not points:
        raise ValueError("scatter needs at least one point")
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP
    xs = LogAxis([p.x for p in points], x0, x1)
    ys = LinearAxis([p.y for p in points], y0, y1)
    parts = []
    for t in xs.ticks():
        x = xs.position(t)
        parts.append(f'<line x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" y2="{y0:.1f}" class="grid"/>')
        parts.append(_text(x, y0 + 14, si(t, "J"), "tick", "middle"))
    for t in ys.ticks():
        y = ys.position(t)
        parts.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(_text(x0 - 5, y + 3.5, _number(t), "tick", "end"))
    parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y0:.1f}" class="axis"/>')
    parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x0:.1f}" y2="{y1:.1f}" class="axis"/>')
    parts.append(_text((x0 + x1) / 2, HEIGHT - 8, x_title, "axis-title", "middle"))
    mid = (y0 + y1) / 2
    parts.append(_text(13, mid, y_title, "axis-title", "middle", f' transform="rotate(-90 13 {mid:.1f})"'))
    front = sorted((p for p in points if p.pareto), key=lambda p: p.x)
    if len(front) > 1:
        coords = " ".join(f"{xs.position(p.x):.1f},{ys.position(p.y):.1f}" for p in front)
        parts.append(f'<polyline points="{coords}" class="front" data-points="{len(front)}"/>')
    labelled = len(points) <= MAX_LABELS
    for p in sorted(points, key=lambda p: p.pareto):  # the front on top
        x, y = xs.position(p.x), ys.position(p.y)
        kind = "dot pareto" if p.pareto else "dot"
        parts.append(
            f'<a href="{escape(p.href)}" class="pt{" pareto" if p.pareto else ""}" data-point="{p.index}" '
            f'aria-label="{escape(p.title)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" class="{kind}"/>'
            f"<title>{escape(p.title)}</title></a>"
        )
        if labelled:
            parts.append(_text(x + RADIUS + 2, y - RADIUS, f"#{p.index}", "pt-label"))
    return Markup(
        f'<svg class="chart scatter" viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>{"".join(parts)}</svg>'
    )
