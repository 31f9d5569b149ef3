"""Tests of diffusion/generation/loop.py and of the noise sources it is handed (diffusion/generation/noise.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from device import mtj, rng
from device.errors import InputError, SpindiffError
from diffusion.generation.loop import Cancelled, sample
from diffusion.generation.noise import ArrayNoise, NoiseSource, TorchNoise
from diffusion.generation.samplers import DDIMSampler, DDPMSampler

T = 100
ACP = np.cumprod(1.0 - np.linspace(1e-4, 0.2, T))  # a short linear schedule
SHAPE = (3, 1, 4, 4)


class Recorder:
    """A denoiser that records its calls and returns a fixed affine ε (x_t/2)."""

    def __init__(self):
        self.calls: list[tuple[tuple[int, ...], torch.Tensor]] = []

    def __call__(self, x_t, t_batch):
        self.calls.append((tuple(x_t.shape), t_batch.clone()))
        return 0.5 * x_t


def _numpy_gaussian(seed):
    gen = np.random.default_rng(seed)
    return lambda shape: gen.standard_normal(shape, dtype=np.float32)


# --- the loop ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, eta, steps, expected_calls",
    [
        ("ddpm", None, 10, 10),  # x_T + one z per step but the last
        ("ddpm", None, T, T),
        ("ddim", 0.5, 7, 7),
        ("ddim", 0.0, 10, 1),  # deterministic: x_T only
    ],
)
def test_noise_source_is_called_once_per_used_noise(kind, eta, steps, expected_calls):
    sampler = DDPMSampler(ACP) if kind == "ddpm" else DDIMSampler(ACP, eta=eta)
    noise = TorchNoise(0)
    x = sample(Recorder(), sampler, noise, SHAPE, steps)
    assert x.shape == SHAPE and x.dtype == torch.float32
    assert noise.calls == expected_calls
    assert noise.samples_drawn == expected_calls * math.prod(SHAPE)


def test_denoiser_sees_every_kept_step_in_order_with_a_batch_of_t():
    sampler, rec = DDPMSampler(ACP), Recorder()
    sample(rec, sampler, TorchNoise(0), SHAPE, 8)
    assert [int(t[0]) for _, t in rec.calls] == sampler.timesteps.tolist()
    for shape, t in rec.calls:
        assert shape == SHAPE and t.dtype == torch.long and t.shape == (SHAPE[0],)
        assert torch.all(t == t[0])


def test_loop_equals_the_hand_written_chain():
    """x_T, then per step: ε, z (drawn after ε), step; with the same stream the results are identical."""
    sampler = DDPMSampler(ACP, clip_sample=True)
    out = sample(Recorder(), sampler, TorchNoise(3), SHAPE, 12)
    ref_noise, ref = TorchNoise(3), DDPMSampler(ACP, clip_sample=True)
    ref.set_timesteps(12)
    x = ref_noise.gaussian(SHAPE)
    for t in ref.timesteps:
        eps = 0.5 * x
        x = ref.step(eps, int(t), x, ref_noise.gaussian(SHAPE) if t != ref.timesteps[-1] else None)
    assert torch.equal(out, x)


def test_same_seed_same_images():
    runs = [sample(Recorder(), DDIMSampler(ACP, eta=1.0), ArrayNoise(_numpy_gaussian(5)), SHAPE, 9) for _ in range(2)]
    assert torch.equal(runs[0], runs[1])
    other = sample(Recorder(), DDIMSampler(ACP, eta=1.0), ArrayNoise(_numpy_gaussian(6)), SHAPE, 9)
    assert not torch.equal(runs[0], other)


def test_progress_reports_every_step_with_the_x0_estimate():
    seen = []
    sampler = DDPMSampler(ACP)
    out = sample(Recorder(), sampler, TorchNoise(0), SHAPE, 6, progress=lambda i, n, x0: seen.append((i, n, x0)))
    assert [(i, n) for i, n, _ in seen] == [(i, 6) for i in range(1, 7)]
    assert all(x0.shape == SHAPE and float(x0.abs().max()) <= 1.0 for _, _, x0 in seen)  # clipped
    torch.testing.assert_close(seen[-1][2], out)  # the last step returns the final x̂_0


@pytest.mark.parametrize("stop_after", [0, 1, 3, 5])
def test_cancel_stops_before_the_next_step(stop_after):
    rec, checks = Recorder(), []

    def cancel():
        checks.append(len(rec.calls))
        return len(rec.calls) >= stop_after

    with pytest.raises(Cancelled) as info:
        sample(rec, DDPMSampler(ACP), TorchNoise(0), SHAPE, 6, cancel=cancel)
    assert info.value.steps_done == stop_after and info.value.total == 6
    assert len(rec.calls) == stop_after  # no step ran after cancel() said so
    assert checks == list(range(stop_after + 1))  # checked before every step
    assert isinstance(info.value, SpindiffError) and f"after {stop_after} of 6" in str(info.value)


def test_cancel_checked_before_every_step_when_never_cancelled():
    checks = []

    def cancel():
        checks.append(1)
        return False

    sample(Recorder(), DDPMSampler(ACP), TorchNoise(0), SHAPE, 6, cancel=cancel)
    assert len(checks) == 6


@pytest.mark.parametrize("shape", [(), (0, 4), (2, -1), (2.0, 3), "abc"])
def test_bad_shapes_raise(shape):
    with pytest.raises(InputError, match="shape"):
        sample(Recorder(), DDPMSampler(ACP), TorchNoise(0), shape, 5)


def test_bad_num_steps_raise_from_the_loop():
    for steps in (0, T + 1):
        with pytest.raises(InputError, match="num_steps"):
            sample(Recorder(), DDPMSampler(ACP), TorchNoise(0), SHAPE, steps)


# --- noise sources ----------------------------------------------------------------------------------
def test_torch_noise_is_seeded_and_counted():
    a, b = TorchNoise(11), TorchNoise(11)
    x = a.gaussian((2, 3))
    assert x.dtype == torch.float32 and x.shape == (2, 3)
    assert torch.equal(x, b.gaussian([2, 3])) and not torch.equal(a.gaussian((2, 3)), x)
    assert (a.calls, a.samples_drawn) == (2, 12)
    assert isinstance(a, NoiseSource)
    z = TorchNoise(0).gaussian(200_000).double()  # N(0, 1): SE of mean 1/√n, of variance √(2/n)
    assert abs(z.mean().item()) < 4.5 / math.sqrt(z.numel())
    assert abs(z.var().item() - 1) < 4.5 * math.sqrt(2 / z.numel())


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, True, "7"])
def test_torch_noise_bad_seed_raises(seed):
    with pytest.raises(InputError, match="seed"):
        TorchNoise(seed)


def test_array_noise_counts_and_converts():
    asked = []
    buffer = np.arange(6, dtype=np.float32).reshape(2, 3)

    def fn(shape):
        asked.append(shape)
        return buffer

    noise = ArrayNoise(fn)
    x = noise.gaussian((2, 3))
    assert asked == [(2, 3)] and x.dtype == torch.float32 and x.shape == (2, 3)
    assert (noise.calls, noise.samples_drawn) == (1, 6)
    x += 100.0  # the tensor does not alias the source's buffer
    assert buffer[0, 0] == 0.0
    assert isinstance(noise, NoiseSource)


def test_array_noise_accepts_an_int_shape():
    noise = ArrayNoise(_numpy_gaussian(0))
    assert noise.gaussian(5).shape == (5,) and noise.samples_drawn == 5


@pytest.mark.parametrize(
    "returned, match",
    [
        (np.zeros((2, 3), dtype=np.float64), "float32"),
        (np.zeros((3, 2), dtype=np.float32), "shape"),
        (np.zeros(6, dtype=np.float32), "shape"),
        ([[0.0] * 3] * 2, "numpy array"),
        (torch.zeros(2, 3), "numpy array"),
    ],
)
def test_array_noise_rejects_bad_arrays(returned, match):
    noise = ArrayNoise(lambda shape: returned)
    with pytest.raises(InputError, match=match):
        noise.gaussian((2, 3))
    assert (noise.calls, noise.samples_drawn) == (0, 0)


def test_array_noise_rejects_non_callables_and_bad_shapes():
    with pytest.raises(InputError, match="callable"):
        ArrayNoise(np.zeros(3))
    with pytest.raises(InputError, match="shape"):
        ArrayNoise(_numpy_gaussian(0)).gaussian((2, -1))


def test_the_emulated_mtj_source_plugs_in():
    """`device.rng.MTJRandomSource.gaussian` is used as is; its own counter agrees with the adapter's."""
    params = rng.RNGParameters(source="ideal", calibration="none", n_devices=64)
    source = rng.MTJRandomSource(mtj.MTJParameters(), mtj.NO_VARIATION, params, chip_seed=1)
    noise = ArrayNoise(source.gaussian)
    x = sample(Recorder(), DDPMSampler(ACP), noise, SHAPE, 5)
    assert x.shape == SHAPE and torch.isfinite(x).all()
    assert noise.calls == 5 and noise.samples_drawn == source.counters.gaussian_samples == 5 * math.prod(SHAPE)
