"""Tests of diffusion/generation/samplers/: respacing arithmetic, DDPM and DDIM steps, and sampling moments.

The statistical tests use data x_0 ~ N(μ, s²) per pixel, for which everything is Gaussian and known in
closed form. The optimal ε-predictor is

    ε*(x_t, t) = (x_t − √ᾱ_t·μ)·√(1−ᾱ_t) / (ᾱ_t·s² + 1 − ᾱ_t),

and with δ_t = x_t − √ᾱ_t·μ and v_t = ᾱ_t s² + 1 − ᾱ_t one reverse step is an affine map of δ plus noise:

    x̂_0 − μ = δ·√ᾱ s²/v,   ε* = δ·√(1−ᾱ)/v,
    DDPM (Ho et al. eq. 7, using c1 + c2·√ᾱ = √ᾱ_p):  δ_p = (c1·√ᾱ s²/v + c2)·δ + σ·z,
        c1 = √ᾱ_p·β/(1−ᾱ), c2 = √(1−β)·(1−ᾱ_p)/(1−ᾱ), σ² = β(1−ᾱ_p)/(1−ᾱ)
    DDIM (Song et al. eq. 12):  δ_p = (√ᾱ_p·√ᾱ s² + √(1−ᾱ_p−σ²)·√(1−ᾱ))/v · δ + σ·z.

`exact_chain` propagates the mean and variance of δ through these maps (from x_T ~ N(0, 1)), giving
the exact output moments of the discrete sampler. They differ from (μ, s²) by the sampler's own
discretization error: a fixed-variance sampler ignores the spread of x_0 given x_t, which
underestimates the variance (Bao et al. 2022, "Analytic-DPM"), by ~1 % at 1000 steps and ~10–20 %
at 50. Each moment test checks, with stated tolerances:
  (1) the closed-form chain is within the stated allowance of (μ, s²) (the size of that bias);
  (2) Monte Carlo moments of the real sampler match the chain within 4.5 standard errors
      (SE of the mean √(v/N), of the variance v·√(2/(N−1))), the check that catches coefficient bugs;
  (3) Monte Carlo moments are within 4.5 SE + allowance of (μ, s²) themselves.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from device.errors import InputError
from diffusion.generation.loop import sample
from diffusion.generation.noise import TorchNoise
from diffusion.generation.samplers import DDIMSampler, DDPMSampler, respace, respaced_betas, spaced_timesteps
from diffusion.generation.samplers.respacing import check_alphas_cumprod

T = 1000
MU, S_DATA = 0.5, 0.5
N_SAMPLES = 20_000
Z = 4.5  # standard errors allowed between a Monte Carlo moment and its exact value


# --- schedules, defined here so the samplers are tested independently of diffusion/model/schedule.py ---
def linear_betas(num_steps: int) -> np.ndarray:
    """Ho et al. 2020: β linear from 1e-4 to 0.02."""
    return np.linspace(1e-4, 0.02, num_steps, dtype=np.float64)


def cosine_betas(num_steps: int, s: float = 0.008) -> np.ndarray:
    """Nichol & Dhariwal 2021 eq. 17: ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2); β ≤ 0.999."""
    t = np.arange(num_steps + 1, dtype=np.float64)
    f = np.cos((t / num_steps + s) / (1 + s) * np.pi / 2) ** 2
    return np.minimum(1.0 - f[1:] / f[:-1], 0.999)


SCHEDULES = {"linear": np.cumprod(1.0 - linear_betas(T)), "cosine": np.cumprod(1.0 - cosine_betas(T))}


def optimal_eps(alphas_cumprod: np.ndarray, mu: float = MU, s: float = S_DATA):
    """ε*(x_t, t) for x_0 ~ N(mu, s²), coefficients in float64, returned in x_t's dtype."""
    acp = np.asarray(alphas_cumprod, dtype=np.float64)

    def denoise(x_t: torch.Tensor, t_batch: torch.Tensor) -> torch.Tensor:
        t = int(t_batch[0])
        assert t_batch.shape == x_t.shape[:1] and bool(torch.all(t_batch == t))  # the loop's batch of t
        a = float(acp[t])
        return (x_t - math.sqrt(a) * mu) * (math.sqrt(1 - a) / (a * s * s + 1 - a))

    return denoise


