"""Tests of diffusion/model/card.py: the card and loss curve are written from model.json and loss.jsonl."""

import json

from diffusion.model import card


def test_card_and_curve(tmp_path):
    model, run = tmp_path / "model", tmp_path / "run"
    model.mkdir()
    run.mkdir()
    info = {
        "parameters": 1234,
        "unet": {
            "base_channels": 16,
            "channel_mults": [1, 2],
            "num_res_blocks": 2,
            "norm_groups": 8,
            "time_embed_dim": 64,
        },
        "schedule": {"kind": "cosine", "num_train_timesteps": 1000},
        "steps": 100,
        "wall_seconds": 7200.0,
        "final_loss": 0.05,
        "sha256": "ab" * 32,
        "training": {"total_steps": 200, "batch_size": 64, "lr": 2e-4, "ema_decay": 0.999},
    }
    (model / "model.json").write_text(json.dumps(info))
    (run / "loss.jsonl").write_text(
        "\n".join(json.dumps({"step": s, "loss": 1.0 / s, "lr": 2e-4, "wall_seconds": s}) for s in range(1, 101)) + "\n"
    )
    written = card.write_model_card(model, run)
    text = written.read_text()
    assert "1,234" in text and "100 of a planned 200" in text and "2.00 h" in text and "not been measured" in text
    svg = (model / "loss_curve.svg").read_text()
    assert svg.startswith("<svg") and "training step" in svg and svg.count(" L") >= 99
    evaluation = {"rows": [{"profile": "software", "n": 1000, "fid": 12.5, "kid_mean": 0.01, "kid_std": 0.001}]}
    assert "| software | 1000 | 12.50 |" in card.write_model_card(model, run, evaluation).read_text()


def test_hardware_aware_card_names_its_start_and_chip(tmp_path):
    model, run = tmp_path / "model", tmp_path / "run"
    model.mkdir()
    run.mkdir()
    hardware = {"profile": "vcma-default", "chip_seed": 0, "calibration_batch": 16, "noise_scale": 1.0}
    info = {
        "parameters": 10,
        "unet": {"base_channels": 8, "channel_mults": [1], "num_res_blocks": 1, "norm_groups": 4, "time_embed_dim": 16},
        "schedule": {"kind": "cosine", "num_train_timesteps": 1000},
        "steps": 3,
        "sha256": "cd" * 32,
        "training": {"total_steps": 3, "init_model": "/m", "init_sha256": "ab" * 32, "hardware_aware": hardware},
    }
    (model / "model.json").write_text(json.dumps(info))
    (run / "loss.jsonl").write_text(json.dumps({"step": 1, "loss": 0.1}) + "\n")
    text = card.write_model_card(model, run).read_text()
    assert text.startswith("# spindiff default-hwa model")
    assert "`abababababababab…`" in text and "--hardware-aware vcma-default" in text and "chip seed 0" in text
