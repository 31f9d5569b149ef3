"""Tests of app/cli/sweep.py: ``spindiff sweep`` end to end on a tiny model (``model_dir``, conftest.py).

Two points (ADC bits 6 and 8) of 2 images and 2 DDPM steps each, run through the service's code path
(embedded Redis, the job store, `worker.runner.run_job`); the files it writes are the service's
(sweep.json is ``GET /v1/sweeps/{id}``, sweep.csv its CSV). The ``--jobs 1`` sweep (`sweep_1`, run
once for the module) scores its batches with the cheap stand-ins of tests/app/test_cli_generate.py
for the Inception features and the reference statistics. ``--jobs 2`` runs in spawned processes,
which do not see those stand-ins, so it runs without reference statistics and is compared with
``--jobs 1`` on everything else: images pixel for pixel, energies, area, latency, ratios (the batch
FID and KID are functions of the images; at equal threads per process, one here, they are identical
too, docs/serving.md).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from app import cli
from app.api.sweep_schemas import SweepCreate
from app.cli import sweep as sweep_cli
from diffusion.metrics import fid_kid, inception
from tests.app.test_cli_generate import fake_features

AXIS = "crossbar.adc_bits"
QUALITY_FIELDS = ("n", "fid", "kid_mean", "kid_std", "quality_available")  # n: the N of the quality block


def sweep_argv(model_dir, out, *extra) -> list[str]:
    return [
        *f"sweep --profile vcma-default --num-images 2 --steps 2 --sampler ddpm --seed 0 --out {out}".split(),
        *("--model", str(model_dir)),
        *extra,
    ]


def run(capsys, argv):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def read(out):
    return json.loads((out / "sweep.json").read_text()), list(
        csv.DictReader(io.StringIO((out / "sweep.csv").read_text()))
    )


def grid_pixels(path):
    return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def sweep_1(model_dir, tmp_path_factory):
    """(exit code, stdout, stderr, out dir) of the two-point sweep with ``--jobs 1``, its batches scored against
    64 random reference "images" with the pixel-statistics features of tests/app/test_cli_generate.py."""
    root = tmp_path_factory.mktemp("sweep-1")
    feats = np.random.default_rng(0).random((64, 56))
    mu, sigma = fid_kid.gaussian_stats(feats)
    ref = fid_kid.ReferenceStats(mu, sigma, feats, {"n": 64})
    (root / "stats.npz").write_bytes(b"placeholder")  # exists; loading is replaced
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inception, "features", fake_features)
        patch.setattr("diffusion.metrics.reference_stats.load_reference", lambda path: ref)
        argv = sweep_argv(model_dir, root / "out", "--axis", f"{AXIS}=6,8", "--reference", str(root / "stats.npz"))
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = cli.main(argv)
    return code, stdout.getvalue(), stderr.getvalue(), root / "out"


def test_a_tiny_sweep_writes_the_services_json_csv_and_grids(sweep_1):
    code, printed, err, out = sweep_1
    assert code == 0, err
    assert json.loads(printed)["files"] == ["sweep.json", "sweep.csv", "point-0.png", "point-1.png"]
    view, rows = read(out)
    assert view["status"] == "succeeded" and view["counts"] == {"succeeded": 2} and view["axes"] == [AXIS]
    low, high = (p["results"] for p in view["points"])
    assert [p["values"] for p in view["points"]] == [{AXIS: 6}, {AXIS: 8}]
    # more ADC bits cost more ADC energy: the points differ by their chip only
    assert high["energy_per_image_by_component_j"]["adc"] > low["energy_per_image_by_component_j"]["adc"]
    assert high["energy_per_image_j"] > low["energy_per_image_j"]
    # the worker's quality block, at the point's N
    assert low["quality_available"] and low["n"] == 2 and low["fid"] > 0 and high["kid_mean"] is not None
    # the CSV is the JSON, row for row
    assert [int(r["point"]) for r in rows] == [0, 1] and [int(r[AXIS]) for r in rows] == [6, 8]
    for row, point in zip(rows, view["points"]):
        r = point["results"]
        assert row["status"] == "succeeded" and row["job_id"] == point["job_id"]
        assert row["profile_hash"] == point["profile_hash"] and int(row["n"]) == r["n"]
        assert float(row["fid"]) == r["fid"] and float(row["energy_per_image_j"]) == r["energy_per_image_j"]
        assert float(row["energy_adc_per_image_j"]) == r["energy_per_image_by_component_j"]["adc"]
        assert int(row["pareto"]) == (point["index"] in view["pareto"])
    assert grid_pixels(out / "point-0.png").ndim >= 2
    # the sweep's body is one POST /v1/sweeps accepts, with the seed and model it ran with
    request = dict(view["request"])
    assert request.pop("model_sha256") and request["model"] == "default" and request["seed"] == 0
    assert SweepCreate.model_validate(request).model_dump(mode="json") == request
    assert "point" in err and AXIS in err  # the table on stderr


def test_jobs_2_gives_the_results_of_jobs_1(capsys, tmp_path, model_dir, sweep_1):
    out = tmp_path / "jobs-2"
    argv = sweep_argv(model_dir, out, "--point", f"{AXIS}=6", "--point", f"{AXIS}=8", "--jobs", "2")
    code, printed, err = run(capsys, [*argv, "--reference", str(tmp_path / "no-stats.npz")])
    assert code == 0, err
    assert json.loads(printed)["processes"] == 2
    one, two = read(sweep_1[3])[0], read(out)[0]
    assert two["status"] == "succeeded" and two["axes"] == [AXIS]
    assert [p["profile_hash"] for p in two["points"]] == [p["profile_hash"] for p in one["points"]]

    def results(view):
        return [{k: v for k, v in p["results"].items() if k not in QUALITY_FIELDS} for p in view["points"]]

    assert results(two) == results(one)
    assert two["points"][0]["results"]["quality_available"] is False  # no reference statistics there
    for k in (0, 1):
        assert np.array_equal(grid_pixels(sweep_1[3] / f"point-{k}.png"), grid_pixels(out / f"point-{k}.png"))


@pytest.mark.parametrize(
    "args, message",
    [
        ((f"{AXIS}=6,99",), f"--axis {AXIS}: {AXIS} = 99: "),
        ((f"{AXIS}=6,",), f"--axis {AXIS}: axis '{AXIS}' has an empty value"),
        ((f"{AXIS}=6", f"{AXIS}=8"), f"--axis {AXIS}: axis '{AXIS}' is given twice"),
        (("crossbar.bogus=1",), "--axis crossbar.bogus: crossbar.bogus = 1: unknown key crossbar.bogus"),
        (("adc_bits=6",), "a sweep parameter is 'section.key'"),
        ((AXIS,), f"--axis {AXIS}: '{AXIS}' is not 'section.key=v1,v2,...'"),
    ],
)
def test_a_bad_axis_exits_2_naming_the_axis_and_value(capsys, tmp_path, model_dir, args, message):
    axes = [a for value in args for a in ("--axis", value)]
    code, printed, err = run(capsys, sweep_argv(model_dir, tmp_path / "out", *axes))
    assert code == 2 and printed == "" and err.startswith("spindiff: error: ") and message in err
    assert not (tmp_path / "out").exists()  # refused before anything ran


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--axis", f"{AXIS}=6", "--point", f"{AXIS}=8"), "give either --axis (a grid) or --point"),
        ((), "give --axis"),
        (("--point", f"{AXIS}=6,crossbar.read_time"), "--point #0: 'crossbar.read_time' in"),
        (("--point", f"{AXIS}=6", "--point", f"{AXIS}=1"), f"--point #1 ({AXIS}): {AXIS} = 1: "),
        (("--axis", f"{AXIS}=6", "--num-images", "0"), "num_images must be an integer in [1, 1024], got 0"),
        (("--axis", f"{AXIS}=6", "--steps", "0"), "steps must be a positive integer, got 0"),
        (("--axis", f"{AXIS}=6", "--eta", "0.5"), "eta applies to the ddim sampler only"),
        (("--axis", f"{AXIS}=6", "--seed", "-1"), "seed must be a non-negative 64-bit integer, got -1"),
        (("--axis", f"{AXIS}=6", "--profile", "software"), "--profile: unknown profile 'software'"),
        (("--axis", f"{AXIS}=6", "--model", "nonesuch"), "--model: unknown model 'nonesuch'"),
    ],
)
def test_other_refusals_exit_2_with_the_option(capsys, tmp_path, model_dir, extra, message):
    code, printed, err = run(capsys, sweep_argv(model_dir, tmp_path / "out", *extra))
    assert code == 2 and printed == "" and message in err, err


def test_values_parse_as_int_then_float_then_bool_else_string():
    assert [sweep_cli.parse_value(v) for v in ("6", "-2", "1e-9", "0.5", "true", "False", "exact")] == [
        6,
        -2,
        1e-9,
        0.5,
        True,
        False,
        "exact",
    ]
    assert type(sweep_cli.parse_value("6")) is int and type(sweep_cli.parse_value("6.0")) is float
    assert sweep_cli.parse_axes([f"{AXIS}=4, 6,8", "crossbar.read_time=1e-9,4e-9"]) == {
        AXIS: [4, 6, 8],
        "crossbar.read_time": [1e-9, 4e-9],
    }
    assert sweep_cli.parse_points([f"{AXIS}=6,crossbar.ir_drop=false"]) == [{AXIS: 6, "crossbar.ir_drop": False}]


def test_ctrl_c_writes_the_points_done_and_cancels_the_rest(capsys, tmp_path, model_dir, monkeypatch):
    import worker.runner

    real, calls = worker.runner.run_job, []

    def interrupt_the_second(job_id, runtime):
        calls.append(job_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job_id, runtime)

    monkeypatch.setattr(worker.runner, "run_job", interrupt_the_second)
    out = tmp_path / "out"
    argv = sweep_argv(model_dir, out, "--axis", f"{AXIS}=6,8", "--reference", str(tmp_path / "none.npz"))
    code, printed, err = run(capsys, argv)
    assert code == 130 and "interrupted" in err
    view, rows = read(out)
    assert view["status"] == "cancelled" and view["cancel_requested"] is True
    assert [p["status"] for p in view["points"]] == ["succeeded", "cancelled"]
    assert [r["status"] for r in rows] == ["succeeded", "cancelled"]
    assert (out / "point-0.png").is_file() and not (out / "point-1.png").exists()