def exact_chain(alphas_cumprod, timesteps, kind: str, eta: float = 0.0, mu=MU, s=S_DATA):
    """Exact mean and variance of the sampler output for N(mu, s²) data (module docstring)."""
    kept = np.asarray(alphas_cumprod)[np.asarray(timesteps)]  # descending t: ᾱ ascending
    prev = np.append(kept[1:], 1.0)
    mean, var = -math.sqrt(kept[0]) * mu, 1.0  # δ_T = x_T − √ᾱ_T μ, x_T ~ N(0, 1)
    for a, ap in zip(kept, prev):
        v, beta = a * s * s + 1 - a, 1 - a / ap
        if kind == "ddpm":
            c1, c2 = math.sqrt(ap) * beta / (1 - a), math.sqrt(1 - beta) * (1 - ap) / (1 - a)
            d, sig2 = c1 * math.sqrt(a) * s * s / v + c2, beta * (1 - ap) / (1 - a)
        else:
            sig2 = eta**2 * (1 - ap) / (1 - a) * beta
            d = (math.sqrt(ap * a) * s * s + math.sqrt(max(1 - ap - sig2, 0.0) * (1 - a))) / v
        mean, var = d * mean, d * d * var + sig2
    return mu + mean, var


def make_sampler(kind: str, acp, eta: float = 0.0, clip: bool = False, **kw):
    if kind == "ddpm":
        return DDPMSampler(acp, clip_sample=clip, **kw)
    return DDIMSampler(acp, eta=eta, clip_sample=clip, **kw)


# --- respacing arithmetic ------------------------------------------------------------------------
def test_trailing_spacing_keeps_the_last_training_step():
    np.testing.assert_array_equal(spaced_timesteps(1000, 50), np.arange(19, 1000, 20))
    # round-half-up(k·10/3) − 1 for k = 1, 2, 3: 3.33 → 3, 6.67 → 7, 10 → 10
    np.testing.assert_array_equal(spaced_timesteps(10, 3), [2, 6, 9])
    np.testing.assert_array_equal(spaced_timesteps(10, 1), [9])
    np.testing.assert_array_equal(spaced_timesteps(7, 7), np.arange(7))


def test_linspace_spacing_keeps_both_ends():
    np.testing.assert_array_equal(spaced_timesteps(1000, 4, "linspace"), [0, 333, 666, 999])
    np.testing.assert_array_equal(spaced_timesteps(6, 3, "linspace"), [0, 3, 5])  # 2.5 rounds up
    np.testing.assert_array_equal(spaced_timesteps(10, 1, "linspace"), [9])
    np.testing.assert_array_equal(spaced_timesteps(7, 7, "linspace"), np.arange(7))


@pytest.mark.parametrize("spacing", ["trailing", "linspace"])
def test_every_step_count_gives_distinct_increasing_steps(spacing):
    for n_train in (1, 2, 37, 1000):
        for n in range(1, n_train + 1):
            kept = spaced_timesteps(n_train, n, spacing)
            assert kept.dtype == np.int64 and kept.shape == (n,)
            assert kept[-1] == n_train - 1 and kept[0] >= 0
            assert np.all(np.diff(kept) > 0), (n_train, n, kept)


