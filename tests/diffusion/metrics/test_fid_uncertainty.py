"""Tests of diffusion/metrics/fid_uncertainty.py: FIDs by N with their seed-set spread; software only at the chip's N."""

from __future__ import annotations

import json
import statistics

import pytest

from device.errors import InputError
from diffusion.metrics import fid_uncertainty, large_n_fids
from diffusion.metrics.per_request import measured_fids

SHA = "ab" * 32
SHIPPED_SHA = "b0fa69e64cb54501279ff36db3bad1a70b9b74e85dc2c1d96ed4c168dc2ddca6"
SOFTWARE_500 = [62.4, 59.8, 61.6, 61.3, 59.5]


@pytest.fixture()
def files(tmp_path):
    key = lambda profile: large_n_fids.key(SHA, "ddpm", 10, 0.0, profile)  # noqa: E731
    table = {
        key("software"): {"fid": 38.7, "n": 10000, "kid_mean": 0.031, "kid_std": 0.0014},
        key("chip"): {"fid": 89.7, "n": 500, "kid_mean": 0.058, "kid_std": 0.0024},
        key("stale"): {"fid": 70.0, "n": 500},
    }
    sets = {
        "_about": "test",
        key("software"): [
            {"n": 500, "fid": v, "kid_mean": 0.03, "kid_std": 0.002, "source": f"set {k}"}
            for k, v in enumerate(SOFTWARE_500)
        ],
        key("chip"): [{"n": 500, "fid": 89.7, "source": "a"}, {"n": 500, "fid": 91.0, "source": "b"}],
        key("stale"): [
            {"n": 500, "fid": 81.6, "source": "an older chip"},
            {"n": 500, "fid": 81.4, "source": "an older chip"},
        ],
    }
    (tmp_path / "table.json").write_text(json.dumps(table))
    (tmp_path / "sets.json").write_text(json.dumps(sets))
    return {"table_path": tmp_path / "table.json", "sets_path": tmp_path / "sets.json"}


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


def test_sets_of_a_re_measured_configuration_are_dropped(files):
    (stale,) = points("stale", files)
    assert stale["values"] == [70.0] and stale["sources"] == ["diffusion/assets/fid_table.json"]


def test_an_unknown_configuration_has_no_points(files):
    assert points("nothing", files) == []


def test_a_broken_sets_file_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        fid_uncertainty.load_sets(tmp_path / "bad.json")
    assert fid_uncertainty.load_sets(tmp_path / "absent.json") == {}


def test_the_shipped_tables_put_software_beside_vcma_default_at_n_500_only():
    measured = measured_fids(SHIPPED_SHA, "ddpm", 10, 0.0, "vcma-default")
    assert [p["n"] for p in measured["fid_at_n"]] == [500] and [p["n"] for p in measured["software_at_same_n"]] == [500]
    software = measured["software_at_same_n"][0]
    assert software["sets"] == 5 and 59.0 < software["value"] < 63.0 and 1.0 < software["sd"] < 1.5
    own = measured_fids(SHIPPED_SHA, "ddpm", 10, 0.0, "software")
    assert [p["n"] for p in own["fid_at_n"]] == [500, 10000] and own["software_at_same_n"] == []
