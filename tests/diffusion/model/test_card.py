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


def _minimal_model(model, sha):
    info = {
        "parameters": 10,
        "unet": {"base_channels": 8, "channel_mults": [1], "num_res_blocks": 1, "norm_groups": 4, "time_embed_dim": 16},
        "schedule": {"kind": "cosine", "num_train_timesteps": 1000},
        "steps": 3,
        "sha256": sha,
        "training": {"total_steps": 3},
    }
    model.mkdir()
    (model / "model.json").write_text(json.dumps(info))


def test_card_lists_the_fid_table_entries_of_its_weights_only(tmp_path):
    model, run = tmp_path / "model", tmp_path / "run"
    _minimal_model(model, "ef" * 32)
    run.mkdir()
    (run / "loss.jsonl").write_text(json.dumps({"step": 1, "loss": 0.1}) + "\n")
    base = {"sampler": "ddpm", "eta": None, "steps": 10, "noise": "torch", "batch": 50, "images": None}
    entries = [
        {
            **base,
            "model": "ef" * 8,
            "profile": "vcma-default",
            "emulation": "exact",
            "n": 2000,
            "seed": 0,
            "fid": 50.123,
            "kid_mean": 0.0151,
            "kid_std": 0.0009,
            "energy_per_image_j": 8.9e-5,
        },
        {
            **base,
            "model": "ef" * 8,
            "profile": "software",
            "emulation": None,
            "n": 2000,
            "seed": 0,
            "fid": 60.5,
            "kid_mean": 0.03,
            "kid_std": 0.002,
        },
        {
            **base,
            "model": "00" * 8,
            "profile": "software",
            "emulation": None,
            "n": 500,
            "seed": 0,
            "fid": 99.0,
            "kid_mean": 0.05,
            "kid_std": 0.002,
        },
    ]
    table = tmp_path / "fid_table.json"
    table.write_text(json.dumps({"_about": "", "entries": entries}))
    text = card.write_model_card(model, run, table_path=table).read_text()
    lines = [line for line in text.splitlines() if line.startswith("| software") or line.startswith("| vcma")]
    assert lines == [
        "| software | – | DDPM 10 | torch | 2000 | 0 (50) | 60.50 | 30.0 ± 2.0 | – |",
        "| vcma-default | exact | DDPM 10 | torch | 2000 | 0 (50) | 50.12 | 15.1 ± 0.9 | 89.0 µJ |",
    ]  # software first, the other model's entry left out
    assert "not been measured" not in text and "sample_grid.png" not in text
    assert "not been measured" in card.write_model_card(model, run, table_path=tmp_path / "none.json").read_text()


def test_sample_grid_is_drawn_from_the_model_and_shown(tmp_path, monkeypatch):
    import torch
    from PIL import Image

    from diffusion.model import checkpoints
    from diffusion.model.schedule import ScheduleConfig
    from diffusion.model.unet import UNet, UNetConfig

    tiny = UNetConfig(base_channels=8, channel_mults=(1,), num_res_blocks=1, time_embed_dim=16, norm_groups=4)
    torch.manual_seed(0)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    network = UNet(tiny)
    weights = checkpoints._weights_bytes(
        {k: v.contiguous() for k, v in network.state_dict().items()}, {"format": checkpoints.WEIGHTS_FORMAT}
    )
    (model_dir / checkpoints.MODEL_FILE).write_bytes(weights)
    info = {
        "format": checkpoints.MODEL_FORMAT,
        "unet": tiny.to_dict(),
        "schedule": ScheduleConfig().to_dict(),
        "steps": 0,
        "parameters": sum(p.numel() for p in network.parameters()),
        "sha256": checkpoints.sha256_file(model_dir / checkpoints.MODEL_FILE),
        "training": {"total_steps": 1},
    }
    (model_dir / "model.json").write_text(json.dumps(info))
    monkeypatch.setattr(card, "GRID_STEPS", 2)
    monkeypatch.setattr(card, "GRID_IMAGES", 16)
    out = card.write_sample_grid(model_dir)
    picture = Image.open(out)
    assert picture.mode == "L" and picture.size == (3 * (8 * 30 + 2), 3 * (2 * 30 + 2))  # 8 columns, 2 rows
    run = tmp_path / "run"
    run.mkdir()
    (run / "loss.jsonl").write_text(json.dumps({"step": 1, "loss": 0.1}) + "\n")
    text = card.write_model_card(model_dir, run, table_path=tmp_path / "none.json").read_text()
    assert "![samples](sample_grid.png)" in text and "DDPM 2 steps, seed 7" in text
