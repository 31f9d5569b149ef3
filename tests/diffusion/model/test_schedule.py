"""Tests of diffusion/model/schedule.py against closed forms and the moments of q(x_t | x_0)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from device.errors import InputError, ParameterError
from diffusion.model.schedule import (
    ScheduleConfig,
    alphas_cumprod,
    cosine_alpha_bar,
    cosine_betas,
    linear_betas,
    q_sample,
)


def test_linear_betas_match_ho_et_al():
    betas = linear_betas(1000)
    assert betas.dtype == np.float64 and betas.shape == (1000,)
    assert betas[0] == 1e-4 and betas[-1] == 0.02
    np.testing.assert_allclose(np.diff(betas), (0.02 - 1e-4) / 999, rtol=1e-9)


def test_alphas_cumprod_is_the_running_product():
    betas = np.array([0.1, 0.2, 0.5])
    np.testing.assert_allclose(alphas_cumprod(betas), [0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.5], rtol=1e-15)
    # ᾱ_T of the linear schedule in closed form: exp(Σ log(1 − β_t))
    betas = linear_betas(1000)
    expected = math.exp(sum(math.log1p(-b) for b in betas))
    assert alphas_cumprod(betas)[-1] == pytest.approx(expected, rel=1e-10)
    assert 4.0e-5 < expected < 4.1e-5  # Ho et al.'s ᾱ_T ≈ 4.04e-5: the endpoint is nearly pure noise


def test_cosine_schedule_follows_the_closed_form():
    T, s = 1000, 0.008
    abar = alphas_cumprod(cosine_betas(T, s))
    t = np.arange(1, T + 1)
    closed = np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2 / np.cos(s / (1 + s) * np.pi / 2) ** 2
    unclipped = cosine_betas(T, s, max_beta=1 - 1e-12) < 0.999
    np.testing.assert_allclose(abar[unclipped], closed[unclipped], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(cosine_alpha_bar(t, T, s), closed, rtol=1e-12, atol=1e-300)
    betas = cosine_betas(T, s)
    assert betas.max() == 0.999 and np.all(betas > 0) and np.all(np.diff(betas) >= 0)
    assert abar[T // 2 - 1] == pytest.approx(
        math.cos((0.5 + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2
    )


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_config_matches_the_functions(kind):
    config = ScheduleConfig(kind=kind, num_train_timesteps=50)
    betas = linear_betas(50) if kind == "linear" else cosine_betas(50)
    np.testing.assert_array_equal(config.betas(), betas)
    np.testing.assert_array_equal(config.alphas_cumprod(), alphas_cumprod(betas))
    assert ScheduleConfig.from_dict(config.to_dict()) == config
    assert hash(config) == hash(ScheduleConfig.from_dict(config.to_dict()))


def test_q_sample_is_the_analytic_mixture():
    abar = np.array([0.81, 0.36, 0.01])
    x0 = torch.tensor([[1.0], [2.0], [-4.0]])
    noise = torch.tensor([[1.0], [-1.0], [0.5]])
    x_t = q_sample(x0, torch.tensor([0, 1, 2]), noise, abar)
    np.testing.assert_allclose(
        x_t[:, 0].numpy(), [0.9 + math.sqrt(0.19), 1.2 - 0.8, -0.4 + math.sqrt(0.99) * 0.5], rtol=1e-6
    )
    assert x_t.dtype == torch.float32


def test_q_sample_mean_and_variance():
    """x_t | x_0 ~ N(√ᾱ x_0, (1−ᾱ) I): 200k draws, tolerance 5 standard errors."""
    abar = ScheduleConfig(kind="linear").alphas_cumprod()
    generator = torch.Generator().manual_seed(0)
    n, t = 200_000, 300
    x0 = torch.full((n, 1), 0.7, dtype=torch.float64)
    x_t = q_sample(x0, torch.full((n,), t), torch.randn(n, 1, generator=generator, dtype=torch.float64), abar)
    mean, var = float(x_t.mean()), float(x_t.var())
    expected_var = 1 - abar[t]
    assert abs(mean - math.sqrt(abar[t]) * 0.7) < 5 * math.sqrt(expected_var / n)
    assert abs(var - expected_var) < 5 * expected_var * math.sqrt(2 / (n - 1))


def test_q_sample_does_not_mutate_inputs():
    x0, noise = torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    q_sample(x0, torch.tensor([0, 1]), noise, np.array([0.5, 0.25]))
    assert torch.equal(x0, torch.ones(2, 1, 2, 2)) and torch.equal(noise, torch.zeros(2, 1, 2, 2))


@pytest.mark.parametrize(
    ("t", "noise_shape", "match"),
    [
        (torch.tensor([0, 3]), (2, 1), r"\[0, 3\)"),
        (torch.tensor([-1, 0]), (2, 1), r"\[0, 3\)"),
        (torch.tensor([0.0, 1.0]), (2, 1), "integer"),
        (torch.tensor([0]), (2, 1), "shape"),
        (torch.tensor([0, 1]), (2, 2), "noise shape"),
    ],
)
def test_q_sample_rejects_bad_input(t, noise_shape, match):
    with pytest.raises(InputError, match=match):
        q_sample(torch.zeros(2, 1), t, torch.zeros(noise_shape), np.array([0.9, 0.5, 0.1]))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: linear_betas(1), "integer >= 2"),
        (lambda: linear_betas(10, 0.0, 0.02), "beta_start"),
        (lambda: linear_betas(10, 0.03, 0.02), "beta_start"),
        (lambda: cosine_betas(10, s=-0.1), "offset s"),
        (lambda: cosine_betas(10, max_beta=1.0), "max_beta"),
        (lambda: alphas_cumprod(np.array([0.1, 1.0])), "found 1.0"),
        (lambda: alphas_cumprod(np.zeros((0,))), "non-empty"),
        (lambda: ScheduleConfig(kind="quadratic"), "'quadratic'"),
        (lambda: ScheduleConfig(num_train_timesteps=1.5), "1.5"),
        (lambda: ScheduleConfig(kind="linear", beta_end=2.0), "beta_end=2.0"),
        (lambda: ScheduleConfig.from_dict({"kind": "linear", "bogus": 1}), "bogus"),
    ],
)
def test_invalid_schedules_raise(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
