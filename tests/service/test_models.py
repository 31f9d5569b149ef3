"""Tests of worker/models.py: which models the service offers and how requests name them (no cluster)."""

from __future__ import annotations

import json

from worker import models
from worker.settings import Settings


def _model(directory, sha, **training):
    directory.mkdir(parents=True)
    info = {
        "sha256": sha,
        "parameters": 10,
        "steps": 5,
        "unet": {"image_size": 28},
        "schedule": {"num_train_timesteps": 100},
        "training": training,
    }
    (directory / "model.json").write_text(json.dumps(info))
    return directory


def test_shipped_models_are_offered_once_exported(tmp_path):
    settings = Settings(model_dir=_model(tmp_path / "default", "a" * 64))
    shipped = {"default": tmp_path / "ignored", "default-hwa": tmp_path / "hwa"}
    assert models.model_dirs(settings, shipped) == {"default": tmp_path / "default"}  # not exported yet
    _model(tmp_path / "hwa", "b" * 64, init_sha256="a" * 64, hardware_aware={"profile": "vcma-default"})
    dirs = models.model_dirs(settings, shipped)
    assert dirs == {"default": tmp_path / "default", "default-hwa": tmp_path / "hwa"}
    described = models.describe("default-hwa", dirs["default-hwa"])
    assert described["fine_tuned_from"] == "a" * 64 and described["hardware_aware"]["profile"] == "vcma-default"
    assert models.describe("default", dirs["default"])["hardware_aware"] is None


def test_the_settings_model_dir_is_the_default_model(tmp_path):
    settings = Settings(model_dir=_model(tmp_path / "mine", "c" * 64))
    assert models.resolve(settings, "default")["sha256"] == "c" * 64
    assert models.resolve(settings, "c" * 64)["id"] == "default"
    assert models.resolve(settings, "no-such-model") is None
