"""The dashboard's job records in tests/dashboard/data/current/ still have the structure of what the code writes:
tests/dashboard/fixtures.py runs the three jobs again (API → embedded Redis → `worker.runner.run_job` →
`diffusion.generation.generate`, on a tiny model) and compares keys, value types and nesting, not values."""

from __future__ import annotations

import copy

import pytest

from tests.dashboard import fixtures


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> dict[str, dict]:
    return fixtures.make_records(tmp_path_factory.mktemp("dashboard-fixtures"))


@pytest.mark.parametrize("name", fixtures.NAMES)
def test_the_committed_record_has_the_structure_the_code_writes_now(regenerated, name):
    found = fixtures.stale(regenerated).get(name)
    assert not found, (
        f"{fixtures.path(name)} no longer has the structure of a {name} job as the code writes it:\n  "
        + "\n  ".join(found)
        + f"\nRefresh the records with `{fixtures.REFRESH}`, check the dashboard tests, and commit them."
    )


def test_the_regenerated_jobs_are_the_ones_asked_for(regenerated):
    software, vcma, cancelled = (regenerated[name] for name in fixtures.NAMES)
    assert (software["status"], vcma["status"], cancelled["status"]) == ("succeeded", "succeeded", "cancelled")
    assert software["telemetry"]["energy"]["kind"] == "gpu_baseline" and vcma["telemetry"]["energy"]["kind"] == "chip"
    assert vcma["telemetry"]["emulation"]["chip_source"] == "programmed"
    assert cancelled["telemetry"]["cancelled"] == {
        "steps_done": fixtures.CANCEL_AT_STEP,
        "total": fixtures.REQUESTS["cancelled"]["steps"],
        "twin_steps_done": None,
    }
    assert vcma["telemetry"]["quality"]["available"] and vcma["telemetry"]["quality"]["n"] == 2


def test_a_changed_structure_is_named_and_changed_values_are_not():
    record = fixtures.load("vcma")
    same_shape = copy.deepcopy(record)
    same_shape["id"] = "0" * 32
    same_shape["telemetry"]["energy"]["energy_total_j"] *= 3
    same_shape["telemetry"]["timings"]["sampling_s"] = 123.0
    same_shape["images"].append({"index": 2, "url": "/v1/generations/x/images/2.png"})
    assert fixtures.differences(fixtures.shape(record), fixtures.shape(same_shape)) == []

    changed = copy.deepcopy(record)
    del changed["telemetry"]["energy"]["energy_j"]["adc"]
    changed["telemetry"]["energy"]["energy_j"]["adc_total"] = 1.0
    changed["telemetry"]["workload"]["macs_per_image"] = 1.5
    changed["telemetry"]["energy"]["latency_s"] = 0.1
    changed["images"] = [{"index": 0}]
    assert fixtures.differences(fixtures.shape(record), fixtures.shape(changed)) == [
        "images[].url: only in the committed fixture",
        "telemetry.energy.energy_j.adc: only in the committed fixture",
        "telemetry.energy.energy_j.adc_total: only in the code's output",
        "telemetry.energy.latency_s: an object in the committed fixture, float now",
        "telemetry.workload.macs_per_image: int in the committed fixture, float now",
    ]