def test_respaced_betas_by_hand():
    acp = np.array([0.9, 0.7, 0.4, 0.2, 0.05])
    np.testing.assert_allclose(respaced_betas(acp, np.array([1, 3, 4])), [0.3, 1 - 0.2 / 0.7, 0.75], rtol=1e-14)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_full_respacing_reproduces_the_training_betas(name):
    betas = linear_betas(T) if name == "linear" else cosine_betas(T)
    r = respace(np.cumprod(1.0 - betas), T)
    np.testing.assert_array_equal(r.timesteps, np.arange(T)[::-1])
    np.testing.assert_allclose(r.betas[::-1], betas, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("spacing", ["trailing", "linspace"])
def test_respaced_chain_visits_the_kept_alphas_cumprod(spacing):
    acp = SCHEDULES["cosine"]
    r = respace(acp, 37, spacing)
    # rtol: 1 − β' loses digits where ᾱ ratios are ~1e-3 (cosine tail, β clipped at 0.999)
    np.testing.assert_allclose(np.cumprod(1.0 - r.betas[::-1]), acp[r.timesteps[::-1]], rtol=1e-9)
    np.testing.assert_allclose(r.alphas_cumprod_prev[:-1], r.alphas_cumprod[1:], rtol=0)
    assert r.alphas_cumprod_prev[-1] == 1.0


def test_set_timesteps_gives_descending_kept_steps():
    for sampler in (DDPMSampler(SCHEDULES["linear"]), DDIMSampler(SCHEDULES["linear"])):
        np.testing.assert_array_equal(sampler.timesteps, np.arange(T)[::-1])  # before set_timesteps
        sampler.set_timesteps(50)
        np.testing.assert_array_equal(sampler.timesteps, np.arange(999, 0, -20))
        assert sampler.timesteps.dtype == np.int64


def test_caller_schedule_is_copied_not_mutated():
    acp = SCHEDULES["linear"].copy()
    sampler = DDPMSampler(acp)
    acp[:] = 0.5  # later changes by the caller do not reach the sampler
    assert sampler.alphas_cumprod[0] == SCHEDULES["linear"][0]
    assert not sampler.alphas_cumprod.flags.writeable


# --- validation branches -------------------------------------------------------------------------
@pytest.mark.parametrize("num_steps", [0, -3, T + 1, 2.5, True, "50", None])
@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_bad_num_steps_raise(kind, num_steps):
    sampler = make_sampler(kind, SCHEDULES["linear"])
    with pytest.raises(InputError, match="num_steps"):
        sampler.set_timesteps(num_steps)


@pytest.mark.parametrize(
    "acp, match",
    [
        (np.zeros((2, 3)) + 0.5, "1-D"),
        (np.array([]), "1-D"),
        (np.array([0.9, np.nan]), "finite"),
        (np.array([1.0, 0.5]), r"\(0, 1\)"),
        (np.array([0.9, 0.0]), r"\(0, 1\)"),
        (np.array([0.9, 0.9, 0.5]), "strictly decreasing"),
    ],
)
def test_bad_alphas_cumprod_raise(acp, match):
    with pytest.raises(InputError, match=match):
        check_alphas_cumprod(acp)
    with pytest.raises(InputError, match=match):
        DDPMSampler(acp)
    with pytest.raises(InputError, match=match):
        DDIMSampler(acp)


def test_bad_constructor_arguments_raise():
    acp = SCHEDULES["linear"]
    with pytest.raises(InputError, match="variance"):
        DDPMSampler(acp, variance="learned")
    for eta in (-0.1, 1.5, float("nan"), True, "0"):
        with pytest.raises(InputError, match="eta"):
            DDIMSampler(acp, eta=eta)
    for kind in ("ddpm", "ddim"):
        with pytest.raises(InputError, match="spacing"):
            make_sampler(kind, acp, spacing="leading")
    with pytest.raises(InputError, match="num_train_timesteps"):
        spaced_timesteps(0, 1)


def test_bad_respaced_timesteps_raise():
    acp = np.array([0.9, 0.7, 0.4])
    for t in (np.array([2, 1]), np.array([0, 3]), np.array([-1, 1]), np.array([0.0, 1.0]), np.array([], int)):
        with pytest.raises(InputError, match="timesteps"):
            respaced_betas(acp, t)


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_bad_step_arguments_raise(kind):
    sampler = make_sampler(kind, SCHEDULES["linear"], eta=1.0)
    sampler.set_timesteps(10)
    x, eps = torch.zeros(4, 3), torch.zeros(4, 3)
    with pytest.raises(InputError, match="t=998 is not one of"):
        sampler.step(eps, 998, x, torch.zeros(4, 3))
    with pytest.raises(InputError, match="integer timestep"):
        sampler.step(eps, 999.0, x, torch.zeros(4, 3))
    with pytest.raises(InputError, match="noise is required at t=999"):
        sampler.step(eps, 999, x, None)
    with pytest.raises(InputError, match=r"noise must have the sample's shape \(4, 3\), got \(4,\)"):
        sampler.step(eps, 999, x, torch.zeros(4))
    with pytest.raises(InputError, match="model_output must have"):
        sampler.step(torch.zeros(3, 4), 999, x, torch.zeros(4, 3))


# --- single steps against the equations ------------------------------------------------------------
def _step_inputs(seed: int, shape=(64,)):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(3))


