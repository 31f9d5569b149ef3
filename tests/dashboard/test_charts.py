"""The SVG charts: SI labels, log and linear axes put values where they belong, text is escaped."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from app.dashboard.charts import WIDTH, Bar, _Axis, bar_chart, plain, si, stacked_chart

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    "value, unit, text",
    [
        (2.690695686893542e-05, "J", "26.9 µJ"),
        (0.0013785516036400405, "J", "1.38 mJ"),
        (4.49e-4, "s", "449 µs"),
        (1.0, "J", "1 J"),
        (999.95, "J", "1 kJ"),
        (1e-15, "J", "1 fJ"),
        (0, "J", "0 J"),
        (None, "J", "—"),
        (-2.5e-6, "s", "-2.5 µs"),
        (float("nan"), "J", "—"),
    ],
)
def test_si_prefixes_three_significant_figures(value, unit, text):
    assert si(value, unit) == text


def test_plain_keeps_the_unit_without_prefix():
    assert plain(11.785518532315432, "mm²") == "11.8 mm²"
    assert plain(92.80301675860103, "×") == "92.8 ×"
    assert plain(2.05e-5, "mm²") == "2.05×10^-5 mm²"
    assert plain(None, "mm²") == "—"


def test_log_axis_spans_whole_decades_and_places_values_by_their_logarithm():
    axis = _Axis([2.69e-5, 2.5e-3, 1.36e-3], 100.0, 300.0, log=True)
    assert (axis.lo, axis.hi) == (-5, -2)
    assert axis.ticks() == pytest.approx([1e-5, 1e-4, 1e-3, 1e-2])
    assert axis.x(1e-5) == pytest.approx(100.0) and axis.x(1e-2) == pytest.approx(300.0)
    # equal ratios are equal distances
    assert axis.x(1e-3) - axis.x(1e-4) == pytest.approx(axis.x(1e-4) - axis.x(1e-5))
    assert axis.x(2.69e-5) == pytest.approx(100 + 200 * (math.log10(2.69e-5) + 5) / 3)


def test_a_log_axis_of_one_or_two_decades_gets_1_2_5_ticks():
    axis = _Axis([1.36e-3, 3.33e-3], 0.0, 100.0, log=True)
    assert axis.ticks() == pytest.approx([1e-3, 2e-3, 5e-3, 1e-2])
    assert axis.x(2e-3) == pytest.approx(100 * math.log10(2))


def test_linear_axis_starts_at_zero_with_nice_steps():
    axis = _Axis([0.35, 11.0, 0.42, 0.02], 0.0, 200.0, log=False)
    assert axis.ticks() == pytest.approx([0, 5, 10, 15])  # max/4 = 2.75 rounds up to a step of 5
    assert axis.x(0) == 0.0 and axis.x(axis.hi) == 200.0
    assert axis.x(11.0) == pytest.approx(200 * 11 / axis.hi)


def _parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))


def test_bar_chart_draws_each_bar_with_label_value_note_axis_and_title():
    svg = bar_chart(
        [Bar("this chip", 2.69e-5, "chip"), Bar("A100 SXM", 2.5e-3, "gpu", "92.8× chip"), Bar("none", None)],
        "J",
        log=True,
        axis_title="energy per image (J, log scale)",
    )
    root = _parse(svg)
    texts = [t.text for t in root.iter(SVG + "text")]
    assert {
        "this chip",
        "A100 SXM",
        "none",
        "26.9 µJ",
        "2.5 mJ 92.8× chip",
        "n/a",
        "energy per image (J, log scale)",
    } <= set(texts)
    assert {"10 µJ", "100 µJ", "1 mJ", "10 mJ"} <= set(texts)  # tick labels carry the unit
    rects = list(root.iter(SVG + "rect"))
    assert [r.get("class") for r in rects] == ["bar chip", "bar gpu"]  # no bar for a missing value
    chip, gpu = (float(r.get("width")) for r in rects)
    # on a log axis the length difference is the ratio's logarithm: log10(2.5e-3 / 2.69e-5) of 3 decades
    span = float(root.find(SVG + "line[@class='axis']").get("x2")) - float(
        root.find(SVG + "line[@class='axis']").get("x1")
    )
    assert (gpu - chip) / span == pytest.approx(math.log10(2.5e-3 / 2.69e-5) / 3, abs=0.01)
    assert root.get("viewBox").startswith(f"0 0 {WIDTH} ")


def test_labels_are_escaped():
    svg = str(bar_chart([Bar("<script>alert(1)</script>", 1.0, 'x"><b')], "J"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    _parse(svg)  # still well-formed


def test_stacked_chart_segments_add_up_to_the_row_total():
    svg = stacked_chart(
        [("#1", [("seg-adc", 3.0), ("seg-rng", 1.0)]), ("#2", [("seg-adc", 1.0), ("seg-rng", 0.0)])], "J"
    )
    root = _parse(svg)
    rects = [r for r in root.iter(SVG + "rect")]
    assert [r.get("class") for r in rects] == ["seg seg-adc", "seg seg-rng", "seg seg-adc"]  # zero segments left out
    first, second, third = (float(r.get("width")) for r in rects)
    assert first / second == pytest.approx(3.0, rel=0.01) and first == pytest.approx(3 * third, rel=0.01)
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "4 J" in texts and "1 J" in texts
    assert re.search(r"75%", svg)  # each segment's share in its tooltip


def test_charts_refuse_no_data():
    with pytest.raises(ValueError, match="at least one bar"):
        bar_chart([], "J")
    with pytest.raises(ValueError, match="at least one row"):
        stacked_chart([], "J")
