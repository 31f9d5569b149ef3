"""Tests of diffusion/chip/emulation_check.py: the statistical engine measured against the exact one.

On the tiny Toy network of tests/diffusion/chip/test_backend.py (a 9-row and a 72-row conv, a
1568-row linear head, so one to thirteen tiles), vcma-default in statistical mode, calibrated on 256
images and checked on 64 others from the same distribution. Tolerances and why:
- per layer, the error y − x @ W of the statistical engine has the exact engine's variance within
  15 % and its mean within 0.1 σ. When written (chip seeds 2–5): conv1 0.996–0.998, down
  1.021–1.038, head 0.93–0.96. The head sees one row per image, so its model is fitted on 256 rows
  only: on its own calibration inputs its ratio is 0.98–0.99, out of sample it falls with fewer
  calibration rows (0.89–0.93 with 128, 0.95–0.96 with 512); mean differences below 0.02 σ.
- the check can fail: a model whose noise variances are inflated 4× is caught (ratio > 1.15).
- ε: the statistical engine's relative ε error within 20 % of the exact engine's at every t
  (within 7 % when written).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from diffusion.chip import backend as CB
from diffusion.chip import emulation_check as EC
from diffusion.chip.crossbar_statistical import StatisticalCrossbar
from tests.diffusion.chip.test_backend import Toy, small, statistical

torch.set_num_threads(1)


class TimeToy(Toy):
    """Toy with a timestep input: a sinusoidal feature pair through a Linear, added after conv1."""

    def __init__(self):
        super().__init__()
        self.temb = nn.Linear(2, 8)

    def forward(self, x, t):
        f = t.float()[:, None] / 1000.0
        e = self.temb(torch.cat([torch.sin(3 * f), torch.cos(3 * f)], dim=1))
        h = self.act(self.norm(self.conv1(x) + e[:, :, None, None]))
        return self.head(self.down(h).flatten(1))


def _images(n, seed):
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def toy():
    torch.manual_seed(0)
    return Toy().eval()


@pytest.fixture(scope="module")
def network(toy):
    return CB.ChipNetwork(toy, statistical(small("vcma-default")), chip_seed=2, calibration_inputs=(_images(256, 10),))


def test_layer_agreement_holds_on_every_layer(network):
    x = _images(64, 20)
    rows = EC.layer_agreement(network, (x,), seed=0)
    assert [r["layer"] for r in rows] == ["conv1", "down", "head"]
    assert [r["kind"] for r in rows] == ["conv", "conv", "linear"]
    assert [(r["in_features"], r["out_features"], r["rows"]) for r in rows] == [
        (9, 8, 64 * 784),
        (72, 8, 64 * 196),
        (1568, 10, 64),
    ]
    for r in rows:
        assert r["draws"] == min(EC.MAX_DRAWS, max(1, -(-EC.MIN_SAMPLES // (r["rows"] * r["out_features"]))))
        assert r["exact_error_var"] > 0
        assert 0.85 <= r["variance_ratio"] <= 1.15, r
        assert abs(r["mean_difference_in_sigma"]) < 0.1, r
        model = network.statistical[r["layer"]].model
        assert r["adc_clipping_rate"] == model.clipping_rate and r["ir_residual"] == model.ir_residual
    assert rows[2]["draws"] == EC.MAX_DRAWS  # one row per image: pooled over many draws


def test_layer_agreement_catches_a_wrong_noise_model(network):
    saved = dict(network.statistical)
    try:
        for name, engine in saved.items():
            m = engine.model
            network.statistical[name] = StatisticalCrossbar(
                dataclasses.replace(m, read_var=4 * m.read_var, adc_var=4 * m.adc_var), network.device
            )
        rows = EC.layer_agreement(network, (_images(16, 21),), seed=0)
    finally:
        network.statistical.update(saved)
    assert all(r["variance_ratio"] > 1.15 for r in rows), [r["variance_ratio"] for r in rows]


def test_layer_inputs_are_what_the_software_layers_see(network, toy):
    x = _images(3, 22)
    seen = EC.layer_inputs(network, x)
    with torch.no_grad():
        hidden = toy.down(toy.act(toy.norm(toy.conv1(x))))
    np.testing.assert_array_equal(seen["conv1"].numpy(), x.numpy())
    np.testing.assert_allclose(seen["head"].numpy(), hidden.flatten(1).numpy(), rtol=1e-5, atol=1e-6)
    assert network.capture is None  # capture mode is left


def test_epsilon_agreement():
    torch.manual_seed(1)
    software = TimeToy().eval()
    alphas_cumprod = np.cumprod(1.0 - np.linspace(1e-4, 0.02, 1000))
    g = torch.Generator().manual_seed(30)
    x0 = torch.randn(128, 1, 28, 28, generator=g).clamp(-1, 1)
    t = torch.randint(0, 1000, (128,), generator=g)
    abar = torch.as_tensor(alphas_cumprod, dtype=torch.float32)[t].reshape(-1, 1, 1, 1)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * torch.randn(x0.shape, generator=g)
    net = CB.ChipNetwork(software, statistical(small("vcma-default")), chip_seed=4, calibration_inputs=(x_t, t))
    x_eval = x0[:16]
    timesteps = (50, 500, 950)
    rows = EC.epsilon_agreement(net, software, x_eval, alphas_cumprod, seed=3, timesteps=timesteps)
    assert [r["t"] for r in rows] == list(timesteps)
    for r in rows:
        assert set(r) == {"t", "exact_relative_error", "statistical_relative_error"}
        assert 0 < r["exact_relative_error"] < 1
        assert r["statistical_relative_error"] != r["exact_relative_error"]  # two engines, not one
        assert abs(r["statistical_relative_error"] / r["exact_relative_error"] - 1.0) < 0.2, r
    assert net.force_exact is False
    assert EC.epsilon_agreement(net, software, x_eval, alphas_cumprod, seed=3, timesteps=timesteps) == rows  # seeded
    assert len(EC.epsilon_agreement(net, software, x_eval, alphas_cumprod, seed=3)) == len(EC.EPSILON_TIMESTEPS)


def test_exact_networks_are_refused(toy):
    net = CB.ChipNetwork(toy, small("vcma-default"), chip_seed=1, calibration_inputs=(_images(4, 40),))
    x = _images(2, 41)
    with pytest.raises(ValueError, match="statistical"):
        EC.layer_agreement(net, (x,))
    with pytest.raises(ValueError, match="statistical"):
        EC.epsilon_agreement(net, toy, x, np.linspace(0.99, 0.01, 1000))
