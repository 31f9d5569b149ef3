"""Tests of diffusion/model/hardware_aware.py: the noisy layers against the statistical model, and fine-tuning.

The noisy layers inject the errors of `device.statistical.StatisticalModel` (itself held to the
exact crossbar path in tests/device/test_statistical.py) with the chip's fixed W_eff − W replaced
by a fresh Gaussian of the same RMS. So:
- with that replacement made in the model too (w_eff := W), a noisy convolution's mean is the
  statistical convolution's mean (float32 against float64: 1e-5 of the scale) and its variance over
  draws the statistical variance within 4 standard errors; a noisy Linear likewise against the rows
  form (with R constant along the rows, which the noisy layer averages);
- the injected weight error's output variance is Σ_patch x²·(w_n·c_n)², within 4 standard errors;
- on the real model, the pooled mean squared output error of the noisy layer is the statistical
  model's (with the chip's own W_eff) within 15 % — the fresh weight draw is the chip's RMS;
- with every error off the layers are `nn.Conv2d`/`nn.Linear` exactly, gradients included (the
  rounding is straight-through); in eval mode they always are, and their state dict is the plain one.
Fine-tuning resumes bit for bit, as training from scratch does (tests/diffusion/model/test_train.py).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from device import profiles
from device import statistical as S
from device.crossbar_programming import program
from device.errors import ParameterError
from diffusion.chip.crossbar_statistical import StatisticalCrossbar, unfold_patches
from diffusion.model import checkpoints
from diffusion.model.hardware_aware import (
    NOISE_FILE,
    HardwareAwareConfig,
    LayerNoise,
    NoisyConv2d,
    NoisyLinear,
    layer_noise,
    load_layer_noise,
    make_hardware_aware,
    save_layer_noise,
)
from diffusion.model.train import TrainConfig, fine_tune_config, train
from tests.diffusion.model.test_train import assert_identical

torch.set_num_threads(1)

C, N = 16, 12


def _silu(z):
    return z / (1.0 + np.exp(-z))


def _images(seed, batch=3, size=8):
    return torch.as_tensor(
        _silu(np.random.default_rng(seed).standard_normal((batch, C, size, size))), dtype=torch.float64
    )


@pytest.fixture(scope="module")
def programmed():
    """(conv spec with weights W, W (K, N), the statistical model derived on the vcma-default chip)."""
    spec = nn.Conv2d(C, N, 3, padding=1)
    k = C * 9
    weights = np.random.default_rng(5).standard_normal((k, N)) / np.sqrt(k)
    with torch.no_grad():
        spec.weight.copy_(torch.as_tensor(weights.T.reshape(N, C, 3, 3)))
        spec.bias.zero_()
    profile = profiles.get_profile("vcma-default")
    matrix = program(weights, profile.mtj, profile.variation, profile.crossbar, profile.technology, 1)
    x = unfold_patches(_images(100, batch=4), spec)[0].numpy()
    matrix.calibrate_adc(x)
    matrix.calibrate_output_gain(x, x @ weights, np.random.default_rng(0))
    return spec, weights, S.derive(matrix, x, seed=0)


def _noisy_conv(spec, noise, scale=1.0):
    layer = NoisyConv2d.from_conv(spec, noise, scale).double().train()
    return layer


def _draws(layer, x, n, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        return torch.stack([layer(x) for _ in range(n)])


def test_noisy_conv_has_the_statistical_models_moments(programmed):
    spec, weights, model = programmed
    noise = dataclasses.replace(layer_noise(model, weights), weight_rel=torch.zeros(N))
    reference = StatisticalCrossbar(dataclasses.replace(model, w_eff=weights), "cpu", torch.float64)
    x = _images(7)
    mean, variance = reference.conv_moments(x, spec)
    quiet = _noisy_conv(spec, noise, scale=0.0)
    with torch.no_grad():
        got = quiet(x)
    np.testing.assert_allclose(got.numpy(), mean.numpy(), rtol=0, atol=1e-5 * float(mean.abs().max()))
    draws = _draws(_noisy_conv(spec, noise), x, 80, seed=1)
    ratio = float(((draws - mean) ** 2 / variance).mean())
    assert abs(ratio - 1.0) < 4 * np.sqrt(2.0 / draws.numel()), ratio


def test_injected_weight_error_has_its_variance(programmed):
    spec, weights, model = programmed
    noise = layer_noise(model, weights)
    silent = dataclasses.replace(
        noise, read_rel=torch.zeros(N), adc_rel=torch.zeros(N), w_ir=torch.zeros_like(noise.w_ir), levels=0
    )
    x = _images(8, batch=1)
    draws = _draws(_noisy_conv(spec, silent), x, 120, seed=2)
    column = torch.as_tensor(np.abs(weights).max(axis=0))
    with torch.no_grad():
        exact = F.conv2d(x, spec.weight.double(), padding=1)
        squares = F.conv2d(x * x, torch.ones(1, C, 3, 3, dtype=torch.float64), padding=1)
    predicted = squares * ((silent.weight_rel.double() * column) ** 2).reshape(1, -1, 1, 1)
    ratio = float(((draws - exact) ** 2).mean(dim=0).sum() / predicted.sum())
    assert abs(ratio - 1.0) < 4 * np.sqrt(2.0 / 120), (
        ratio
    )  # outputs of one draw share a weight draw: SE from the draws
    assert float(noise.weight_rel.mean()) > 0


def test_noisy_conv_errs_as_much_as_the_chip(programmed):
    """Pooled E‖y − x@W‖²: fresh weight draws (noisy layer) against the chip's own W_eff (statistical model)."""
    spec, weights, model = programmed
    x = _images(9, batch=4)
    chip = StatisticalCrossbar(model, "cpu", torch.float64)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        exact = F.conv2d(x, spec.weight.double(), padding=1)
        chip_error = torch.stack([chip.conv2d(x, spec, generator) - exact for _ in range(30)]).pow(2).mean()
        noisy_error = (_draws(_noisy_conv(spec, layer_noise(model, weights)), x, 30, seed=4) - exact).pow(2).mean()
    assert abs(float(noisy_error / chip_error) - 1.0) < 0.15, (float(noisy_error), float(chip_error))