def test_ddpm_step_matches_ho_eq_7_and_the_large_variance():
    acp = SCHEDULES["cosine"]
    eps, x, z = _step_inputs(0)
    small, large = DDPMSampler(acp, clip_sample=False), DDPMSampler(acp, clip_sample=False, variance="large")
    for s in (small, large):
        s.set_timesteps(20)
    t, t_prev = int(small.timesteps[3]), int(small.timesteps[4])
    a, ap = acp[t], acp[t_prev]
    beta = 1 - a / ap
    x0 = (x - math.sqrt(1 - a) * eps) / math.sqrt(a)
    mean = math.sqrt(ap) * beta / (1 - a) * x0 + math.sqrt(1 - beta) * (1 - ap) / (1 - a) * x
    torch.testing.assert_close(small.step(eps, t, x, z), mean + math.sqrt(beta * (1 - ap) / (1 - a)) * z)
    torch.testing.assert_close(large.step(eps, t, x, z), mean + math.sqrt(beta) * z)


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_last_step_returns_the_x0_estimate_and_ignores_noise(kind):
    acp = SCHEDULES["linear"]
    sampler = make_sampler(kind, acp, eta=1.0, clip=True)
    sampler.set_timesteps(50)
    eps, x, z = _step_inputs(1)
    t = int(sampler.timesteps[-1])
    assert not sampler.needs_noise(t) and sampler.needs_noise(int(sampler.timesteps[-2]))
    x0 = ((x - math.sqrt(1 - acp[t]) * eps) / math.sqrt(acp[t])).clamp(-1, 1)
    torch.testing.assert_close(sampler.step(eps, t, x, None), x0)
    torch.testing.assert_close(sampler.step(eps, t, x, z), x0)


def test_clip_sample_bounds_the_x0_estimate():
    acp = SCHEDULES["linear"]
    x = torch.full((5,), 3.0 * math.sqrt(acp[999]))  # with ε = 0, x̂_0 = 3
    for clip, expected in ((True, 1.0), (False, 3.0)):
        for sampler in (DDPMSampler(acp, clip_sample=clip), DDIMSampler(acp, clip_sample=clip)):
            torch.testing.assert_close(sampler.predict_x0(torch.zeros(5), 999, x), torch.full((5,), expected))


def test_ddim_sigma_follows_song_eq_16():
    acp = SCHEDULES["linear"]
    full, half = DDIMSampler(acp, eta=1.0), DDIMSampler(acp, eta=0.5)
    for s in (full, half):
        s.set_timesteps(25)
    for t, t_prev in zip(full.timesteps[:-1], full.timesteps[1:]):
        a, ap = acp[t], acp[t_prev]
        assert full.sigma(t) ** 2 == pytest.approx((1 - ap) / (1 - a) * (1 - a / ap), rel=1e-12)
        assert half.sigma(t) == pytest.approx(0.5 * full.sigma(t), rel=1e-12)
    assert full.sigma(full.timesteps[-1]) == 0.0
    assert DDIMSampler(acp, eta=0.0).sigma(500) == 0.0


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_sampler_draws_no_randomness(kind):
    """Same inputs → bit-identical output, global RNG untouched; other noise moves it by exactly σΔz."""
    sampler = make_sampler(kind, SCHEDULES["cosine"], eta=0.7, clip=True)
    sampler.set_timesteps(30)
    eps, x, z = _step_inputs(2)
    z2 = z + 1.0
    t = int(sampler.timesteps[5])
    state = torch.get_rng_state()
    first = sampler.step(eps, t, x, z)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(sampler.step(eps, t, x, z), first)
    a, ap = sampler.respacing.alphas_cumprod[5], sampler.respacing.alphas_cumprod_prev[5]
    sigma = math.sqrt((1 - ap) / (1 - a) * (1 - a / ap)) * (0.7 if kind == "ddim" else 1.0)
    torch.testing.assert_close(sampler.step(eps, t, x, z2) - first, torch.full_like(x, sigma))


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_t_may_be_an_integer_tensor(kind):
    sampler = make_sampler(kind, SCHEDULES["linear"], eta=1.0)
    eps, x, z = _step_inputs(7)
    assert torch.equal(sampler.step(eps, torch.tensor(500), x, z), sampler.step(eps, np.int64(500), x, z))


