"""Tests of device/chip.py: one ledger for programming and inference, footprints, the example workload."""

import numpy as np
import pytest

from device import calibration, chip, profiles
from device.errors import InputError
from device.ledger import Ledger


@pytest.fixture(scope="module")
def small_chip():
    profile = profiles.with_overrides(profiles.get_profile("vcma-default"), {"rng": {"n_devices": 64}})
    c = chip.Chip(profile, chip_seed=3)
    c.program_layer("a", np.random.default_rng(0).standard_normal((40, 20)))
    return c


def test_programming_and_calibration_are_charged_once(small_chip):
    prog = small_chip.ledger.counts("programming")
    assert prog["write_pulses"] > 0 and prog["write_verify_reads"] >= prog["write_pulses"]
    assert prog["rng_calibration_cycles"] == sum(calibration.window_schedule(10, 32768)) * 64
    assert small_chip.ledger.counts("inference")["write_pulses"] == 0


def test_inference_counts_matmuls_and_noise(small_chip):
    before = small_chip.ledger.copy()
    y = small_chip.matmul("a", np.ones((3, 40)), np.random.default_rng(1))
    z = small_chip.gaussian((2, 10))
    small_chip.count_digital(7)
    delta = Ledger.diff(small_chip.ledger, before).counts("inference")
    assert y.shape == (3, 20) and z.shape == (2, 10)
    assert delta["macs"] == 3 * 40 * 20
    assert delta["gaussian_samples"] == 20 and delta["rng_cycles"] > 0
    assert delta["digital_ops"] >= 7
    assert Ledger.diff(small_chip.ledger, before).counts("programming")["write_pulses"] == 0


def test_footprint_sums_layers(small_chip):
    fp = small_chip.footprint()
    assert fp.n_tiles == 2 and fp.n_cells == 2 * 40 * 20 * 6  # 120 column pairs, 64 per tile
    assert fp.n_rng_devices == 64 and fp.adc_bits == 8


def test_errors_name_the_layer(small_chip):
    with pytest.raises(InputError, match="'b'"):
        small_chip.matmul("b", np.ones((1, 40)), np.random.default_rng(0))
    with pytest.raises(InputError, match="already programmed"):
        small_chip.program_layer("a", np.ones((2, 2)))


def test_example_workload_report_is_complete_and_positive():
    profile = profiles.with_overrides(profiles.get_profile("vcma-default"), {"rng": {"n_devices": 64}})
    report = chip.example_workload(profile, images=2, steps=2, seed=1)
    assert report["energy_total_j"] == pytest.approx(sum(report["energy_j"].values()), rel=1e-9)
    assert report["energy_j"]["adc"] > 0 and report["energy_j"]["rng"] > 0 and report["energy_j"]["array_read"] > 0
    assert report["energy_per_image_j"] == pytest.approx(report["energy_total_j"] / 2, rel=1e-9)
    assert report["programming"] > 0 and report["energy_j"]["programming"] == 0  # programming reported apart
    assert set(report["baseline"]["accelerators"]) >= {"a100_sxm", "h100_sxm", "tpu_v4"}
    with pytest.raises(InputError, match="steps"):
        chip.example_workload(profile, steps=0)


def test_ideal_profile_has_no_adc_cost():
    profile = profiles.with_overrides(profiles.get_profile("ideal"), {"rng": {"n_devices": 64}})
    report = chip.example_workload(profile, images=1, steps=1)
    assert report["energy_j"]["adc"] == 0.0
