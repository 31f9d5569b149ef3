"""Tests of app/cli/generate.py: generate, eval and telemetry end to end on a tiny model (``model_dir``, conftest.py).

Inception is replaced by a cheap deterministic feature map (pixel statistics) so the plumbing is
tested here; tests/diffusion/metrics/test_inception.py tests the real network.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from app import cli
from diffusion.metrics import fid_kid, inception


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fake_features(images, batch_size=50, progress=None):
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1) / 255.0
    return np.concatenate([x[:, ::28], x[:, 14::28]], axis=1)  # 56 "features"


@pytest.fixture()
def reference(monkeypatch, tmp_path) -> Path:
    """A ``--reference`` file whose loading and features are the cheap stand-ins above (64 reference images)."""
    rng = np.random.default_rng(0)
    feats = rng.random((64, 56))
    mu, sigma = fid_kid.gaussian_stats(feats)
    ref = fid_kid.ReferenceStats(mu, sigma, feats, {"n": 64})
    monkeypatch.setattr(inception, "features", fake_features)
    monkeypatch.setattr("diffusion.metrics.reference_stats.load_reference", lambda path: ref)
    path = tmp_path / "stats.npz"
    path.write_bytes(b"placeholder")  # exists; loading is monkeypatched
    return path


def generate_argv(model_dir, out) -> list[str]:
    return [*"generate --profile software --n 3 --steps 2 --out".split(), str(out), "--model", str(model_dir)]


def test_generate_writes_images_and_telemetry(capsys, tmp_path, model_dir):
    missing = tmp_path / "no-stats.npz"
    code = cli.main([*generate_argv(model_dir, tmp_path / "out"), "--reference", str(missing)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert (
        printed["files"] == 5
        and printed["summary"]["schema_version"] == 2
        and "gpu_energy_per_image_j" in printed["summary"]
    )
    telemetry = json.loads((tmp_path / "out" / "telemetry.json").read_text())
    assert telemetry["schema_version"] == 2 and telemetry["energy"]["kind"] == "gpu_baseline"
    quality = telemetry["quality"]  # without reference statistics it says where it looked and how to make them
    assert quality["available"] is False and f"no reference statistics at {missing}" in quality["reason"]
    assert "python -m diffusion.metrics.reference_stats" in quality["reason"]


def test_generate_scores_its_batch_against_the_reference(capsys, tmp_path, model_dir, reference):
    assert cli.main([*generate_argv(model_dir, tmp_path / "out"), "--reference", str(reference)]) == 0
    quality = json.loads((tmp_path / "out" / "telemetry.json").read_text())["quality"]
    # a batch KID and a batch FID labelled with its N = 3, against the reference's N
    assert quality["available"] is True and quality["n"] == 3 and quality["batch_fid"]["n"] == 3
    assert quality["batch_fid"]["reference_n"] == 64 and quality["batch_fid"]["value"] > 0
    assert quality["batch_kid"]["n"] == 3 and quality["batch_kid"]["subset_size"] == 3
    assert quality["reference"]["n"] == 64 and quality["fid_calibrated"]["value"] is None  # a random tiny model


def test_eval_prints_one_row_per_configuration_with_software_first(capsys, tmp_path, model_dir, reference):
    code = cli.main(
        [
            "eval",
            "--profile",
            "ideal",
            "--n",
            "4",
            "--batch",
            "2",
            "--steps",
            "2",
            "--model",
            str(model_dir),
            "--reference",
            str(reference),
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["profile"] for r in rows] == ["software", "ideal"]
    assert all(r["n"] == 4 and r["fid"] >= 0 and r["images_per_second"] > 0 for r in rows)
    assert rows[0]["energy_per_image_j"] is None and rows[1]["energy_per_image_j"] > 0


def test_eval_without_reference_explains(capsys, tmp_path, model_dir):
    code = cli.main(["eval", "--n", "2", "--model", str(model_dir), "--reference", str(tmp_path / "missing.npz")])
    assert code == 2 and "reference_stats" in capsys.readouterr().err


def test_generate_in_statistical_mode_records_the_mode(capsys, tmp_path, model_dir, monkeypatch):
    monkeypatch.setenv("SPINDIFF_DEVICE", "auto")  # --device sets it for the process; restored after the test
    code = cli.main(
        [
            "generate",
            "--profile",
            "vcma-default",
            "--emulation",
            "statistical",
            "--n",
            "2",
            "--steps",
            "2",
            "--model",
            str(model_dir),
            "--out",
            str(tmp_path),
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    telemetry = json.loads((tmp_path / "telemetry.json").read_text())
    assert telemetry["emulation"]["mode"] == "statistical" and telemetry["emulation"]["device"] == "cpu"
    assert telemetry["reproducibility"]["profile"]["crossbar"]["emulation"] == "statistical"


def test_unavailable_device_is_a_clear_error(capsys, tmp_path, model_dir, monkeypatch):
    monkeypatch.setenv("SPINDIFF_DEVICE", "auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without CUDA, GPU or not
    code = cli.main(
        [
            "generate",
            "--profile",
            "ideal",
            "--n",
            "1",
            "--steps",
            "1",
            "--model",
            str(model_dir),
            "--out",
            str(tmp_path),
            "--device",
            "cuda",
        ]
    )
    assert code == 2 and "SPINDIFF_DEVICE='cuda'" in capsys.readouterr().err


def test_generate_paired_with_mtj_noise_writes_the_twin(capsys, tmp_path, model_dir, reference):
    code = cli.main(
        [
            "generate",
            "--profile",
            "ideal",
            "--n",
            "2",
            "--steps",
            "2",
            "--noise",
            "mtj",
            "--paired",
            "--model",
            str(model_dir),
            "--out",
            str(tmp_path),
            "--reference",
            str(reference),
        ]
    )
    assert code == 0
    assert (
        json.loads(capsys.readouterr().out)["files"] == 2 + 1 + 2 + 1 + 1
    )  # images, grid, twin images, twin grid, telemetry
    telemetry = json.loads((tmp_path / "telemetry.json").read_text())
    assert telemetry["reproducibility"]["noise"]["source"] == "mtj" and telemetry["request"]["paired"] is True
    assert telemetry["fidelity"]["identical"] == 2 and telemetry["fidelity"]["same_noise"] is True
    assert telemetry["quality"]["paired"]["fid_difference"] == 0.0 and (tmp_path / "twin" / "001.png").is_file()


def test_generate_rejects_an_unknown_noise_source(capsys, tmp_path, model_dir):
    with pytest.raises(SystemExit) as exited:
        cli.main(
            [
                "generate",
                "--profile",
                "software",
                "--noise",
                "quantum",
                "--out",
                str(tmp_path),
                "--model",
                str(model_dir),
            ]
        )
    assert exited.value.code == 2 and "argument --noise: invalid choice: 'quantum'" in capsys.readouterr().err


def test_telemetry_reads_a_stored_report_of_any_schema(capsys, tmp_path):
    job = json.loads((Path(__file__).resolve().parents[1] / "dashboard" / "data" / "vcma_job.json").read_text())
    (tmp_path / "job.json").write_text(json.dumps(job))
    code, out, _ = run(capsys, "telemetry", str(tmp_path / "job.json"))  # a job as the API returns it
    summary = json.loads(out)
    assert code == 0 and summary["schema_version"] == 2 and summary["upgraded_from"] == 1
    assert (
        summary["energy_per_image_gpu_over_chip"]["a100_sxm"]["headline"]
        == job["telemetry"]["energy"]["ratios"]["energy_per_image_gpu_over_chip"]["a100_sxm"]
    )
    (tmp_path / "telemetry.json").write_text(json.dumps(job["telemetry"]))
    code, out, _ = run(capsys, "telemetry", str(tmp_path / "telemetry.json"), "--full")
    full = json.loads(out)
    assert (
        code == 0
        and full["energy"]["kind"] == "chip"
        and full["energy"]["counts"] == job["telemetry"]["energy"]["counts"]
    )
    code, _, err = run(capsys, "telemetry", str(tmp_path / "absent.json"))
    assert code == 2 and "cannot read" in err
