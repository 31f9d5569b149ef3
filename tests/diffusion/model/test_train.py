"""Tests of diffusion/model/train.py and diffusion/model/checkpoints.py (and the train CLI) on the tiny fixture.

The central claim: a run stopped and resumed (by max_steps, by SIGINT/SIGTERM, or by a crash after
a checkpoint) ends with parameters, EMA weights and optimizer state bit-identical to a run that
never stopped.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from device.errors import InputError, ParameterError
from diffusion.model import checkpoints
from diffusion.model.checkpoints import CheckpointError, ConfigMismatchError, export_model, load_model
from diffusion.model.train import (
    PRESETS,
    EpochSampler,
    TrainConfig,
    config_differences,
    ema_decay_at,
    lr_at,
    train,
)
from diffusion.model.unet import UNetConfig
from tests.diffusion.conftest import TRAIN_N, write_dataset


def weights(run) -> dict[str, dict[str, torch.Tensor]]:
    state = torch.load(run / "state.pt", weights_only=True)
    return {
        "model": load_file(run / "model.safetensors"),
        "ema": load_file(run / "ema.safetensors"),
        "optimizer": {f"{i}.{k}": v for i, s in state["optimizer"]["state"].items() for k, v in s.items()},
    }


def assert_identical(run_a, run_b) -> None:
    a, b = weights(run_a), weights(run_b)
    for part in ("model", "ema", "optimizer"):
        assert a[part].keys() == b[part].keys()
        for name in a[part]:
            assert torch.equal(a[part][name], b[part][name]), f"{part} {name} differs"
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in checkpoints.read_loss(run_a)]
    assert strip == [{k: v for k, v in r.items() if k != "wall_s"} for r in checkpoints.read_loss(run_b)]


@pytest.fixture
def straight(tiny_config, fashion_dir, tmp_path):
    """The reference: 6 steps in one call."""
    run = tmp_path / "straight"
    result = train(tiny_config, fashion_dir, run, progress=False)
    assert result.step == 6 and result.steps_this_call == 6 and result.interrupted is None
    return run


def test_training_loss_decreases(tiny_config, fashion_dir, tmp_path):
    config = replace(tiny_config, total_steps=30, checkpoint_every=100)
    train(config, fashion_dir, tmp_path / "run", progress=False)
    losses = [r["loss"] for r in checkpoints.read_loss(tmp_path / "run")]
    assert [r["step"] for r in checkpoints.read_loss(tmp_path / "run")] == list(range(1, 31))
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert first > 0.9  # zero-initialised output: loss starts at E[ε²] = 1
    assert last < 0.5 * first, (first, last)


def test_resume_in_two_calls_is_bit_identical(straight, tiny_config, fashion_dir, tmp_path):
    run = tmp_path / "split"
    first = train(tiny_config, fashion_dir, run, max_steps=3, progress=False)
    assert first.step == 3 and checkpoints.has_checkpoint(run)
    second = train(tiny_config, fashion_dir, run, progress=False)
    assert second.step == 6 and second.steps_this_call == 3
    assert_identical(straight, run)
    again = train(tiny_config, fashion_dir, run, progress=False)  # finished: nothing to do
    assert again.steps_this_call == 0 and again.step == 6
    assert_identical(straight, run)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_and_resume_is_bit_identical(signum, straight, tiny_config, fashion_dir, tmp_path):
    run = tmp_path / "signalled"

    def send_signal(step, loss):
        if step == 3:
            os.kill(os.getpid(), signum)

    previous = signal.getsignal(signum)
    result = train(tiny_config, fashion_dir, run, progress=False, on_step=send_signal)
    assert result.interrupted == signal.Signals(signum).name and result.step == 3
    assert signal.getsignal(signum) is previous  # the handler is uninstalled
    assert torch.load(run / "state.pt", weights_only=True)["step"] == 3  # saved off the checkpoint grid
    train(tiny_config, fashion_dir, run, progress=False)
    assert_identical(straight, run)


def test_crash_resumes_from_last_checkpoint(straight, tiny_config, fashion_dir, tmp_path):
    """A hard stop after step 5: the step-4 checkpoint survives, loss.jsonl is cut back, and the rerun matches."""
    run = tmp_path / "crashed"

    def crash(step, loss):
        if step == 5:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        train(tiny_config, fashion_dir, run, progress=False, on_step=crash)
    assert torch.load(run / "state.pt", weights_only=True)["step"] == 4
    assert [r["step"] for r in checkpoints.read_loss(run)] == [1, 2, 3, 4, 5]
    train(tiny_config, fashion_dir, run, progress=False)
    assert_identical(straight, run)


def test_extending_total_steps_continues_the_same_trajectory(straight, tiny_config, fashion_dir, tmp_path):
    run = tmp_path / "extended"
    train(replace(tiny_config, total_steps=4), fashion_dir, run, progress=False)
    result = train(replace(tiny_config, checkpoint_every=5), fashion_dir, run, progress=False)
    assert result.step == 6
    assert_identical(straight, run)
    assert json.loads((run / "config.json").read_text())["checkpoint_every"] == 5


def test_resume_with_another_config_is_refused(tiny_config, fashion_dir, tmp_path):
    run = tmp_path / "run"
    train(tiny_config, fashion_dir, run, max_steps=2, progress=False)
    other = replace(tiny_config, lr=1e-4, unet=replace(tiny_config.unet, base_channels=16))
    with pytest.raises(ConfigMismatchError) as info:
        train(other, fashion_dir, run, progress=False)
    message = str(info.value)
    assert "lr" in message and "unet.base_channels" in message and "batch_size" not in message
    assert torch.load(run / "state.pt", weights_only=True)["step"] == 2  # untouched


def test_resume_with_another_dataset_is_refused(tiny_config, fashion_dir, tmp_path):
    run = tmp_path / "run"
    train(tiny_config, fashion_dir, run, max_steps=2, progress=False)
    bigger = tmp_path / "bigger"
    write_dataset(bigger, train_n=TRAIN_N + 16)
    with pytest.raises(InputError, match=f"trained on {TRAIN_N} images but this dataset has {TRAIN_N + 16}"):
        train(tiny_config, bigger, run, progress=False)


def test_train_leaves_global_state_alone(tiny_config, fashion_dir, tmp_path):
    torch.manual_seed(123)
    np.random.seed(4)
    random.seed(5)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate(), torch.get_num_threads())
    train(replace(tiny_config, num_threads=1), fashion_dir, tmp_path / "run", max_steps=2, progress=False)
    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1]) and random.getstate() == before[2]
    assert torch.get_num_threads() == before[3]


def test_torn_checkpoint_is_detected(tiny_config, fashion_dir, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    train(replace(tiny_config, total_steps=2), fashion_dir, a, progress=False)
    train(replace(tiny_config, total_steps=4), fashion_dir, b, progress=False)
    (b / "ema.safetensors").write_bytes((a / "ema.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="torn checkpoint.*ema.safetensors is from step 2.*step 4"):
        train(replace(tiny_config, total_steps=6), fashion_dir, b, progress=False)
    (b / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="model.safetensors is not a valid safetensors file"):
        checkpoints.load_checkpoint(b)


def test_export_and_load_round_trip(tiny_config, fashion_dir, tmp_path):
    run, dest = tmp_path / "run", tmp_path / "model"
    train(tiny_config, fashion_dir, run, progress=False)
    export_model(run, dest)
    info = json.loads((dest / "model.json").read_text())
    model, unet_config, schedule_config, loaded_info = load_model(dest)
    assert unet_config == tiny_config.unet and schedule_config == tiny_config.schedule
    assert loaded_info == info and info["steps"] == 6 and info["format"] == "spindiff-model/1"
    assert info["parameters"] == sum(p.numel() for p in model.parameters())
    assert info["sha256"] == checkpoints.sha256_file(dest / "model.safetensors")
    assert info["final_loss"] == checkpoints.read_loss(run)[-1]["loss"] and info["wall_seconds"] > 0
    assert info["training"]["batch_size"] == tiny_config.batch_size
    ema = load_file(run / "ema.safetensors")
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, ema[name]), name
    assert not model.training
    x, t = torch.randn(2, 1, 28, 28), torch.tensor([5, 50])
    assert torch.equal(model(x, t), load_model(dest)[0](x, t))
    bundle = checkpoints.load_bundle(dest)
    assert bundle.sha256 == info["sha256"] and bundle.image_size == 28
    np.testing.assert_array_equal(bundle.alphas_cumprod, tiny_config.schedule.alphas_cumprod())
    assert torch.equal(bundle.model(x, t), model(x, t))


def test_tampered_or_missing_model_files_are_refused(tiny_config, fashion_dir, tmp_path):
    run, dest = tmp_path / "run", tmp_path / "model"
    train(replace(tiny_config, total_steps=2), fashion_dir, run, progress=False)
    export_model(run, dest)
    raw = bytearray((dest / "model.safetensors").read_bytes())
    raw[-1] ^= 0x01  # one bit of one weight
    (dest / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        load_model(dest)
    (dest / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_model(dest)
    (dest / "model.json").unlink()
    with pytest.raises(CheckpointError, match="export-model"):
        load_model(dest)
    with pytest.raises(CheckpointError, match="not a training run"):
        export_model(tmp_path / "nothing", dest)


def test_model_json_that_does_not_fit_the_weights_is_refused(tiny_config, fashion_dir, tmp_path):
    run, dest = tmp_path / "run", tmp_path / "model"
    train(replace(tiny_config, total_steps=2), fashion_dir, run, progress=False)
    export_model(run, dest)
    info = json.loads((dest / "model.json").read_text())
    info["unet"]["base_channels"] = 16
    (dest / "model.json").write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match="does not fit the UNetConfig"):
        load_model(dest)
    info["format"] = "other/1"
    (dest / "model.json").write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match="format 'other/1'"):
        load_model(dest)


def test_epoch_sampler_covers_each_epoch_and_resumes():
    sampler = EpochSampler(10, 3, seed=7)
    batches = [sampler.next() for _ in range(6)]  # 3 full batches per epoch, one image left out
    for epoch in (0, 1):
        seen = np.concatenate(batches[3 * epoch : 3 * epoch + 3])
        assert len(set(seen.tolist())) == 9 and set(seen.tolist()) <= set(range(10))
    assert not np.array_equal(np.concatenate(batches[:3]), np.concatenate(batches[3:]))
    resumed = EpochSampler(10, 3, seed=7, epoch=1, position=3)
    assert np.array_equal(resumed.next(), batches[4])
    with pytest.raises(InputError, match="fewer than batch_size"):
        EpochSampler(2, 3, seed=0)


def test_learning_rate_and_ema_schedules(tiny_config):
    config = replace(tiny_config, lr=1e-3, warmup_steps=4, ema_decay=0.999)
    assert [lr_at(s, config) for s in range(6)] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
    assert lr_at(0, replace(config, warmup_steps=0)) == 1e-3
    assert ema_decay_at(0, config) == pytest.approx(0.1)
    assert ema_decay_at(90, config) == pytest.approx(91 / 100)
    assert ema_decay_at(10**6, config) == 0.999


def test_config_round_trip_and_presets():
    for config in PRESETS.values():
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert PRESETS["default"].unet == UNetConfig()
    assert config_differences({"a": 1, "u": {"b": 2, "c": 3}}, {"a": 1, "u": {"b": 5, "c": 3}, "d": 0}) == ["d", "u.b"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"ema_decay": 1.0}, "ema_decay"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"grad_clip": -1.0}, "grad_clip"),
        ({"random_flip": 1}, "random_flip"),
        ({"unet": {}}, "UNetConfig"),
    ],
)
def test_invalid_train_configs_raise(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        TrainConfig(**kwargs)


def test_from_dict_names_unknown_keys():
    with pytest.raises(ParameterError, match="momentum"):
        TrainConfig.from_dict({**TrainConfig().to_dict(), "momentum": 0.9})


def test_max_steps_must_be_a_count(tiny_config, fashion_dir, tmp_path):
    with pytest.raises(InputError, match="max_steps"):
        train(tiny_config, fashion_dir, tmp_path / "run", max_steps=-1)


# --- the CLI (app/cli/train.py) -------------------------------------------------------------------------
def test_cli_trains_resumes_and_exports(fashion_dir, tmp_path, capsys):
    from app import cli

    run, dest = str(tmp_path / "run"), str(tmp_path / "model")
    common = [
        "train",
        "--out",
        run,
        "--data-dir",
        str(fashion_dir),
        "--config",
        "small",
        "--batch-size",
        "16",
        "--no-progress",
    ]
    assert cli.main([*common, "--steps", "3", "--max-steps", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["step"] == 2 and not out["finished"]
    assert cli.main(["train", "--out", run, "--data-dir", str(fashion_dir), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["step"] == 3 and "resuming" in captured.err
    assert cli.main([*common, "--batch-size", "32"]) == 2
    assert "differing keys: batch_size" in capsys.readouterr().err
    assert cli.main(["export-model", "--run", run, "--dest", dest]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["steps"] == 3 and exported["parameters"] == load_model(dest)[3]["parameters"]


def test_cli_module_does_not_import_torch():
    # at module level the CLI may import nothing of diffusion/ but the plain paths of diffusion/shipped.py
    # and the sampler registry (diffusion/generation/sampler_names.py, standard library only)
    allowed = {"diffusion", "diffusion.shipped", "diffusion.generation", "diffusion.generation.sampler_names"}
    code = (
        "import sys, app.cli.train; assert 'torch' not in sys.modules; "
        f"assert {{m for m in sys.modules if m.split('.')[0] == 'diffusion'}} <= {allowed!r}"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.getcwd())


def test_ema_after_one_step_follows_its_formula(tiny_config, fashion_dir, tmp_path):
    """After update 1 the EMA is d·w₀ + (1 − d)·w₁ with d = min(ema_decay, 2/11) and w₀ the seeded init."""
    from diffusion.model.unet import UNet

    train(replace(tiny_config, total_steps=1), fashion_dir, tmp_path / "run", progress=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(tiny_config.seed)
        initial = UNet(tiny_config.unet).state_dict()
    d = ema_decay_at(1, tiny_config)
    assert d == pytest.approx(2 / 11)
    trained, ema = load_file(tmp_path / "run" / "model.safetensors"), load_file(tmp_path / "run" / "ema.safetensors")
    moved = 0
    for name, w1 in trained.items():
        torch.testing.assert_close(ema[name], d * initial[name] + (1 - d) * w1, rtol=1e-6, atol=1e-7)
        moved += int(not torch.equal(w1, initial[name]))
    assert moved > 0


def test_weights_bytes_have_a_canonical_header_so_the_hash_names_the_weights():
    """The safetensors writer orders ``__metadata__`` keys differently per process; the written header
    must be the sorted form whatever the writer did (an export's SHA-256 then depends on weights only)."""
    state = {"b.weight": torch.arange(6.0).reshape(2, 3), "a.bias": torch.ones(2)}
    metadata = {"step": "7", "format": "spindiff-unet/1", "kind": "ema"}
    data = checkpoints._weights_bytes(state, metadata)
    length = int.from_bytes(data[:8], "little")
    header = data[8 : 8 + length].decode().rstrip(" ")
    assert header == json.dumps(json.loads(header), sort_keys=True, separators=(",", ":"))
    assert checkpoints._weights_bytes(state, dict(reversed(list(metadata.items())))) == data
    from safetensors.torch import load as load_bytes

    tensors = load_bytes(data)
    assert set(tensors) == set(state) and all(torch.equal(tensors[k], state[k]) for k in state)
