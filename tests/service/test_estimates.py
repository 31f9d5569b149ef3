"""worker/estimates.py and metrics_store.record_run: a request's duration from the rates the workers
measured, with the fallback figures before any, and the runner recording a succeeded job's speed.

On the in-process API's Redis (``api``, tests/service/conftest.py); the measured sums are written as a
worker writes them, so each expected value is worked out by hand from them."""

from __future__ import annotations

import pytest

from worker import estimates, metrics_store

CHIP = "m" * 64 + ":" + "h" * 64 + ":0"


def _estimate(api, **changes):
    request = {"profile": "vcma-default", "mode": "statistical", "chip": CHIP, "num_images": 4, "steps": 10}
    return estimates.estimate(api.redis, **{**request, **changes})


def test_before_anything_was_measured_the_documented_figures_are_used(api):
    e = _estimate(api)
    assert e["basis"] == "fallback" and e["jobs"] == 0 and e["setup"] == "program"
    assert e["sampling_s"] == pytest.approx(40 / estimates.FALLBACK_RATES["statistical"])
    assert e["setup_s"] == estimates.FALLBACK_SETUP_S["program"]["statistical"]
    assert e["quality_s"] == estimates.FALLBACK_QUALITY_S
    assert e["seconds"] == pytest.approx(e["setup_s"] + e["sampling_s"] + e["quality_s"] + estimates.FALLBACK_OTHER_S)
    assert e["seconds"] < 30  # the form's first run: seconds, not minutes
    software = _estimate(api, profile="software", mode="software", chip=None, quality=False, paired=False)
    assert software["setup"] is None and software["setup_s"] == 0 and software["quality_s"] == 0
    assert _estimate(api, profile="ideal", mode="exact")["image_steps_per_s"] == 107.0
    paired = _estimate(api, paired=True)
    assert paired["twin_s"] == pytest.approx(40 / estimates.FALLBACK_RATES["software"])


def test_measured_rates_of_the_profile_then_of_the_mode_and_the_chip_once_built(api):
    timings = {"programming_s": 12.0, "chip_load_s": 0.0, "sampling_s": 2.0, "quality_s": 1.6, "total_s": 16.0}
    run = {"image_steps": 160, "duration_s": 17.0, "quality": True, "chip": CHIP, "chip_source": "programmed"}
    metrics_store.record_run(api.redis, "vcma-default", "statistical", timings, run)
    e = _estimate(api)
    assert e["basis"] == "profile" and e["jobs"] == 1
    assert e["image_steps_per_s"] == pytest.approx(80.0)  # 160 image-steps in 2 s
    assert e["sampling_s"] == pytest.approx(0.5) and e["quality_s"] == pytest.approx(1.6)
    assert e["setup"] == "load"  # the chip was built once: the next job loads it
    assert e["setup_s"] == estimates.FALLBACK_SETUP_S["load"]  # no load measured yet
    assert e["other_s"] == pytest.approx(17.0 - 12.0 - 2.0 - 1.6)
    other_chip = _estimate(api, chip="m" * 64 + ":" + "h" * 64 + ":1")
    assert other_chip["setup"] == "program" and other_chip["setup_s"] == pytest.approx(12.0)
    # a disk load measured: its mean; another profile in the same mode: the mode's rates
    metrics_store.record_run(
        api.redis,
        "vcma-lowbit",
        "statistical",
        {"chip_load_s": 1.0, "sampling_s": 2.0},
        {"image_steps": 40, "duration_s": 3.5, "quality": False, "chip": "c:d:0", "chip_source": "disk"},
    )
    assert _estimate(api)["setup_s"] == pytest.approx(1.0)
    mode = _estimate(api, profile="vcma-noisy")
    assert mode["basis"] == "mode" and mode["jobs"] == 2
    assert mode["image_steps_per_s"] == pytest.approx(200 / 4.0)
    assert _estimate(api, mode="exact")["basis"] == "fallback"


def test_the_runner_records_a_succeeded_jobs_speed(api):
    from tests.service.test_runner import run

    job_id, outcome, _ = run(api)
    assert outcome == "succeeded"
    sums, setup, own = metrics_store.run_rates(api.redis, "software", "software")
    assert own and sums["jobs"] == 1 and sums["image_steps"] == 2 * 3  # TINY: 2 images × 3 steps
    assert sums["sampling_s"] == pytest.approx(0.01) and setup == {}
    assert _estimate(api, profile="software", mode="software", chip=None)["basis"] == "profile"