def test_noisy_linear_has_the_rows_forms_moments(programmed):
    _, weights, model = programmed
    flat = dataclasses.replace(
        model, w_eff=weights, read_var=np.broadcast_to(model.read_var.mean(axis=0), model.read_var.shape).copy()
    )
    reference = StatisticalCrossbar(flat, "cpu", torch.float64)
    linear = nn.Linear(weights.shape[0], N).double()
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(weights.T))
        linear.bias.zero_()
    noise = dataclasses.replace(layer_noise(model, weights), weight_rel=torch.zeros(N))
    x = torch.as_tensor(_silu(np.random.default_rng(11).standard_normal((40, weights.shape[0]))))
    mean, variance = reference.moments(x)
    quiet = NoisyLinear.from_linear(linear, noise, 0.0).double().train()
    with torch.no_grad():
        np.testing.assert_allclose(quiet(x).numpy(), mean.numpy(), rtol=0, atol=1e-5 * float(mean.abs().max()))
    layer = NoisyLinear.from_linear(linear, noise).double().train()
    draws = _draws(layer, x, 60, seed=5)
    ratio = float(((draws - mean) ** 2 / variance).mean())
    assert abs(ratio - 1.0) < 4 * np.sqrt(2.0 / draws.numel()), ratio


def _zero_noise(k, n):
    return LayerNoise(torch.zeros(n), torch.zeros(n), torch.zeros(n), torch.zeros(k, n), 1.0, 0)


def test_without_errors_the_layers_are_plain_gradients_included():
    torch.manual_seed(0)
    conv, linear = nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.Linear(5, 3)
    for plain, noisy, x in (
        (conv, NoisyConv2d.from_conv(conv, _zero_noise(36, 6)), torch.randn(2, 4, 7, 7)),
        (linear, NoisyLinear.from_linear(linear, _zero_noise(5, 3)), torch.randn(2, 4, 5)),
    ):
        noisy.train()
        outputs = []
        for layer in (plain, noisy):
            xi = x.clone().requires_grad_(True)
            y = layer(xi)
            y.square().sum().backward()
            outputs.append((y.detach(), xi.grad, layer.weight.grad.clone()))
        for a, b in zip(*outputs):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        assert noisy.state_dict().keys() == plain.state_dict().keys()


def test_dac_rounding_is_straight_through(programmed):
    spec, weights, model = programmed
    noise = dataclasses.replace(
        layer_noise(model, weights), weight_rel=torch.zeros(N), w_ir=torch.zeros(weights.shape[0], N)
    )
    layer = _noisy_conv(spec, noise, scale=0.0)
    x = _images(12).requires_grad_(True)
    layer(x).sum().backward()
    x2 = _images(12).requires_grad_(True)
    F.conv2d(x2, spec.weight.double(), padding=1).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)


def test_eval_mode_is_the_plain_network(programmed):
    spec, weights, model = programmed
    layer = _noisy_conv(spec, layer_noise(model, weights)).eval()
    x = _images(13)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), spec.double()(x))
    assert set(layer.state_dict()) == {"weight", "bias"}


def test_every_layer_needs_statistics():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Linear(2, 2))
    with pytest.raises(ParameterError, match=r"\['1'\]"):
        make_hardware_aware(model, {"0": _zero_noise(9, 2)})
    make_hardware_aware(model, {"0": _zero_noise(9, 2), "1": _zero_noise(2, 2)})
    assert isinstance(model[0], NoisyConv2d) and isinstance(model[1], NoisyLinear)


