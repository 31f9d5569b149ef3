"""What the dashboard reads from a job's JSON (telemetry.py) and draws of it (figures.py), on the
records of real jobs kept in tests/dashboard/data/ (a vcma-default, a software and a cancelled job)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.api.schemas import GenerationCreate
from app.dashboard import figures, telemetry
from diffusion.generation.sampler_names import SAMPLERS

DATA = Path(__file__).parent / "data"


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}_job.json").read_text())


def test_energy_components_cover_the_whole_inference_energy():
    job = load("vcma")
    view = telemetry.energy_view(job)
    assert view["chip"] and view["images"] == 2
    assert [c["label"] for c in view["components"]] == ["array reads", "ADC", "DAC", "shift-add", "digital", "RNG"]
    assert sum(c["j_per_image"] for c in view["components"]) == pytest.approx(view["energy_per_image_j"], rel=1e-9)
    assert sum(c["share"] for c in view["components"]) == pytest.approx(1.0, rel=1e-9)
    assert sum(a["mm2"] for a in view["area"]) == pytest.approx(view["area_total_mm2"], rel=1e-9)
    assert [o["key"] for o in view["one_off"]] == ["programming", "rng_calibration"]


def test_accelerator_ratios_are_their_energy_over_the_chips():
    view = telemetry.energy_view(load("vcma"))
    rows = {a["key"]: a for a in view["accelerators"]}
    assert list(rows) == ["a100_sxm", "h100_sxm", "tpu_v4"]
    for row in rows.values():
        assert row["energy_ratio"] == pytest.approx(row["energy_per_image_j"] / view["energy_per_image_j"], rel=1e-9)
        assert row["latency_ratio"] == pytest.approx(row["time_per_image_s"] / view["latency"]["per_image"], rel=1e-9)


def test_software_job_has_only_the_gpu_baseline():
    view = telemetry.energy_view(load("software"))
    assert not view["chip"] and view["energy_per_image_j"] is None and view["components"] == [] and view["area"] == []
    assert len(view["accelerators"]) == 3 and all(a["energy_ratio"] is None for a in view["accelerators"])
    assert list(figures.job_figures(view)) == ["energy_vs"]


def test_chip_job_has_all_four_figures_and_cancelled_job_its_partial_ones():
    assert list(figures.job_figures(telemetry.energy_view(load("vcma")))) == [
        "energy_vs",
        "components",
        "area",
        "latency",
    ]
    cancelled = load("cancelled")
    assert cancelled["telemetry"]["cancelled"] == {"steps_done": 3, "total": 300}
    assert list(figures.job_figures(telemetry.energy_view(cancelled))) == ["energy_vs", "components", "area", "latency"]
    assert figures.job_figures(None) == {}


def test_compare_figures_merge_identical_gpu_rows_and_keep_different_ones():
    vcma, software = load("vcma"), load("software")
    same = figures.compare_figures(["#1 a", "#2 b"], [telemetry.energy_view(vcma), telemetry.energy_view(vcma)])
    assert str(same["energy_vs"].svg).count("A100 SXM") == 2  # one bar: its label and its tooltip
    other = json.loads(json.dumps(software))
    for spec in other["telemetry"]["energy"]["baseline"]["accelerators"].values():
        spec["energy_per_image_j"] *= 2
    mixed = figures.compare_figures(["#1 chip", "#2 sw"], [telemetry.energy_view(vcma), telemetry.energy_view(other)])
    assert "A100 SXM (#1)" in str(mixed["energy_vs"].svg) and "A100 SXM (#2)" in str(mixed["energy_vs"].svg)
    assert list(mixed) == ["energy_vs", "components", "area", "latency"]
    assert mixed["components"].legend[1] == ("seg-adc", "ADC")


def test_quality_view_without_reference_statistics_says_why():
    view = telemetry.quality_view(load("vcma"))
    assert view["available"] is False and "no reference statistics" in view["reason"] and view["calibrated"] is None


def test_quality_view_with_batch_scores():
    job = load("vcma")
    job["telemetry"]["quality"] = {
        "n": 2,
        "batch_fid": {"value": 212.5, "n": 2, "reference_n": 10000, "note": "small n"},
        "batch_kid": {"mean": 0.21, "std": 0.02, "subsets": 100, "subset_size": 2},
        "fid_calibrated": {"value": 31.4, "n": 10000, "source": "table", "note": "offline"},
    }
    view = telemetry.quality_view(job)
    assert view["available"] and view["fid"]["value"] == 212.5 and view["fid"]["n"] == 2
    assert view["kid"]["mean"] == 0.21 and view["calibrated"]["value"] == 31.4 and view["calibrated"]["n"] == 10000


def test_rerun_body_is_the_exact_request_with_seeds_beyond_2_to_the_53():
    job = load("vcma")
    job["request"]["seed"] = 2**63 - 25
    job["request"]["chip_seed"] = 2**53 + 1
    job["request"]["hardware"]["overrides"] = {"crossbar": {"adc_bits": 6}}
    text = telemetry.rerun_body(job)
    assert f'"seed": {2**63 - 25}' in text and f'"chip_seed": {2**53 + 1}' in text
    body = GenerationCreate.model_validate_json(text)  # the API accepts it as it is
    assert body.seed == 2**63 - 25 and body.chip_seed == 2**53 + 1
    assert body.model == job["request"]["model_sha256"]  # the exact weights, not whatever 'default' is later
    assert body.hardware.profile == "vcma-default" and body.hardware.overrides == {"crossbar": {"adc_bits": 6}}
    assert (body.num_images, body.steps, body.sampler, body.eta, body.preview) == (2, 3, "ddpm", 0.0, True)


def test_summary_and_record_keep_seeds_as_text():
    job = load("vcma")
    job["request"]["seed"] = job["reproducibility"]["seed"] = 2**63 - 1
    assert telemetry.summary(job)["seed"] == str(2**63 - 1)
    record = telemetry.record_view(job)
    assert record["seed"] == str(2**63 - 1) and record["profile_hash"] == job["reproducibility"]["profile_hash"]
    assert json.loads(record["profile_json"])["crossbar"]["adc_bits"] == 8


@pytest.mark.parametrize("sampler", [*SAMPLERS, "no-such-sampler"])
def test_eta_is_shown_for_the_samplers_of_the_registry_that_take_it(sampler):
    job = load("vcma")
    job["request"].update(sampler=sampler, eta=0.5)
    job["reproducibility"]["sampler"].update(name=sampler, eta=0.5)
    takes_eta = sampler in SAMPLERS and SAMPLERS[sampler].takes_eta
    assert ("η=0.5" in telemetry.summary(job)["sampler_text"]) == takes_eta
    assert telemetry.record_view(job)["takes_eta"] == takes_eta


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9, 10, 16, 17, 64])
def test_grid_geometry_matches_the_grid_the_worker_draws(n):
    from diffusion.generation import images as image_io

    pictures = np.stack([np.full((28, 28), k + 1, dtype=np.uint8) for k in range(n)])
    grid = image_io.grid(pictures)
    geometry = telemetry.grid_geometry({"request": {"num_images": n}})
    assert (geometry["height"], geometry["width"]) == grid.shape
    for cell in geometry["cells"]:
        y, x, size = cell["y"], cell["x"], geometry["size"]
        assert (grid[y : y + size, x : x + size] == cell["index"] + 1).all()
