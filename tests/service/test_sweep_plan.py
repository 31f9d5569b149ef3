"""worker/sweep_plan.py and worker/sweep_results.py: points from axes, validation naming the axis and value,
results from point jobs, the Pareto front, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from device import profiles
from worker import sweep_plan, sweep_results
from worker.sweep_plan import SweepError


def test_axes_expand_to_their_grid_last_axis_fastest_with_the_emulation_mode_and_base_overrides():
    points = sweep_plan.plan(
        "vcma-default",
        {"rng": {"dac_bits": 8}},
        "statistical",
        {"crossbar.adc_bits": [6, 8], "crossbar.read_time": [1e-9, 4e-9]},
        None,
    )
    assert [p.values for p in points] == [
        {"crossbar.adc_bits": 6, "crossbar.read_time": 1e-9},
        {"crossbar.adc_bits": 6, "crossbar.read_time": 4e-9},
        {"crossbar.adc_bits": 8, "crossbar.read_time": 1e-9},
        {"crossbar.adc_bits": 8, "crossbar.read_time": 4e-9},
    ]
    assert points[1].overrides == {
        "rng": {"dac_bits": 8},
        "crossbar": {"adc_bits": 6, "read_time": 4e-9, "emulation": "statistical"},
    }
    assert points[1].profile_hash == profiles.resolve("vcma-default", points[1].overrides).hash
    assert [p.index for p in points] == [0, 1, 2, 3]


def test_explicit_points_are_taken_as_listed():
    points = sweep_plan.plan(
        "vcma-default", None, None, None, [{"crossbar.adc_bits": 6}, {"crossbar.read_noise": 0.005}]
    )
    assert [p.overrides for p in points] == [{"crossbar": {"adc_bits": 6}}, {"crossbar": {"read_noise": 0.005}}]


def test_a_points_job_request_is_the_generation_shape_without_the_sweep_fields():
    # the one builder of point jobs, shared by POST /v1/sweeps and `spindiff sweep` (through SweepStore.submit)
    body = {
        "model": "default",
        "profile": "vcma-default",
        "overrides": {"rng": {"dac_bits": 8}},
        "emulation": "statistical",
        "axes": {"crossbar.adc_bits": [6, 8]},
        "points": None,
        "num_images": 4,
        "sampler": "ddpm",
        "steps": 2,
        "eta": 0.0,
        "seed": None,
        "chip_seed": 0,
        "noise": "torch",
        "quality": {"enabled": True},
    }
    (point, _) = sweep_plan.plan("vcma-default", body["overrides"], "statistical", body["axes"], None)
    model = {"id": "default", "sha256": "ab" * 32}
    request = sweep_plan.point_request(body, model, point.overrides, point.profile_hash, 7, {"id": "s", "point": 0})
    assert request == {
        "model": "default",
        "num_images": 4,
        "sampler": "ddpm",
        "steps": 2,
        "eta": 0.0,
        "seed": 7,
        "chip_seed": 0,
        "noise": "torch",
        "quality": {"enabled": True},
        "model_sha256": "ab" * 32,
        "paired": False,
        "preview": False,
        "hardware": {"profile": "vcma-default", "overrides": point.overrides, "profile_hash": point.profile_hash},
        "sweep": {"id": "s", "point": 0},
    }
    request["quality"]["enabled"] = False
    assert body["quality"] == {"enabled": True}  # the body is not shared with the job requests


@pytest.mark.parametrize(
    ("axes", "points", "field", "message"),
    [
        ({"crossbar.adc_bits": [6, -3]}, None, "axes.crossbar.adc_bits", "crossbar.adc_bits = -3: "),
        ({"crossbar.nope": [1]}, None, "axes.crossbar.nope", "unknown key crossbar.nope"),
        ({"adc_bits": [6]}, None, "axes.adc_bits", "'section.key'"),
        ({"crossbar.emulation": ["exact"]}, None, "axes.crossbar.emulation", "the sweep's 'emulation' field"),
        ({"crossbar.adc_bits": []}, None, "axes.crossbar.adc_bits", "non-empty list"),
        ({"crossbar.adc_bits": [6, 6]}, None, "axes.crossbar.adc_bits", "lists a value twice"),
        ({}, None, "axes", "at least one parameter"),
        ({"crossbar.adc_bits": [6]}, [{"crossbar.adc_bits": 6}], "axes", "not both or neither"),
        (None, None, "axes", "not both or neither"),
        (None, [{"crossbar.adc_bits": 6}, {}], "points.1", "non-empty object"),
        (None, [{"crossbar.adc_bits": 6}, {"crossbar.adc_bits": 99}], "points.1.crossbar.adc_bits", "= 99"),
        (None, [{"crossbar.adc_bits": 6}, {"crossbar.adc_bits": 6}], "points", "the same profile"),
        (
            {"crossbar.adc_bits": list(range(2, 15)), "crossbar.read_noise": [0.01 * k for k in range(1, 21)]},
            None,
            "axes",
            "at most 256",
        ),
    ],
)
def test_a_bad_sweep_names_the_field_and_value(axes, points, field, message):
    with pytest.raises(SweepError, match=None) as raised:
        sweep_plan.plan("vcma-default", None, None, axes, points)
    assert raised.value.field == field and message in raised.value.message


def test_the_base_profile_and_overrides_are_checked_first():
    with pytest.raises(SweepError) as raised:
        sweep_plan.plan("software", None, None, {"crossbar.adc_bits": [6]}, None)
    assert raised.value.field == "profile" and "'software' has no parameters" in raised.value.message
    with pytest.raises(SweepError) as raised:
        sweep_plan.plan("vcma-default", {"rng": {"dac_bits": -1}}, None, {"crossbar.adc_bits": [6]}, None)
    assert raised.value.field == "overrides.rng.dac_bits"


def _job(status, fid=None, energy=None, images=4):
    if status != "succeeded":
        return {"status": status, "num_images": images, "telemetry": None, "progress": None, "error": None}
    return {
        "status": "succeeded",
        "num_images": images,
        "progress": {"step": 2, "total": 2},
        "error": None,
        "telemetry": {
            "energy": {
                "images": images,
                "energy_per_image_j": energy,
                "energy_j": {"adc": energy * images * 0.75, "array_read": energy * images * 0.25},
                "area_total_mm2": 11.8,
                "latency_s": {"per_image": 4.5e-4},
                "ratios": {"energy_per_image_gpu_over_chip": {"h100_sxm": 51.0}},
            },
            "quality": {
                "available": True,
                "n": images,
                "batch_fid": {"value": fid},
                "batch_kid": {"mean": 0.1, "std": 0.01},
            },
        },
    }


def _sweep(n):
    return {
        "id": "ab" * 16,
        "created_at": 1.0,
        "cancel_requested": False,
        "request": {"profile": "vcma-default"},
        "points": [
            {"index": k, "values": {"crossbar.adc_bits": 4 + k}, "profile_hash": f"h{k}", "job_id": f"j{k}"}
            for k in range(n)
        ],
    }


def test_results_pareto_front_status_and_csv():
    jobs = [
        _job("succeeded", fid=90.0, energy=1e-5),  # cheapest
        _job("succeeded", fid=95.0, energy=2e-5),  # beaten by point 0 on both: off the front
        _job("succeeded", fid=60.0, energy=5e-5),  # best FID
        _job("succeeded", fid=60.0, energy=6e-5),  # as good, dearer: off the front
    ]
    view = sweep_results.summary(_sweep(4), jobs)
    assert view["status"] == "succeeded" and view["counts"] == {"succeeded": 4}
    assert view["pareto"] == [0, 2]
    first = view["points"][0]["results"]
    assert first["fid"] == 90.0 and first["kid_mean"] == 0.1 and first["energy_per_image_j"] == 1e-5
    assert first["energy_per_image_by_component_j"] == {
        "adc": pytest.approx(0.75e-5),
        "array_read": pytest.approx(0.25e-5),
    }
    assert view["points"][0]["job_url"] == "/v1/generations/j0" and view["axes"] == ["crossbar.adc_bits"]
    rows = list(csv.DictReader(io.StringIO(sweep_results.to_csv(view))))
    assert [r["crossbar.adc_bits"] for r in rows] == ["4", "5", "6", "7"]
    assert [r["pareto"] for r in rows] == ["1", "0", "1", "0"]
    assert (
        float(rows[0]["energy_adc_per_image_j"]) == pytest.approx(0.75e-5)
        and rows[0]["energy_ratio_h100_sxm_over_chip"] == "51.0"
    )


@pytest.mark.parametrize(
    ("statuses", "cancel", "expected"),
    [
        (["queued", "queued"], False, "queued"),
        (["running", "queued"], False, "running"),
        (["succeeded", "queued"], False, "running"),
        (["succeeded", "succeeded"], False, "succeeded"),
        (["succeeded", "failed"], False, "failed"),
        (["succeeded", "cancelled"], True, "cancelled"),
        (["succeeded", None], False, "failed"),  # an expired point job
    ],
)
def test_sweep_status(statuses, cancel, expected):
    assert sweep_results.sweep_status(statuses, cancel) == expected


def test_unfinished_points_have_no_results_and_stay_off_the_front():
    view = sweep_results.summary(_sweep(3), [_job("running"), _job("succeeded", fid=70.0, energy=3e-5), None])
    assert [p["status"] for p in view["points"]] == ["running", "succeeded", "expired"]
    assert view["points"][0]["results"] is None and view["pareto"] == [1]
    assert sweep_results.to_csv(view).count("\n") == 4
