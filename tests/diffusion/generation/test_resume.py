"""Tests of diffusion/generation/resume.py and the resume path of generate/loop: a generation stopped after k steps
and resumed from its `GenerationState` gives the uninterrupted run's images bit for bit, its noise digests and its
ledger's counts, on software and on chips (exact and statistical engines, torch and MTJ noise)."""

import numpy as np
import pytest
import torch

from device import profiles
from device.errors import InputError
from diffusion.generation.generate import GenerationRequest, generate
from diffusion.generation.loop import LoopState, sample
from diffusion.generation.noise import TorchNoise
from diffusion.generation.resume import GenerationState
from diffusion.generation.samplers import DDIMSampler
from diffusion.model.checkpoints import ModelBundle
from diffusion.model.schedule import ScheduleConfig
from diffusion.model.unet import UNet, UNetConfig

TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), num_res_blocks=1, time_embed_dim=16, norm_groups=4)


class Stop(Exception):
    """What a worker's stop check raises mid-run (a graceful stop, a lost process)."""


@pytest.fixture(scope="module")
def bundle():
    torch.manual_seed(0)
    model = UNet(TINY).eval()
    return ModelBundle(model, TINY, ScheduleConfig(), {"sha256": "0" * 64})


def small(name):
    return profiles.with_overrides(profiles.get_profile(name), {"rng": {"n_devices": 64}})


def statistical(name):  # built as test_generate.py builds it, chip seed 4 too: the session's chip cache has it
    return profiles.with_overrides(small(name), {"crossbar": {"emulation": "statistical"}})


def interrupted(request, bundle, cache, stop_before: int) -> GenerationState:
    """Run ``request`` until step ``stop_before`` would start; the last state its checkpoint saw, through bytes."""
    states = []
    calls = iter(range(10_000))

    def cancel():
        if next(calls) == stop_before:
            raise Stop
        return False

    with pytest.raises(Stop):
        generate(request, bundle, cancel=cancel, chip_cache=cache, checkpoint=states.append)
    assert states[-1].step == stop_before
    return GenerationState.from_bytes(states[-1].to_bytes())


CASES = {
    "software, torch noise": dict(profile="software"),
    "software, MTJ noise": dict(profile="software", noise="mtj"),
    "chip exact, torch noise": dict(profile=small("vcma-default")),
    "chip exact, MTJ noise": dict(profile=small("vcma-default"), noise="mtj"),
    "chip statistical, MTJ noise": dict(profile=statistical("vcma-default"), noise="mtj"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_resumed_generation_is_bit_identical_to_an_uninterrupted_one(bundle, case):
    cache = {}
    request = GenerationRequest(
        num_images=2, steps=5, sampler="ddpm", seed=11, chip_seed=4, calibration_batch=4, **CASES[case]
    )
    whole = generate(request, bundle, chip_cache=cache)
    state = interrupted(request, bundle, cache, stop_before=3)
    resumed = generate(request, bundle, chip_cache=cache, resume=state)
    np.testing.assert_array_equal(resumed.images, whole.images)
    assert resumed.telemetry["resumed"] == {"from_step": 3, "total": 5} and whole.telemetry["resumed"] is None
    noise = ("x_T_sha256", "stream_sha256", "samples")
    record, whole_record = resumed.telemetry["reproducibility"]["noise"], whole.telemetry["reproducibility"]["noise"]
    assert {k: record[k] for k in noise} == {k: whole_record[k] for k in noise}  # the replayed noise, digest and all
    if request.hardware is not None:
        counts, whole_counts = resumed.telemetry["energy"]["counts"], whole.telemetry["energy"]["counts"]
        for name, value in whole_counts.items():
            if isinstance(value, int):
                assert counts[name] == value, name  # crossbar reads, conversions, RNG cycles: exact
            else:
                assert counts[name] == pytest.approx(value, rel=1e-12), name  # energy, latency: summed in another order
        assert state.analog_rng is not None and state.ledger["macs"] > 0 and "gaussian_samples" not in state.ledger


def test_a_state_after_every_step_resumes_to_the_same_images(bundle):
    request = GenerationRequest(profile="software", num_images=1, steps=4, sampler="ddim", eta=1.0, seed=2)
    states = []
    whole = generate(request, bundle, checkpoint=states.append)
    assert [s.step for s in states] == [1, 2, 3, 4] and states[0].ledger is None and states[0].analog_rng is None
    for state in states:
        np.testing.assert_array_equal(generate(request, bundle, resume=state).images, whole.images)


def test_a_paired_request_takes_no_checkpoints_and_refuses_a_state(bundle):
    request = GenerationRequest(profile="ideal", num_images=1, steps=2, seed=1, calibration_batch=4, paired=True)
    states = []
    generate(request, bundle, checkpoint=states.append)
    assert states == []
    unpaired = GenerationRequest(profile="software", num_images=1, steps=2, seed=1)
    state = []
    generate(unpaired, bundle, checkpoint=state.append)
    with pytest.raises(InputError, match="paired request runs its software twin"):
        generate(request, bundle, resume=state[0])


def test_a_state_of_another_request_is_refused(bundle):
    states = []
    generate(GenerationRequest(profile="software", num_images=1, steps=2, seed=1), bundle, checkpoint=states.append)
    with pytest.raises(InputError, match="fingerprint mismatch"):
        generate(GenerationRequest(profile="software", num_images=1, steps=2, seed=2), bundle, resume=states[0])


def test_bytes_that_are_not_a_state_are_refused_with_the_reason():
    state = GenerationState(1, 2, np.zeros((1, 1, 2, 2), np.float32), "f", analog_rng=b"abc", ledger={"macs": 3})
    data = state.to_bytes()
    back = GenerationState.from_bytes(data)
    assert back.analog_rng == b"abc" and back.ledger == {"macs": 3} and back.x.shape == (1, 1, 2, 2)
    with pytest.raises(InputError, match="no SPDS header"):
        GenerationState.from_bytes(b"nope" + data[4:])
    with pytest.raises(InputError, match="its header describes"):
        GenerationState.from_bytes(data[:-1])
    with pytest.raises(InputError, match="format 9"):
        GenerationState.from_bytes(data[:4] + b"\x09\x00" + data[6:])
    with pytest.raises(InputError, match="step must be"):
        GenerationState(3, 2, np.zeros(1, np.float32), "f")
    with pytest.raises(InputError, match="float32"):
        GenerationState(1, 2, np.zeros(1), "f")


def test_the_loop_refuses_a_start_that_does_not_fit_the_run():
    denoise = lambda x, t: torch.zeros_like(x)
    sampler = DDIMSampler(np.linspace(0.999, 0.01, 1000))
    with pytest.raises(InputError, match="cannot resume a 3-step run"):
        sample(denoise, sampler, TorchNoise(0), (1, 1, 4, 4), 3, start=LoopState(1, torch.zeros(2, 1, 4, 4)))
    with pytest.raises(InputError, match="from step 4"):
        sample(denoise, sampler, TorchNoise(0), (1, 1, 4, 4), 3, start=LoopState(4, torch.zeros(1, 1, 4, 4)))