def test_inputs_are_not_mutated():
    sampler = DDIMSampler(SCHEDULES["linear"], eta=1.0)
    eps, x, z = _step_inputs(3)
    copies = [v.clone() for v in (eps, x, z)]
    sampler.step(eps, 500, x, z)
    for v, c in zip((eps, x, z), copies):
        assert torch.equal(v, c)


# --- DDIM special cases ---------------------------------------------------------------------------
@pytest.mark.parametrize("num_steps", [T, 13])
def test_ddim_eta_one_is_the_ddpm_small_variance_step(num_steps):
    """Song et al. §4.1: η = 1 gives σ² = β̃ and the same mean as Ho et al. eq. 7, step by step."""
    acp = SCHEDULES["cosine"]
    ddpm, ddim = DDPMSampler(acp, clip_sample=False), DDIMSampler(acp, eta=1.0, clip_sample=False)
    ddpm.set_timesteps(num_steps)
    ddim.set_timesteps(num_steps)
    eps, x, z = _step_inputs(4, shape=(256,))
    for t in ddpm.timesteps[:: max(1, num_steps // 40)]:
        torch.testing.assert_close(ddim.step(eps, t, x, z), ddpm.step(eps, t, x, z), rtol=1e-9, atol=1e-9)


def test_ddim_eta_zero_ignores_noise():
    """η = 0 is deterministic given x_T: whatever noise is passed, every step gives the same output."""
    acp = SCHEDULES["cosine"]
    sampler = DDIMSampler(acp, eta=0.0, clip_sample=True)
    sampler.set_timesteps(20)
    eps, x, z = _step_inputs(6)
    assert not any(sampler.needs_noise(t) for t in sampler.timesteps)
    for t in sampler.timesteps:
        assert torch.equal(sampler.step(eps, t, x, None), sampler.step(eps, t, x, 5.0 * z))


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_ddim_eta_zero_follows_the_closed_form_flow(name):
    """For N(μ, s²) data each η = 0 step is δ_p = c·δ (module docstring): x_0 = μ + Πc·(x_T − √ᾱ_T μ)."""
    acp = SCHEDULES[name]
    sampler = DDIMSampler(acp, eta=0.0, clip_sample=False)
    x_T = torch.randn(1000, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    out = sample(optimal_eps(acp), sampler, _Fixed(x_T), (1000,), 50)
    kept = acp[sampler.timesteps]
    prev = np.append(kept[1:], 1.0)
    v = kept * S_DATA**2 + 1 - kept
    gain = np.prod((np.sqrt(prev * kept) * S_DATA**2 + np.sqrt((1 - prev) * (1 - kept))) / v)
    expected = MU + gain * (x_T - math.sqrt(kept[0]) * MU)
    torch.testing.assert_close(out, expected, rtol=1e-9, atol=1e-9)


class _Fixed:
    """A noise source that hands out ``x_T`` once (the η = 0 loop asks for nothing more)."""

    def __init__(self, x_T):
        self.x_T = x_T

    def gaussian(self, shape):
        x, self.x_T = self.x_T, None
        return x.clone()


# --- moments against the analytic target ------------------------------------------------------------
CASES = {
    "ddpm-1000": ("ddpm", 1000, 0.0),
    "ddpm-50": ("ddpm", 50, 0.0),
    "ddim-eta0-50": ("ddim", 50, 0.0),
    "ddim-eta1-50": ("ddim", 50, 1.0),
}
# Allowed bias of the exact discrete sampler from (μ, s²) = (0.5, 0.25): (|Δmean|, |Δvar|/s²).
# Measured by `exact_chain` (rounded up): linear −1.55 %, −21.1 %, −11.1 %, −21.1 % in variance and
# mean −1.5e-3 for DDIM (x_T ~ N(0, 1) instead of N(√ᾱ_T μ, ·)); cosine −0.80 %, −12.5 %, −6.1 %,
# −12.5 % and |Δmean| < 2e-5.
ALLOWANCE = {
    ("linear", "ddpm-1000"): (1e-4, 0.02),
    ("linear", "ddpm-50"): (1e-4, 0.22),
    ("linear", "ddim-eta0-50"): (2e-3, 0.12),
    ("linear", "ddim-eta1-50"): (1e-4, 0.22),
    ("cosine", "ddpm-1000"): (1e-4, 0.01),
    ("cosine", "ddpm-50"): (1e-4, 0.13),
    ("cosine", "ddim-eta0-50"): (1e-4, 0.07),
    ("cosine", "ddim-eta1-50"): (1e-4, 0.13),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_output_moments_match_the_gaussian_data(name, case):
    kind, num_steps, eta = CASES[case]
    acp = SCHEDULES[name]
    sampler = make_sampler(kind, acp, eta=eta, clip=False)
    x = sample(optimal_eps(acp), sampler, TorchNoise(1234), (N_SAMPLES, 1), num_steps).double()
    mean_allow, var_allow = ALLOWANCE[(name, case)]
    exact_mean, exact_var = exact_chain(acp, sampler.timesteps, kind, eta)
    # (1) the discrete sampler's own bias, in closed form
    assert abs(exact_mean - MU) <= mean_allow and abs(exact_var / S_DATA**2 - 1) <= var_allow
    # (2) the real sampler against its exact moments
    se_mean, se_var = math.sqrt(exact_var / N_SAMPLES), exact_var * math.sqrt(2 / (N_SAMPLES - 1))
    mc_mean, mc_var = x.mean().item(), x.var().item()
    assert abs(mc_mean - exact_mean) <= Z * se_mean, (mc_mean, exact_mean, se_mean)
    assert abs(mc_var - exact_var) <= Z * se_var, (mc_var, exact_var, se_var)
    # (3) the real sampler against the data distribution
    assert abs(mc_mean - MU) <= Z * se_mean + mean_allow
    assert abs(mc_var - S_DATA**2) <= Z * se_var + var_allow * S_DATA**2


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_discretization_bias_vanishes_with_more_steps(name):
    """The exact discrete samplers converge to N(μ, s²): variance bias shrinks as S grows."""
    acp = SCHEDULES[name]
    for kind in ("ddpm", "ddim"):
        bias = [exact_chain(acp, spaced_timesteps(T, n)[::-1], kind)[1] / S_DATA**2 - 1 for n in (10, 50, 250, 1000)]
        assert all(b < 0 for b in bias) and np.all(np.diff(np.abs(bias)) < 0), (kind, bias)
        assert abs(bias[-1]) < 0.02


def test_ddim_clipping_does_not_feed_back_into_the_direction_term():
    """At t = T−1 of the cosine schedule x̂_0 is amplified noise; clipping it must not leak into ε."""
    acp = SCHEDULES["cosine"]
    sampler = DDIMSampler(acp, eta=0.0, clip_sample=True)
    sampler.set_timesteps(20)
    eps, x, _ = _step_inputs(8, shape=(4096,))
    t0 = int(sampler.timesteps[0])
    i = sampler.respacing.index(t0)
    a_prev = float(sampler.respacing.alphas_cumprod_prev[i])
    expected = math.sqrt(a_prev) * sampler.predict_x0(eps, t0, x) + math.sqrt(1 - a_prev) * eps
    torch.testing.assert_close(sampler.step(eps, t0, x, None), expected, rtol=1e-9, atol=1e-9)
