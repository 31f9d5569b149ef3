"""Tests of app/cli/emulator.py: profiles, rng-test and physics-check print what they promise; bad input exits 2."""

import json

from app import cli
from device import profiles


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_profiles_lists_every_preset(capsys):
    code, out, _ = run(capsys, "profiles")
    assert code == 0
    for name in profiles.PROFILES:
        assert name in out
    code, out, _ = run(capsys, "profiles", "--json")
    assert {p["name"] for p in json.loads(out)} == set(profiles.PROFILES)


def test_profiles_show_prints_the_full_json(capsys):
    code, out, _ = run(capsys, "profiles", "show", "vcma-default")
    assert code == 0
    assert profiles.profile_from_json(out) == profiles.get_profile("vcma-default")


def test_profiles_show_without_a_name_exits_2(capsys):
    code, out, err = run(capsys, "profiles", "show")
    assert code == 2 and out == "" and "profiles show needs a profile NAME" in err


def test_unknown_profile_is_a_clear_error(capsys):
    code, out, err = run(capsys, "profiles", "show", "nope")
    assert code == 2 and out == ""
    assert "unknown profile 'nope'" in err and "vcma-default" in err


def test_rng_test_prints_one_json_object_with_the_promised_fields(capsys):
    code, out, _ = run(
        capsys, "rng-test", "--profile", "vcma-default", "--bits", "100000", "--samples", "100000", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["profile"] == "vcma-default" and report["bits"] == 100000
    assert len(report["tests"]) >= 8
    for test in report["tests"]:
        assert set(test) == {"name", "p_value", "passed"} and 0.0 <= test["p_value"] <= 1.0
    assert set(report["gaussian"]) >= {"method", "ks_p", "kurtosis"}
    assert abs(report["bias"]) < 0.01
    assert report["bits_per_second"] > 1e9  # 1024 devices / 95 ns cycle
    assert report["counters"]["cycles"] > 0


def test_rng_test_uncalibrated_reports_failure_but_exits_zero(capsys):
    code, out, _ = run(capsys, "rng-test", "--profile", "vcma-uncalibrated", "--bits", "100000", "--samples", "10000")
    assert code == 0
    report = json.loads(out)
    frequency = next(t for t in report["tests"] if t["name"] == "frequency")
    assert not frequency["passed"] and not report["all_passed"]


def test_rng_test_rejects_too_few_bits(capsys):
    code, _, err = run(capsys, "rng-test", "--bits", "10")
    assert code == 2 and "--bits" in err


def test_physics_check_small_run(capsys):
    code, out, _ = run(capsys, "physics-check", "--trials", "50", "--json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert {r["sweep"] for r in rows} == {"thermal", "hard_axis"} and len(rows) == 16
