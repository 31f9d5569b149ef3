"""Tests of diffusion/generation/generate.py: software and chip requests, byte-identical replays, telemetry, outputs."""

import json

import numpy as np
import pytest
import torch

from device import profiles
from device.errors import InputError, ProfileError
from diffusion.generation import images as image_io
from diffusion.generation.generate import GenerationRequest, generate, write_outputs
from diffusion.model.checkpoints import ModelBundle
from diffusion.model.schedule import ScheduleConfig
from diffusion.model.unet import UNet, UNetConfig

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
    energy, counts = first.telemetry["energy"], first.telemetry["energy"]["counts"]
    # the request's ledger is this request's work: the network's MACs (2 images × 2 steps), the noise
    # it drew (x_T and one z: DDPM's last step takes none), no programming
    assert (
        counts["macs"]
        == 2 * first.telemetry["workload"]["macs_per_image"]
        == second.telemetry["energy"]["counts"]["macs"]
    )
    assert counts["gaussian_samples"] == first.telemetry["noise_samples"] == 2 * 784 * 2
    assert counts["write_pulses"] == counts["rng_calibration_cycles"] == 0
    assert energy["energy_j"]["programming"] == energy["energy_j"]["rng_calibration"] == 0.0
    assert energy["energy_j"]["rng"] > 0 and energy["energy_j"]["adc"] > 0
    assert energy["energy_total_j"] == pytest.approx(sum(energy["energy_j"].values()), rel=1e-12)
    assert energy["energy_per_image_j"] == pytest.approx(energy["energy_total_j"] / 2, rel=1e-12)
    programming = first.telemetry["programming"]  # the chip's one-off cost, the same for the second request
    assert programming["counts"]["write_pulses"] > 0 and programming["counts"]["macs"] == 0
    assert programming["energy_total_j"] == programming["programming_phase_energy_j"] > 0
    assert second.telemetry["programming"]["energy_total_j"] == programming["energy_total_j"]
    record = first.telemetry["reproducibility"]
    assert record["profile_hash"] == request.hardware.hash and record["seed"] == 9
    assert record["sampler"]["timesteps"] == [999, 499]


