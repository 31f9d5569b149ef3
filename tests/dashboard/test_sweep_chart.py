"""The sweep scatter (app/dashboard/sweep_chart.py) and the sweep page's views (app/dashboard/sweeps.py):
dots where their energy (log) and FID put them, each a link to its job with its parameters as hover
text; the front drawn through the Pareto points by energy; N stated, no error bars, one N only;
ticks that read well; the table's sort values."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from app.dashboard import sweeps
from app.dashboard.sweep_chart import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    LinearAxis,
    LogAxis,
    ScatterPoint,
    scatter,
)
from tests.dashboard.sweep_data import FRONT, summary_of

SVG = "{http://www.w3.org/2000/svg}"
BOTTOM_Y = HEIGHT - BOTTOM


def _dots(svg: str) -> dict[int, dict]:
    root = ET.fromstring(str(svg))
    found = {}
    for link in root.iter(f"{SVG}a"):
        circle = link.find(f"{SVG}circle")
        found[int(link.get("data-point"))] = {
            "x": float(circle.get("cx")),
            "y": float(circle.get("cy")),
            "href": link.get("href"),
            "title": link.find(f"{SVG}title").text,
            "pareto": "pareto" in link.get("class"),
        }
    return found


POINTS = [
    ScatterPoint(0, 1e-6, 60.0, "#0 · a = 1", "/jobs/a", True),
    ScatterPoint(1, 1e-5, 50.0, "#1 · a = 2", "/jobs/b", True),
    ScatterPoint(2, 1e-4, 55.0, "#2 · a = <3> & co", "/jobs/c", False),
    ScatterPoint(3, 1e-3, 40.0, "#3 · a = 4", "/jobs/d", True),
]


def test_dots_sit_at_their_log_energy_and_linear_fid_and_link_to_their_jobs():
    svg = scatter(POINTS, x_title="energy", y_title="FID", label="test")
    dots = _dots(svg)
    assert [dots[k]["href"] for k in range(4)] == ["/jobs/a", "/jobs/b", "/jobs/c", "/jobs/d"]
    xs = [dots[k]["x"] for k in range(4)]
    # equal energy ratios are equal distances, increasing to the right, inside the plot
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.15) == pytest.approx(xs[3] - xs[2], abs=0.15)
    assert LEFT < xs[0] < xs[3] < WIDTH - RIGHT
    ys = {k: dots[k]["y"] for k in range(4)}
    # a lower FID sits lower on the page (a larger y), linearly: 60 → 50 is twice 55 → 50
    assert ys[3] > ys[1] > ys[2] > ys[0] and TOP <= ys[0] and ys[3] <= BOTTOM_Y
    assert (ys[1] - ys[0]) == pytest.approx(2 * (ys[1] - ys[2]), abs=0.15)
    assert dots[2]["title"] == "#2 · a = <3> & co"  # escaped in the SVG, read back intact
    assert "<3>" not in str(svg) and "&lt;3&gt; &amp; co" in str(svg)


def test_the_front_is_a_line_through_the_pareto_points_by_energy():
    svg = scatter(POINTS, x_title="energy", y_title="FID", label="test")
    dots = _dots(svg)
    line = ET.fromstring(str(svg)).find(f"{SVG}polyline")
    assert line.get("class") == "front" and line.get("data-points") == "3"
    coords = [tuple(map(float, pair.split(","))) for pair in line.get("points").split()]
    assert coords == [(dots[k]["x"], dots[k]["y"]) for k in (0, 1, 3)]
    assert [k for k, d in dots.items() if d["pareto"]] == [0, 1, 3]
    alone = scatter(POINTS[:1], x_title="e", y_title="f", label="one")
    assert ET.fromstring(str(alone)).find(f"{SVG}polyline") is None  # a front of one point is no line


@pytest.mark.parametrize(
    "values", [[7.98e-6, 1.68e-5], [1e-6, 1e-3], [1e-6, 3e-6], [5e-6, 5.01e-6], [1e-9, 1e-2], [2e-6, 4e-5], [3e-7]]
)
def test_log_ticks_lie_on_the_axis_at_least_three_without_wide_gaps(values):
    axis = LogAxis(values, 0.0, 100.0)
    ticks = axis.ticks()
    assert 3 <= len(ticks) <= 8
    assert all(axis.lo - 1e-9 <= math.log10(t) <= axis.hi + 1e-9 for t in ticks)
    assert axis._widest_gap(ticks) <= 0.5
    assert axis.position(min(values)) >= 0.0 and axis.position(max(values)) <= 100.0
    assert axis.hi - axis.lo >= 0.3 - 1e-12  # at least 0.3 decades shown, even for one value


def test_the_linear_axis_brackets_the_values_with_nice_steps():
    axis = LinearAxis([487.7, 520.0, 495.0], 250.0, 10.0)
    assert axis.lo < 487.7 and axis.hi > 520.0 and axis.step in (10.0, 20.0)
    assert axis.lo % axis.step == 0 and axis.position(axis.lo) == 250.0 and axis.position(axis.hi) == 10.0
    flat = LinearAxis([42.0], 0.0, 1.0)
    assert flat.lo < 42.0 < flat.hi


def test_a_log_axis_refuses_nonpositive_values():
    with pytest.raises(ValueError, match="positive"):
        LogAxis([0.0, 1.0], 0, 1)
    with pytest.raises(ValueError, match="at least one point"):
        scatter([], x_title="", y_title="", label="")


def test_the_sweep_figure_states_n_marks_the_front_and_draws_no_error_bars():
    view = summary_of()
    assert view["pareto"] == FRONT
    figure, n, notes = sweeps.sweep_figure(view)
    assert n == 2 and notes == []
    assert "N = 2" in figure.title and "N = 2" in str(figure.svg) and "No error bars" in figure.caption
    assert "presets are not marked" in figure.caption
    dots = _dots(figure.svg)
    assert sorted(dots) == [0, 1, 2, 3] and [k for k, d in dots.items() if d["pareto"]] == FRONT
    assert dots[2]["href"] == f"/jobs/{view['points'][2]['job_id']}"
    assert "crossbar.adc_bits = 8, crossbar.read_time = 1e-09" in dots[2]["title"]
    assert "batch FID 505.0 (N = 2)" in dots[2]["title"]
    root = ET.fromstring(str(figure.svg))
    # the lines are the grid, the two axes and nothing else: no error bars
    lines = [line.get("class") for line in root.iter(f"{SVG}line")]
    assert set(lines) == {"grid", "axis"} and lines.count("axis") == 2


def test_points_without_a_fid_are_not_drawn_and_are_counted():
    view = summary_of(("succeeded", "succeeded", "running", "failed"))
    figure, n, notes = sweeps.sweep_figure(view)
    assert sorted(_dots(figure.svg)) == [0, 1] and n == 2
    assert notes == ["2 of 4 points not drawn (not succeeded, or no batch FID)"]
    nothing, _, why = sweeps.sweep_figure(summary_of(("running",) * 4))
    assert nothing is None and why == []


def test_points_at_another_n_are_never_mixed_in():
    view = summary_of()
    view["points"][3]["results"]["n"] = 16
    figure, n, notes = sweeps.sweep_figure(view)
    assert n == 2 and sorted(_dots(figure.svg)) == [0, 1, 2]
    assert notes == ["1 point(s) at another N not drawn: batch FIDs compare only at one N"]


def test_the_table_rows_carry_text_and_sort_values():
    context = sweeps.report_context(summary_of(("succeeded", "succeeded", "succeeded", "running")))
    keys = [c["key"] for c in context["columns"]]
    assert keys[:5] == ["point", "axis-0", "axis-1", "status", "fid"] and keys[-1] == "pareto"
    assert "ratio-h100_sxm" in keys and context["columns"][4]["label"] == "batch FID (N = 2)"
    rows = context["rows"]
    assert [r["cells"]["axis-1"]["text"] for r in rows] == ["1e-09", "4e-09", "1e-09", "4e-09"]
    assert rows[1]["cells"]["axis-1"]["sort"] == 4e-9 and rows[0]["cells"]["fid"]["sort"] == 520.0
    assert rows[3]["cells"]["fid"] == {"text": "—", "sort": ""}  # running: sorts last
    assert rows[0]["cells"]["energy"]["text"].endswith("µJ") and rows[0]["cells"]["pareto"]["text"] == "★"
    assert context["counts_text"] == "1 running · 3 succeeded" and context["active"]
    assert context["finished"] == 3 and context["points"] == 4 and context["images"] == 8


def test_parameter_types_are_the_profile_loaders():
    types = sweeps.parameter_types()
    assert types["crossbar.adc_bits"] == "int" and types["crossbar.read_time"] == "float"
    assert types["crossbar.read_noise"] == "float | None" and "crossbar.emulation" not in types
    assert set(types.values()) <= {"int", "float", "float | None", "bool", "str"}
    assert {name.split(".")[0] for name in types} >= {"mtj", "rng", "crossbar", "technology"}
