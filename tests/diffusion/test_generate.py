"""Tests of diffusion/generate.py: software and chip requests, byte-identical replays, telemetry, outputs."""

import json

import numpy as np
import pytest
import torch

from device import profiles
from device.errors import InputError
from diffusion import images as image_io
from diffusion.checkpoints import ModelBundle
from diffusion.generate import GenerationRequest, generate, write_outputs
from diffusion.schedule import ScheduleConfig
from diffusion.unet import UNet, UNetConfig

TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), num_res_blocks=1, time_embed_dim=16, norm_groups=4)


@pytest.fixture(scope="module")
def bundle():
    torch.manual_seed(0)
    model = UNet(TINY).eval()
    return ModelBundle(model, TINY, ScheduleConfig(), {"sha256": "0" * 64})


def small(name):
    return profiles.with_overrides(profiles.get_profile(name), {"rng": {"n_devices": 64}})


def test_software_replays_byte_identically(bundle):
    request = GenerationRequest(profile="software", num_images=2, steps=3, seed=5)
    a, b = generate(request, bundle), generate(request, bundle)
    assert a.images.dtype == np.uint8 and a.images.shape == (2, 28, 28)
    np.testing.assert_array_equal(a.images, b.images)
    other = generate(GenerationRequest(profile="software", num_images=2, steps=3, seed=6), bundle)
    assert not np.array_equal(a.images, other.images)
    assert "baseline" in a.telemetry["energy"]


def test_chip_request_is_reproducible_and_reports_costs(bundle):
    cache = {}
    request = GenerationRequest(profile=small("vcma-default"), num_images=2, steps=2, seed=9, calibration_batch=4)
    first = generate(request, bundle, chip_cache=cache)
    second = generate(request, bundle, chip_cache=cache)  # same programmed chip, reseeded noise
    np.testing.assert_array_equal(first.images, second.images)
    assert len(cache) == 1 and second.telemetry["timings"]["programming_s"] == 0.0
    energy = first.telemetry["energy"]
    assert energy["energy_total_j"] > 0 and energy["energy_j"]["rng"] > 0 and energy["energy_j"]["adc"] > 0
    assert first.telemetry["programming"]["energy_total_j"] > 0
    record = first.telemetry["reproducibility"]
    assert record["profile_hash"] == request.hardware.hash and record["seed"] == 9
    assert record["sampler"]["timesteps"] == [999, 499]


def test_cancel_and_progress_hooks_pass_through(bundle):
    seen = []
    generate(GenerationRequest(profile="software", num_images=1, steps=3), bundle, progress=lambda i, n, x: seen.append((i, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_outputs_carry_the_record(bundle, tmp_path):
    result = generate(GenerationRequest(profile="software", num_images=3, steps=2, seed=1), bundle)
    written = write_outputs(result, tmp_path)
    assert (tmp_path / "grid.png").is_file() and (tmp_path / "telemetry.json").is_file()
    record = image_io.read_record((tmp_path / "001.png").read_bytes())
    assert record["seed"] == 1 and record["index"] == 1
    assert json.loads((tmp_path / "telemetry.json").read_text())["request"]["profile"] == "software"
    assert len(written) == 5


@pytest.mark.parametrize(
    "kwargs, word",
    [({"num_images": 0}, "num_images"), ({"steps": 0}, "steps"), ({"sampler": "euler"}, "sampler"),
     ({"eta": 2.0}, "eta"), ({"seed": -1}, "seed")],
)  # fmt: skip
def test_bad_requests_name_the_field(kwargs, word):
    with pytest.raises(InputError, match=word):
        GenerationRequest(**kwargs)


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(Exception, match="unknown profile"):
        GenerationRequest(profile="vcma-best").hardware
