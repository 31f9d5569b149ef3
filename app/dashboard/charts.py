"""Server-made SVG charts of the dashboard: horizontal bars on a linear or log axis, and stacked bars.

Every chart is one ``<svg>`` with a category label per bar, the value (with its unit) at the end of
each bar, an axis with ticks and tick labels carrying the unit, and an axis title saying the scale.
Colours come from CSS classes (``bar-chip``, ``seg-adc``, …), so the page's stylesheet holds the
palette and the same class colours an HTML legend swatch. All text is escaped. Sizes are in a
viewBox ``WIDTH`` units wide, about a phone's width, so the 12-unit text stays legible there;
the stylesheet caps the drawn width on wider screens. No JavaScript, nothing that could not be drawn offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 360
ROW = 24
BAR = 15
CHAR_W = 6.6  # mean advance of a 12 px sans-serif glyph, for layout
AXIS_H = 38

_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T"}


def si(value: float | None, unit: str, digits: int = 3) -> str:
    """``value`` with an SI prefix: ``si(2.69e-5, 'J')`` → ``'26.9 µJ'``; None → ``'—'``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if value == 0:
        return f"0 {unit}".strip()
    exponent = min(12, max(-15, int(math.floor(math.log10(abs(value)) / 3) * 3)))
    mantissa = value / 10**exponent
    if round(abs(mantissa), max(0, digits - 3)) >= 1000 and exponent < 12:
        exponent += 3
        mantissa = value / 10**exponent
    return f"{mantissa:.{digits}g} {_PREFIXES[exponent]}{unit}".strip()


def plain(value: float | None, unit: str, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures with ``unit`` and no prefix (for mm², ratios)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}×10^{int(exponent)}"
    return f"{text} {unit}".strip()


@dataclass(frozen=True)
class Bar:
    """One bar: ``label`` on the left, ``value`` drawn, ``note`` after the value (e.g. ``'93× chip'``)."""

    label: str
    value: float | None
    kind: str = "default"
    note: str = ""


