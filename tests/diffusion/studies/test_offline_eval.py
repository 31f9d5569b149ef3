"""Tests of diffusion/studies/offline_eval.py: batches of one request, the ε-error probe (tiny model, tiny N)."""

import numpy as np
import pytest
import torch

from device import profiles
from device.errors import InputError
from diffusion.generation.generate import GenerationRequest, generate
from diffusion.model.checkpoints import ModelBundle
from diffusion.model.schedule import ScheduleConfig
from diffusion.model.unet import UNet, UNetConfig
from diffusion.studies.offline_eval import Evaluation, epsilon_error, generate_images

TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), num_res_blocks=1, time_embed_dim=16, norm_groups=4)


@pytest.fixture(scope="module")
def bundle():
    torch.manual_seed(0)
    model = UNet(TINY).eval()
    with torch.no_grad():  # the U-Net zero-initialises its output layer; give ε a non-zero norm
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.05)
    return ModelBundle(model, TINY, ScheduleConfig(), {"sha256": "1" * 64})


def small(name, **sections):
    return profiles.with_overrides(profiles.get_profile(name), {"rng": {"n_devices": 64}, **sections})


def test_ideal_chip_has_float_level_epsilon_error_and_a_real_chip_does_not(bundle):
    ideal = epsilon_error(bundle, small("ideal"), timesteps=(100, 900), batch=4)
    assert ideal["mean"] < 1e-5, ideal  # float32 analog path vs float torch
    default = epsilon_error(bundle, small("vcma-default"), timesteps=(100, 900), batch=4)
    assert 1e-3 < default["mean"] < 2.0 and set(default["per_timestep"]) == {100, 900}
    assert max(abs(v) for v in ideal["offset_per_timestep"].values()) < 1e-5  # no systematic part either
    assert set(default["offset_per_timestep"]) == {100, 900}
    assert all(abs(v) <= default["per_timestep"][t] for t, v in default["offset_per_timestep"].items())  # |mean| ≤ RMS
    lowbit = epsilon_error(bundle, small("vcma-lowbit"), timesteps=(100, 900), batch=4)
    assert lowbit["mean"] > default["mean"]  # 4-bit DAC and ADC lose more than 8-bit


def test_generate_images_batches_with_offset_seeds(bundle):
    request = GenerationRequest(profile="software", num_images=2, steps=2, seed=3)
    evaluation = Evaluation(label="sw", request=request, n=5)
    assert evaluation.batch == 2 and [evaluation.batch_request(s).num_images for s in (0, 2, 4)] == [2, 2, 1]
    assert evaluation.batch_request(4).seed == 7 and evaluation.batch_request(4).steps == 2
    images, energy, seconds = generate_images(evaluation, bundle)
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8 and energy is None and seconds > 0
    again, _, _ = generate_images(Evaluation(label="sw", request=request, n=2), bundle)
    np.testing.assert_array_equal(images[:2], again)  # batch k uses seed + first index
    third = generate(GenerationRequest(profile="software", num_images=1, steps=2, seed=7), bundle).images
    np.testing.assert_array_equal(images[4:], third)  # the last batch: one image, seed 3 + 4


def test_evaluation_rejects_a_bad_n_or_request():
    with pytest.raises(InputError, match="n must be a positive integer"):
        Evaluation(label="x", request=GenerationRequest(profile="software"), n=0)
    with pytest.raises(InputError, match="request must be a GenerationRequest"):
        Evaluation(label="x", request={"profile": "software"}, n=4)
    with pytest.raises(InputError, match="num_images"):  # the batch size is the request's own field
        Evaluation(label="x", request=GenerationRequest(profile="software", num_images=0), n=4)


def test_precise_preset_lowers_the_epsilon_error(bundle):
    default = epsilon_error(bundle, small("vcma-default"), timesteps=(100, 900), batch=4)
    precise = epsilon_error(bundle, small("vcma-precise"), timesteps=(100, 900), batch=4)
    assert precise["mean"] < default["mean"]


def test_injected_epsilon_error_is_zero_at_r0_and_changes_images_otherwise(bundle):
    from diffusion.studies.offline_eval import generate_with_epsilon_error

    request = GenerationRequest(profile="software", num_images=3, steps=3, seed=5)
    plain = generate(request, bundle).images
    np.testing.assert_array_equal(generate_with_epsilon_error(bundle, request, 0.0), plain)
    perturbed = generate_with_epsilon_error(bundle, request, 0.5)
    assert perturbed.shape == plain.shape and (perturbed != plain).any()
    np.testing.assert_array_equal(generate_with_epsilon_error(bundle, request, 0.5), perturbed)  # seeded
    with pytest.raises(InputError, match="relative_error"):
        generate_with_epsilon_error(bundle, request, -0.1)


def test_independent_generator_does_not_replay_the_plain_seed():
    from diffusion.studies.offline_eval import independent_torch_generator

    plain = torch.randn(8, generator=torch.Generator().manual_seed(7))
    assert torch.equal(torch.randn(8, generator=torch.Generator().manual_seed(7 + 2**40)), plain)  # why it exists
    first = torch.randn(8, generator=independent_torch_generator(7, 41))
    assert not torch.equal(first, plain)
    assert not torch.equal(first, torch.randn(8, generator=independent_torch_generator(7, 42)))
    assert torch.equal(first, torch.randn(8, generator=independent_torch_generator(7, 41)))
