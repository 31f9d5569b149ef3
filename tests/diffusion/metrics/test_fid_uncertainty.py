"""Tests of diffusion/metrics/fid_uncertainty.py: FIDs by N with their seed-set spread; software only at the chip's N."""

from __future__ import annotations

import statistics

import pytest

from diffusion.metrics import fid_uncertainty, large_n_fids
from diffusion.metrics.per_request import measured_fids, quoted_label

SHA = "ab" * 32
#: the model shipped before the 30 000-step one; the shipped FID table keeps its entries
SHIPPED_SHA = "b0fa69e64cb54501279ff36db3bad1a70b9b74e85dc2c1d96ed4c168dc2ddca6"
SOFTWARE_500 = [62.4, 59.8, 61.6, 61.3, 59.5]


@pytest.fixture()
def files(tmp_path):
    path = tmp_path / "table.json"
    ref = {"dataset": "fashion-mnist", "split": "test", "n": 10000}

    def add(profile, n, fid, seed, **extra):
        row = {"profile": profile, "n": n, "steps": 10, "sampler": "ddpm", "seed": seed, "batch": 50, "fid": fid}
        large_n_fids.record({**row, **extra}, SHA, 0.0, ref, path, source=f"set {seed}")

    add("software", 10000, 38.7, 0, kid_mean=0.031, kid_std=0.0014)
    for k, value in enumerate(SOFTWARE_500):
        add("software", 500, value, 1000 * k, kid_mean=0.03, kid_std=0.002)
    add("chip", 500, 89.7, 0)
    add("chip", 500, 91.0, 500)
    return {"table_path": path}


def points(profile, files):
    return fid_uncertainty.fid_points(SHA, "ddpm", 10, 0.0, profile, **files)


def test_software_has_one_point_per_n_with_its_own_spread_where_measured(files):
    at_500, at_10k = points("software", files)
    assert (at_500["n"], at_10k["n"]) == (500, 10000)
    assert at_500["value"] == pytest.approx(statistics.fmean(SOFTWARE_500)) and at_500["sets"] == 5
    assert (
        at_500["sd"] == pytest.approx(statistics.stdev(SOFTWARE_500))
        and "this configuration's 5 seed sets" in at_500["sd_basis"]
    )
    assert at_500["range"] == [59.5, 62.4] and at_500["interval"]["low"] == pytest.approx(
        at_500["value"] - at_500["sd"]
    )
    assert (
        at_10k["value"] == 38.7
        and at_10k["sd"] is None
        and at_10k["interval"] is None
        and "not measured" in at_10k["sd_basis"]
    )


def test_a_configuration_with_few_sets_borrows_softwares_spread_at_the_same_n_and_says_so(files):
    (chip,) = points("chip", files)
    assert (
        chip["n"] == 500
        and chip["sets"] == 2
        and chip["value"] == pytest.approx(90.35)
        and chip["range"] == [89.7, 91.0]
    )
    assert chip["sd"] == pytest.approx(statistics.stdev(SOFTWARE_500)) and chip["sd_basis"].startswith("software's")


def test_software_is_given_only_at_the_chips_n(files):
    software = fid_uncertainty.software_points(SHA, "ddpm", 10, 0.0, [500], **files)
    assert [p["n"] for p in software] == [500]  # never its N = 10 000 FID beside a chip's N = 500
    assert fid_uncertainty.software_points(SHA, "ddpm", 10, 0.0, [128], **files) == []


def test_every_value_carries_its_seed_set(files):
    (chip,) = points("chip", files)
    assert chip["seed_sets"] == [
        {"seed": 0, "batch": 50, "images": None, "noise": "torch"},
        {"seed": 500, "batch": 50, "images": None, "noise": "torch"},
    ]
    assert chip["values"] == [89.7, 91.0] and chip["sources"] == ["set 0", "set 500"]


def test_an_unknown_configuration_has_no_points(files):
    assert points("nothing", files) == []


def test_the_shipped_tables_put_software_beside_vcma_default_at_n_500_only():
    measured = measured_fids(SHIPPED_SHA, "ddpm", 10, 0.0, "vcma-default")
    assert [p["n"] for p in measured["fid_at_n"]] == [500] and [p["n"] for p in measured["software_at_same_n"]] == [500]
    software = measured["software_at_same_n"][0]
    assert software["sets"] == 5 and 59.0 < software["value"] < 63.0 and 1.0 < software["sd"] < 1.5
    own = measured_fids(SHIPPED_SHA, "ddpm", 10, 0.0, "software")
    assert [p["n"] for p in own["fid_at_n"]] == [500, 10000] and own["software_at_same_n"] == []


def test_an_unmeasured_exact_mode_quotes_its_statistical_twin_and_says_so(tmp_path):
    path = tmp_path / "table.json"
    ref = {"dataset": "fashion-mnist", "split": "test", "n": 10000}
    row = {"n": 500, "steps": 50, "sampler": "ddpm", "seed": 0, "batch": 50, "kid_mean": 0.01, "kid_std": 0.001}
    large_n_fids.record({**row, "profile": "software", "fid": 36.0}, SHA, 0.0, ref, path)
    large_n_fids.record({**row, "profile": "vcma-default/statistical", "fid": 40.0}, SHA, 0.0, ref, path)
    exact = measured_fids(SHA, "ddpm", 50, 0.0, "vcma-default", table_path=path)
    assert [(p["n"], p["value"], p["emulation"]) for p in exact["fid_at_n"]] == [(500, 40.0, "statistical")]
    assert [p["value"] for p in exact["software_at_same_n"]] == [36.0]
    assert "not measured in the exact mode" in exact["fid_at_n_note"]
    statistical = measured_fids(SHA, "ddpm", 50, 0.0, "vcma-default/statistical", table_path=path)
    assert statistical["fid_at_n"][0]["emulation"] == "statistical" and "fid_at_n_note" not in statistical
    # once the exact mode is measured, it is quoted itself
    large_n_fids.record({**row, "profile": "vcma-default", "fid": 41.0}, SHA, 0.0, ref, path)
    exact = measured_fids(SHA, "ddpm", 50, 0.0, "vcma-default", table_path=path)
    assert [(p["value"], p["emulation"]) for p in exact["fid_at_n"]] == [(41.0, "exact")]
    assert "fid_at_n_note" not in exact
    # nothing for another profile in either mode: nothing quoted
    assert measured_fids(SHA, "ddpm", 50, 0.0, "vcma-precise", table_path=path)["fid_at_n"] == []
    assert quoted_label(SHA, "ddpm", 50, 0.0, "software", path) == "software"
