"""Tests of app/cli.py: every command prints what it promises; bad input exits 2 with a message."""

import json
import subprocess
import sys

import pytest

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


def test_bench_rng_reports_a_ratio(capsys):
    code, out, _ = run(capsys, "bench", "rng", "--samples", "200000", "--repeats", "2", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["ratio_mtj_over_numpy"] > 0
    assert result["mtj_samples_per_second"] > 0 and result["numpy_samples_per_second"] > 0


def test_physics_check_small_run(capsys):
    code, out, _ = run(capsys, "physics-check", "--trials", "50", "--json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert {r["sweep"] for r in rows} == {"thermal", "hard_axis"} and len(rows) == 16


def test_cli_module_does_not_import_torch_or_numba():
    # the API process imports app/; it must stay light (docs/architecture.md)
    code = "import sys, app.cli; print(sorted(m for m in ('torch', 'numba') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "app.cli", "profiles"], capture_output=True, text=True)
    assert out.returncode == 0 and "vcma-default" in out.stdout


@pytest.mark.parametrize("argv", [["bench"], ["profiles", "frobnicate"], []])
def test_argument_errors_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2


def test_cost_prints_a_report(capsys):
    code, out, _ = run(capsys, "cost", "--profile", "vcma-default", "--steps", "1", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["profile"] == "vcma-default"
    assert set(report["energy_j"]) >= {"array_read", "adc", "dac", "rng", "digital"}
    assert report["area_total_mm2"] > 0 and report["latency_s"]["per_image"] > 0
    a100 = report["ratio_ranges"]["energy_per_image_gpu_over_chip"]["a100_sxm"]
    assert (
        a100["low"] < a100["headline"] == report["ratios"]["energy_per_image_gpu_over_chip"]["a100_sxm"] < a100["high"]
    )


def test_bench_crossbar_small(capsys):
    code, out, _ = run(
        capsys,
        "bench",
        "crossbar",
        "--profiles",
        "ideal,vcma-lowbit",
        "--size",
        "64",
        "--batch",
        "8",
        "--repeats",
        "1",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    errors = {row["profile"]: row["relative_error"] for row in result["profiles"]}
    assert errors["ideal"] < 1e-12 and errors["vcma-lowbit"] > 0.01
    assert "available" in result["aihwkit"]
    engines = {row["profile"]: row for row in result["profiles"]}
    assert (
        engines["ideal"]["exact_torch_relative_error"] < 1e-6 and engines["ideal"]["statistical_relative_error"] < 1e-6
    )
    assert engines["vcma-lowbit"]["statistical_seconds"] > 0 and engines["vcma-lowbit"]["exact_torch_seconds"] > 0