def test_cancel_and_progress_hooks_pass_through(bundle):
    seen = []
    generate(
        GenerationRequest(profile="software", num_images=1, steps=3),
        bundle,
        progress=lambda i, n, x: seen.append((i, n)),
    )
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
    [
        ({"num_images": 0}, "num_images"),
        ({"steps": 0}, "steps"),
        ({"sampler": "euler"}, "sampler"),
        ({"eta": 2.0}, "eta"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_requests_name_the_field(kwargs, word):
    with pytest.raises(InputError, match=word):
        GenerationRequest(**kwargs)


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ProfileError, match="unknown profile 'vcma-best'; known profiles: .*vcma-default"):
        _ = GenerationRequest(profile="vcma-best").hardware


# --- the noise source and pairing ---------------------------------------------------------------


def x_t_digest(seed: int, shape=(2, 1, 28, 28)) -> str:
    import hashlib

    from diffusion.generation.noise import TorchNoise

    return hashlib.sha256(TorchNoise(seed).gaussian(shape).numpy().tobytes()).hexdigest()


def statistical(name):
    return profiles.with_overrides(small(name), {"crossbar": {"emulation": "statistical"}})


def test_same_seed_gives_every_profile_the_same_x_T_and_step_noise(bundle):
    cache, records = {}, {}
    for label, profile in [
        ("software", "software"),
        ("ideal", "ideal"),
        ("vcma-default", small("vcma-default")),
        ("vcma-xor", small("vcma-xor")),
        ("statistical", statistical("vcma-default")),
    ]:
        request = GenerationRequest(profile=profile, num_images=2, steps=3, seed=21, chip_seed=4, calibration_batch=4)
        assert request.noise == "torch"  # the default
        records[label] = generate(request, bundle, chip_cache=cache).telemetry["reproducibility"]["noise"]
    assert {r["x_T_sha256"] for r in records.values()} == {x_t_digest(21)}  # torch's x_T itself
    assert len({r["stream_sha256"] for r in records.values()}) == 1 and records["ideal"]["samples"] == 2 * 784 * 3
    assert records["software"]["charged_to"] is None and "MTJ array" in records["vcma-default"]["charged_to"]


def test_mtj_noise_is_the_chips_own_array_and_pairs_software_with_the_reference_chip(bundle):
    cache = {}

    def record(profile, **kw):
        request = GenerationRequest(
            profile=profile, num_images=2, steps=2, seed=5, chip_seed=1, calibration_batch=4, noise="mtj", **kw
        )
        return generate(request, bundle, chip_cache=cache).telemetry["reproducibility"]["noise"]

    chip, software, xor = record("vcma-default"), record("software"), record(small("vcma-xor"))
    assert (
        chip["source"] == "mtj" and chip["stream_sha256"] == software["stream_sha256"]
    )  # software draws vcma-default's array
    assert (
        chip["x_T_sha256"] != x_t_digest(5, (2, 1, 28, 28)) and xor["x_T_sha256"] != chip["x_T_sha256"]
    )  # the array's physics


def test_torch_noise_still_charges_the_chips_random_source(bundle):
    cache = {}
    runs = {
        noise: generate(
            GenerationRequest(
                profile=small("vcma-default"), num_images=2, steps=3, seed=2, calibration_batch=4, noise=noise
            ),
            bundle,
            chip_cache=cache,
        )
        for noise in ("torch", "mtj")
    }
    energy = {noise: run.telemetry["energy"] for noise, run in runs.items()}
    assert energy["torch"]["energy_j"]["rng"] == energy["mtj"]["energy_j"]["rng"] > 0
    assert runs["torch"].telemetry["noise_samples"] == runs["mtj"].telemetry["noise_samples"] == 2 * 784 * 3


@pytest.fixture(scope="module")
def shipped():
    from diffusion.model.checkpoints import load_bundle
    from diffusion.shipped import MODEL_DIR

    return load_bundle(MODEL_DIR)


def test_ideal_gives_exactly_the_software_images(shipped):
    software = generate(GenerationRequest(profile="software", num_images=2, steps=3, seed=7), shipped)
    ideal = generate(GenerationRequest(profile="ideal", num_images=2, steps=3, seed=7), shipped)
    np.testing.assert_array_equal(ideal.images, software.images)
    assert ideal.telemetry["energy"]["energy_total_j"] > 0  # still the chip's ledger


def test_paired_ideal_is_identical_to_its_twin(shipped):
    result = generate(GenerationRequest(profile="ideal", num_images=2, steps=2, seed=3, paired=True), shipped)
    np.testing.assert_array_equal(result.twin_images, result.images)
    fidelity = result.telemetry["fidelity"]
    assert fidelity["same_noise"] is True and fidelity["identical"] == 2 and fidelity["n"] == 2
    assert fidelity["psnr_db"]["mean"] is None and fidelity["psnr_db"]["per_image"] == [None, None]  # infinite
    assert fidelity["ssim"]["mean"] == 1.0 and fidelity["ssim"]["min"] == 1.0
    assert "twin_sampling_s" in result.telemetry["timings"]


@pytest.mark.parametrize("noise", ["torch", "mtj"])
def test_paired_chip_request_reports_fidelity_to_the_software_twin(bundle, noise, tmp_path):
    cache = {}
    request = GenerationRequest(
        profile=small("vcma-lowbit"), num_images=2, steps=3, seed=8, calibration_batch=4, noise=noise, paired=True
    )
    paired = generate(request, bundle, chip_cache=cache)
    unpaired = generate(GenerationRequest(**{**request.__dict__, "paired": False}), bundle, chip_cache=cache)
    np.testing.assert_array_equal(paired.images, unpaired.images)  # the twin changes nothing on the chip ...
    assert paired.telemetry["energy"]["energy_j"] == pytest.approx(
        unpaired.telemetry["energy"]["energy_j"], rel=1e-12
    )  # ... nor its ledger
    fidelity = paired.telemetry["fidelity"]
    assert fidelity["same_noise"] is True and fidelity["identical"] < 2
    assert all(0 < p < 100 for p in fidelity["psnr_db"]["per_image"] if p is not None)
    assert all(-1 <= s < 1 for s in fidelity["ssim"]["per_image"])
    assert (
        fidelity["ssim"]["min"] <= fidelity["ssim"]["mean"]
        and fidelity["psnr_db"]["min"] <= fidelity["psnr_db"]["mean"]
    )
    if noise == "torch":  # the twin of a torch-noise request is the software request with that seed
        software = generate(GenerationRequest(profile="software", num_images=2, steps=3, seed=8), bundle)
        np.testing.assert_array_equal(paired.twin_images, software.images)
    written = write_outputs(paired, tmp_path)
    assert (tmp_path / "twin" / "grid.png").is_file() and len(written) == 2 + 1 + 2 + 1 + 1
    assert image_io.read_record((tmp_path / "twin" / "001.png").read_bytes())["twin"]


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"noise": "quantum"}, "noise must be one of"),
        ({"noise": None}, "noise must be one of"),
        ({"paired": "yes"}, "paired must be true or false"),
        ({"profile": "software", "paired": True}, "paired compares"),
    ],
)
def test_bad_noise_and_paired_values_name_the_field(kwargs, word):
    with pytest.raises(InputError, match=word):
        GenerationRequest(**kwargs)


def test_the_telemetry_is_a_typed_report_with_ranges_and_the_bit_area_metric(bundle):
    from diffusion.telemetry.report import load

    request = GenerationRequest(profile=small("vcma-default"), num_images=2, steps=2, seed=9, calibration_batch=4)
    report = load(generate(request, bundle).telemetry)
    assert report.schema_version == 2 and report.upgraded_from is None and report.energy.kind == "chip"
    ranges = report.energy.ratio_ranges
    assert [a.name for a in ranges.assumptions] == ["adc_model", "utilisation", "post_layout_factor"]
    for key, ratio in report.energy.ratios.energy_per_image_gpu_over_chip.items():
        spread = ranges.energy_per_image_gpu_over_chip[key]
        assert spread.low < spread.headline < spread.high and spread.headline == pytest.approx(ratio, rel=1e-12)
    metric = report.energy.energy_per_bit_area
    assert metric.chip_j_mm2 == report.energy.rng_detail.energy_per_bit_per_area_j_mm2 and metric.definition
    assert set(metric.accelerators["a100_sxm"].model_dump()) >= {"full_die", "rng_time_share"}
    software = load(generate(GenerationRequest(profile="software", num_images=1, steps=2), bundle).telemetry)
    assert software.energy.kind == "gpu_baseline" and software.schema_version == 2
