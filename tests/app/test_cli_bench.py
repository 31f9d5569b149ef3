"""Tests of app/cli/bench.py: ``spindiff bench rng`` and ``bench sampling`` (on the tiny ``model_dir``, conftest.py)."""

import json

import torch

from app import cli


def test_bench_rng_reports_a_ratio(capsys):
    code = cli.main(["bench", "rng", "--samples", "200000", "--repeats", "2", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ratio_mtj_over_numpy"] > 0
    assert result["mtj_samples_per_second"] > 0 and result["numpy_samples_per_second"] > 0


def test_bench_sampling_reports_software_exact_and_statistical_rows(capsys, model_dir):
    code = cli.main(
        [
            "bench",
            "sampling",
            "--profile",
            "ideal",
            "--batch",
            "2",
            "--steps",
            "2",
            "--model",
            str(model_dir),
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["rows"]
    assert [(r["mode"], r["device"]) for r in rows] == [("software", "cpu"), ("exact", "cpu"), ("statistical", "cpu")]
    assert rows[0]["ratio_to_software"] == 1.0 and all(r["seconds"] > 0 and r["images_per_second"] > 0 for r in rows)
    assert rows[1]["programming_seconds"] > 0 and rows[0]["programming_seconds"] is None


def test_bench_sampling_on_cuda_without_a_gpu_is_a_clear_error(capsys, model_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without CUDA, GPU or not
    code = cli.main(["bench", "sampling", "--model", str(model_dir), "--device", "cuda"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "--device cuda but torch sees no CUDA device" in err