def _text(x: float, y: float, text: str, cls: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def _svg(height: float, body: list[str], label: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>{"".join(body)}</svg>'
    )


class _Axis:
    """Maps values to x in [x0, x1]: linear from 0, or log10 over whole decades."""

    def __init__(self, values: list[float], x0: float, x1: float, log: bool):
        self.x0, self.x1, self.log = x0, x1, log
        positive = [v for v in values if v is not None and v > 0]
        if log:
            low = math.floor(math.log10(min(positive))) if positive else -1
            high = math.ceil(math.log10(max(positive))) if positive else 0
            self.lo, self.hi = low, max(high, low + 1)
        else:
            top = max([v for v in values if v is not None] + [0.0])
            self.step = _nice_step(top / 4 if top > 0 else 1.0)
            self.lo, self.hi = 0.0, max(self.step, math.ceil(top / self.step - 1e-9) * self.step)

    def x(self, value: float) -> float:
        if self.log:
            fraction = (math.log10(value) - self.lo) / (self.hi - self.lo)
        else:
            fraction = (value - self.lo) / (self.hi - self.lo)
        return self.x0 + max(0.0, min(1.0, fraction)) * (self.x1 - self.x0)

    def ticks(self) -> list[float]:
        if self.log:
            decades = self.hi - self.lo
            if decades <= 2:  # few decades: 1-2-5 ticks, so the scale can still be read
                return [m * 10.0**k for k in range(self.lo, self.hi) for m in (1, 2, 5)] + [10.0**self.hi]
            every = 1 if decades <= 5 else math.ceil(decades / 5)
            return [10.0**k for k in range(self.lo, self.hi + 1, every)]
        count = int(round((self.hi - self.lo) / self.step))
        return [self.lo + k * self.step for k in range(count + 1)]

    def grid(self, top: float, bottom: float) -> list[str]:
        """Vertical grid lines at the ticks (drawn first, under the bars)."""
        return [
            f'<line x1="{self.x(t):.1f}" y1="{top:.1f}" x2="{self.x(t):.1f}" y2="{bottom:.1f}" class="grid"/>'
            for t in self.ticks()
        ]

    def labels(self, bottom: float, unit: str, fmt, title: str) -> list[str]:
        """The axis line, tick labels with their unit, and the axis title."""
        parts = [f'<line x1="{self.x0:.1f}" y1="{bottom:.1f}" x2="{self.x1:.1f}" y2="{bottom:.1f}" class="axis"/>']
        parts += [_text(self.x(t), bottom + 13, fmt(t, unit), "tick", "middle") for t in self.ticks()]
        parts.append(_text((self.x0 + self.x1) / 2, bottom + 29, title, "axis-title", "middle"))
        return parts


def _nice_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _label_width(labels: list[str]) -> float:
    return min(150.0, max([len(label) for label in labels] + [4]) * CHAR_W + 10)


def bar_chart(
    bars: list[Bar], unit: str, *, log: bool = False, fmt=si, axis_title: str = "", label: str = ""
) -> Markup:
    """Horizontal bars, one per `Bar`, with values and notes at their ends and a labelled axis."""
    if not bars:
        raise ValueError("bar_chart needs at least one bar")
    label_w = _label_width([b.label for b in bars])
    value_w = min(170.0, max(len(fmt(b.value, unit)) + (len(b.note) + 1 if b.note else 0) for b in bars) * CHAR_W + 8)
    axis = _Axis([b.value for b in bars], label_w, WIDTH - value_w, log)
    top = 4.0
    bottom = top + len(bars) * ROW
    parts = axis.grid(top - 2, bottom)
    for k, bar in enumerate(bars):
        y = top + k * ROW
        mid = y + BAR / 2 + 4
        parts.append(_text(label_w - 6, mid, bar.label, "label", "end"))
        text = fmt(bar.value, unit) + (f" {bar.note}" if bar.note else "")
        if bar.value is None or (log and bar.value <= 0):
            parts.append(_text(label_w + 4, mid, "n/a" if bar.value is None else text, "value"))
            continue
        end = axis.x(bar.value)
        parts.append(
            f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{max(1.0, end - label_w):.1f}" height="{BAR}" '
            f'class="bar {escape(bar.kind)}"><title>{escape(bar.label)}: {escape(text)}</title></rect>'
        )
        parts.append(_text(end + 4, mid, text, "value"))
    parts.extend(axis.labels(bottom, unit, fmt, axis_title or (f"{unit}, log scale" if log else unit)))
    return _svg(bottom + AXIS_H, parts, label or axis_title)


def stacked_chart(
    rows: list[tuple[str, list[tuple[str, float]]]], unit: str, *, fmt=si, axis_title: str = "", label: str = ""
) -> Markup:
    """One horizontal bar per row, split into segments ``(css class, value)``; the row's total at
    its end. Pair it with an HTML legend using the same classes."""
    if not rows:
        raise ValueError("stacked_chart needs at least one row")
    totals = [sum(v for _, v in segments if v) for _, segments in rows]
    label_w = _label_width([name for name, _ in rows])
    value_w = max(len(fmt(t, unit)) for t in totals) * CHAR_W + 8
    axis = _Axis(totals, label_w, WIDTH - value_w, log=False)
    top = 4.0
    bottom = top + len(rows) * ROW
    parts = axis.grid(top - 2, bottom)
    for k, ((name, segments), total) in enumerate(zip(rows, totals)):
        y = top + k * ROW
        mid = y + BAR / 2 + 4
        parts.append(_text(label_w - 6, mid, name, "label", "end"))
        start = 0.0
        for key, value in segments:
            if not value:
                continue
            x0, x1 = axis.x(start), axis.x(start + value)
            share = f"{value / total:.0%}" if total else ""
            parts.append(
                f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(0.5, x1 - x0):.1f}" height="{BAR}" class="seg {escape(key)}">'
                f"<title>{escape(name)} · {escape(key)}: {escape(fmt(value, unit))} ({share})</title></rect>"
            )
            start += value
        parts.append(
            _text(axis.x(total) + 4 if total else label_w + 4, mid, fmt(total, unit) if total else "none", "value")
        )
    parts.extend(axis.labels(bottom, unit, fmt, axis_title or unit))
    return _svg(bottom + AXIS_H, parts, label or axis_title)
