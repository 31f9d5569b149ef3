"""Tests of diffusion/telemetry/report.py (and its energy and quality parts): assembly, schema version, the upgrade of
stored schema-1 reports (the real job records kept in tests/dashboard/data/), tolerance of unknown keys."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from diffusion.telemetry import report as telemetry
from diffusion.telemetry.energy import BaselineEnergy, ChipEnergy
from diffusion.telemetry.quality import KID_SAME_IMAGES_NOTE, KidEstimate

DATA = Path(__file__).resolve().parents[2] / "dashboard" / "data"


def stored(name: str) -> dict:
    """The telemetry of a job stored before schema 2 (no schema_version), as the job store holds it."""
    return json.loads((DATA / f"{name}_job.json").read_text())["telemetry"]


def test_the_fixtures_are_schema_one_reports():
    for name in ("vcma", "software", "cancelled"):
        assert "schema_version" not in stored(name)


def test_a_stored_chip_report_of_schema_one_is_upgraded_on_reading():
    old = stored("vcma")
    report = telemetry.load(old)
    assert report.schema_version == telemetry.SCHEMA_VERSION == 2 and report.upgraded_from == 1
    energy = report.energy
    assert isinstance(energy, ChipEnergy) and energy.kind == "chip"
    assert energy.energy_per_image_j == old["energy"]["energy_per_image_j"]
    assert (
        energy.energy_j.adc == old["energy"]["energy_j"]["adc"]
        and energy.area_um2.rng == old["energy"]["area_um2"]["rng"]
    )
    assert energy.ratio_ranges is None  # schema 1 never recorded them: not invented
    # extras device/ wrote are kept as they were
    assert energy.counts == old["energy"]["counts"] and energy.assumptions == old["energy"]["assumptions"]
    assert telemetry.dump(report)["energy"]["rng_detail"]["per_action_j"] == old["energy"]["rng_detail"]["per_action_j"]
    assert json.dumps(telemetry.dump(report)["energy"]["counts"]) == json.dumps(
        old["energy"]["counts"]
    )  # integers stay integers
    # the bit-area metric is derived from what schema 1 stored: the same ratios, both bases
    metric = energy.energy_per_bit_area
    assert metric.chip_j_mm2 == old["energy"]["rng_detail"]["energy_per_bit_per_area_j_mm2"]
    assert metric.chip_area_mm2 == pytest.approx(old["energy"]["area_um2"]["rng"] * 1e-6, rel=1e-12)
    for key, ratios in old["energy"]["ratios"]["energy_per_bit_per_area_gpu_over_chip"].items():
        assert metric.accelerators[key].full_die.gpu_over_chip == ratios["full_die"]
        assert metric.accelerators[key].rng_time_share.gpu_over_chip == ratios["rng_time_share"]
    a100 = old["energy"]["baseline"]["accelerators"]["a100_sxm"]
    assert metric.accelerators["a100_sxm"].rng_time_share.area_mm2 == pytest.approx(
        a100["die_area_mm2"] * a100["rng_time_fraction"]
    )
    assert "energy per bit per area" in metric.definition and "Cheng" in metric.citation
    assert (
        report.programming.kind == "chip" and report.programming.energy_per_bit_area is None
    )  # not an inference phase


def test_a_stored_software_and_a_cancelled_report_are_upgraded():
    software = telemetry.load(stored("software"))
    assert (
        isinstance(software.energy, BaselineEnergy)
        and software.energy.baseline.accelerators["tpu_v4"].die_area_mm2 == 600.0
    )
    assert software.quality.available is False and "reference statistics" in software.quality.reason
    cancelled = telemetry.load(stored("cancelled"))
    assert cancelled.cancelled.steps_done == 3 and cancelled.cancelled.total == 300 and cancelled.energy.kind == "chip"


def test_reading_is_idempotent_and_a_dump_round_trips():
    once = telemetry.dump(telemetry.load(stored("vcma")))
    assert once["schema_version"] == 2 and once["upgraded_from"] == 1 and once["energy"]["kind"] == "chip"
    assert telemetry.dump(telemetry.load(once)) == once
    assert json.loads(json.dumps(once)) == once  # JSON-ready as stored


def test_assembled_reports_carry_the_current_schema_version_and_are_not_marked_upgraded():
    old = stored("vcma")
    parts = {key: old[key] for key in ("request", "timings", "energy", "programming", "noise_samples", "workload")}
    made = telemetry.generation_telemetry(**parts)
    assert made["schema_version"] == 2 and made["upgraded_from"] is None and made["energy"]["kind"] == "chip"
    assert telemetry.dump(telemetry.new(cancelled={"steps_done": 0, "total": 4}))["upgraded_from"] is None
    software = telemetry.generation_telemetry(request=parts["request"], timings={}, energy=stored("software")["energy"])
    assert software["energy"]["kind"] == "gpu_baseline" and "energy_j" not in software["energy"]


def test_with_quality_adds_the_block_and_its_time():
    made = telemetry.generation_telemetry(request=stored("vcma")["request"], timings={"sampling_s": 1.0}, energy=None)
    quality = {
        "n": 16,
        "batch_fid": {"value": 150.0, "n": 16, "reference_n": 10000, "note": "small n"},
        "batch_kid": {"mean": 0.05, "std": 0.01, "subsets": 100, "subset_size": 16},
        "fid_calibrated": {"value": 89.7, "n": 500, "source": "table"},
    }
    done = telemetry.with_quality(made, quality, 2.5)
    assert done["timings"] == {**done["timings"], "sampling_s": 1.0, "quality_s": 2.5}
    kid = done["quality"]["batch_kid"]
    assert kid["n"] == 16 and kid["interval"] == {
        "low": pytest.approx(0.04),
        "high": pytest.approx(0.06),
        "kind": "mean ± 1 std over 100 KID subsets",
    }
    assert kid["note"] == KID_SAME_IMAGES_NOTE  # subset size = N
    # a schema-1 quality block (no fid_at_n) gives its calibrated FID as the one point it knows, with its N
    assert done["quality"]["fid_at_n"] == [{**done["quality"]["fid_at_n"][0], "n": 500, "value": 89.7, "sd": None}]


def test_kid_interval_and_the_subset_note():
    kid = KidEstimate(mean=-0.002, std=0.004, subsets=50, subset_size=100, n=500)
    assert kid.interval.low == pytest.approx(-0.006) and kid.interval.high == pytest.approx(0.002) and kid.note == ""
    assert KidEstimate(mean=None, std=None).interval is None


def test_unknown_keys_and_newer_schema_versions_are_kept():
    newer = copy.deepcopy(stored("vcma"))
    newer.update(schema_version=3, a_block_from_the_future={"x": 1})
    newer["energy"].update(kind="chip", a_new_device_field=[1, 2])
    report = telemetry.load(newer)
    assert report.schema_version == 3 and report.upgraded_from is None
    dumped = telemetry.dump(report)
    assert dumped["a_block_from_the_future"] == {"x": 1} and dumped["energy"]["a_new_device_field"] == [1, 2]


def test_a_malformed_report_is_refused_naming_the_field():
    bad = copy.deepcopy(stored("vcma"))
    bad["energy"]["energy_per_image_j"] = "a lot"
    with pytest.raises(ValidationError, match="energy_per_image_j"):
        telemetry.load(bad)


def test_headline_gives_ranges_kid_with_n_and_fids_by_n():
    old = telemetry.headline(telemetry.load(stored("vcma")))
    assert (
        old["energy_per_image_gpu_over_chip"]["a100_sxm"]["low"] is None
        and "before schema 2" in old["ratio_assumptions"]
    )
    assert old["energy_per_bit_per_area"]["gpu_over_chip"]["a100_sxm"]["full_die"] > 1


def test_the_models_import_without_torch_or_numpy():
    code = "import sys, diffusion.telemetry.report; print([m for m in ('torch', 'numpy', 'numba') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