def test_noise_file_round_trip_and_config_check(programmed, tmp_path):
    _, weights, model = programmed
    noise = {"layer": layer_noise(model, weights)}
    config = HardwareAwareConfig()
    save_layer_noise(tmp_path / NOISE_FILE, noise, config)
    loaded = load_layer_noise(tmp_path / NOISE_FILE, config)
    for field in ("weight_rel", "read_rel", "adc_rel", "w_ir"):
        torch.testing.assert_close(getattr(loaded["layer"], field), getattr(noise["layer"], field))
    with pytest.raises(ParameterError, match="measured for"):
        load_layer_noise(tmp_path / NOISE_FILE, replace(config, chip_seed=1))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"profile": ""}, "profile"),
        ({"chip_seed": -1}, "chip_seed"),
        ({"calibration_batch": 0}, "calibration_batch"),
        ({"noise_scale": -1.0}, "noise_scale"),
    ],
)
def test_invalid_hardware_aware_configs_raise(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        HardwareAwareConfig(**kwargs)


# --- fine-tuning --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, fashion_dir):
    """A tiny model trained for 4 steps and exported (the starting point of the fine-tuning tests)."""
    from tests.diffusion.conftest import TINY_CONFIG

    root = tmp_path_factory.mktemp("tiny_model")
    config = replace(TINY_CONFIG, total_steps=4, checkpoint_every=4, log_every=50)
    train(config, fashion_dir, root / "run", progress=False)
    return checkpoints.export_model(root / "run", root / "model")


def _fine_tune(tiny_model, **changes):
    values = dict(total_steps=4, checkpoint_every=2, log_every=1, batch_size=16, num_threads=1)
    return fine_tune_config(tiny_model, HardwareAwareConfig(calibration_batch=4), **{**values, **changes})


def test_hardware_aware_fine_tuning_resumes_bit_for_bit(tiny_model, fashion_dir, tmp_path):
    config = _fine_tune(tiny_model)
    straight = train(config, fashion_dir, tmp_path / "straight", progress=False)
    assert straight.step == 4 and np.isfinite(straight.last_loss)
    train(config, fashion_dir, tmp_path / "split", max_steps=2, progress=False)
    train(config, fashion_dir, tmp_path / "split", progress=False)
    assert_identical(tmp_path / "straight", tmp_path / "split")
    assert (tmp_path / "split" / NOISE_FILE).is_file()
    exported = checkpoints.export_model(tmp_path / "straight", tmp_path / "model")
    model, _, _, info = checkpoints.load_model(exported)  # a plain U-Net
    assert info["training"]["hardware_aware"]["profile"] == "vcma-default"
    assert info["training"]["init_sha256"] == json.loads((tiny_model / "model.json").read_text())["sha256"]
    assert not any(isinstance(m, (NoisyConv2d, NoisyLinear)) for m in model.modules())


def test_fine_tuning_starts_from_the_init_weights(tiny_model, fashion_dir, tmp_path):
    """After one step at a learning rate of (almost) zero the weights are still the init model's."""
    config = replace(_fine_tune(tiny_model, total_steps=1), lr=1e-12, hardware_aware=None)
    train(config, fashion_dir, tmp_path / "run", progress=False)
    init, _, _, _ = checkpoints.load_model(tiny_model)
    trained, _, _ = checkpoints.load_checkpoint(tmp_path / "run")
    for name, value in init.state_dict().items():
        torch.testing.assert_close(trained[name], value, rtol=0, atol=1e-9)


def test_fine_tuning_refuses_a_changed_init(tiny_model, fashion_dir, tmp_path):
    config = replace(_fine_tune(tiny_model), init_sha256="0" * 64)
    with pytest.raises(checkpoints.CheckpointError, match="not the 000000000000"):
        train(config, fashion_dir, tmp_path / "run", progress=False)
    with pytest.raises(ParameterError, match="init_model"):
        TrainConfig(hardware_aware=HardwareAwareConfig())


def test_cli_fine_tunes_hardware_aware(tiny_model, fashion_dir, tmp_path, capsys):
    from app import cli

    run = str(tmp_path / "run")
    common = [
        "train",
        "--out",
        run,
        "--data-dir",
        str(fashion_dir),
        "--init",
        str(tiny_model),
        "--batch-size",
        "16",
        "--no-progress",
    ]
    assert cli.main([*common, "--hardware-aware", "no-such-chip", "--steps", "1"]) == 2
    assert "no-such-chip" in capsys.readouterr().err
    assert cli.main([*common, "--hardware-aware", "vcma-default", "--steps", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["step"] == 1 and out["finished"]
    stored = json.loads((tmp_path / "run" / "config.json").read_text())
    assert stored["hardware_aware"]["profile"] == "vcma-default" and stored["lr"] == 5e-5
