"""Tests of device/rng.py: the MTJ random source passes NIST when calibrated, fails when not, replays by seed."""

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from device import calibration, profiles, randomness, rng
from device.errors import InputError, ParameterError

CALIBRATED = ["ideal", "vcma-default", "vcma-xor", "vcma-thermal"]


@pytest.fixture(scope="module")
def sources():
    return {name: profiles.make_random_source(profiles.get_profile(name), chip_seed=42) for name in profiles.PROFILES}


@pytest.mark.slow
@pytest.mark.parametrize("name", CALIBRATED)
def test_calibrated_profiles_pass_every_nist_test_on_a_million_bits(sources, name):
    bits = sources[name].bits(1_000_000)
    results = randomness.run_nist_suite(bits, alpha=0.01)
    assert len(results) >= 8
    failed = [(r.name, r.p_value) for r in results if not r.passed]
    assert not failed, f"{name}: {failed}"


def test_uncalibrated_profile_fails_the_frequency_test(sources):
    bits = sources["vcma-uncalibrated"].bits(1_000_000)
    assert randomness.frequency(bits) < 1e-6
    # the stray field biases every device towards the parallel state: far fewer ones than zeros
    assert bits.mean() < 0.45


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vcma-default", "vcma-thermal"])
def test_calibrated_gaussian_output_passes_ks_on_a_million_samples(sources, name):
    samples = sources[name].gaussian(1_000_000, dtype=np.float64)
    check = randomness.normality_checks(samples)
    assert check.ks_p > 0.01
    assert abs(check.kurtosis) < 5 * math.sqrt(24 / 1e6)


def test_uncalibrated_gaussian_output_is_visibly_shifted(sources):
    samples = sources["vcma-uncalibrated"].gaussian(200_000, dtype=np.float64)
    assert stats.kstest(samples, "norm").pvalue < 1e-6
    assert samples.mean() < -0.2  # fewer ones in the most significant bits


def test_calibration_brings_every_device_close_to_one_half(sources):
    calibrated = sources["vcma-default"].probabilities
    uncalibrated = sources["vcma-uncalibrated"].probabilities
    assert abs(uncalibrated.mean() - 0.38) < 0.02 and uncalibrated.std() > 0.02
    # window 32768 → binomial σ 0.0028; residual per device stays within a few σ, and the mean
    # (no systematic half-step offset, see calibration.py) within 3e-4
    assert np.max(np.abs(calibrated - 0.5)) < 0.015
    assert abs(calibrated.mean() - 0.5) < 3e-4
    assert sources["vcma-default"].knob == "bias_field"


def test_thermal_profile_calibrates_each_devices_pulse_voltage_to_its_own_v50(sources):
    source = sources["vcma-thermal"]
    assert source.knob == "pulse_voltage"
    v50 = source.v50()
    assert np.isfinite(v50).all() and np.std(v50) > 0.01  # each device its own V50, tens of mV apart
    step = 2 * source.params.voltage_dac_span / 2**source.params.dac_bits
    # SAR on a 32768-cycle window: slope ≈ 6/V, σ(p̂) ≈ 0.003 → ≈ 0.5 mV from V50, plus the DAC step
    assert np.median(np.abs(source.knob_values - v50)) < 1e-3 + step
    assert np.corrcoef(source.knob_values, v50)[0, 1] > 0.99


def test_ideal_source_is_exactly_fair():
    source = profiles.make_random_source(profiles.get_profile("ideal"), chip_seed=1)
    assert np.all(source.probabilities == 0.5)
    assert source.counters.calibration_cycles == 0


def test_same_chip_seed_replays_the_same_bits_and_reseed_restarts_them():
    profile = profiles.get_profile("vcma-default")
    a = profiles.make_random_source(profile, chip_seed=3)
    b = profiles.make_random_source(profile, chip_seed=3)
    assert np.array_equal(a.probabilities, b.probabilities)
    first = a.gaussian((4, 28, 28))
    assert np.array_equal(first, b.gaussian((4, 28, 28)))
    a.reseed(77)
    b.reseed(77)
    x = a.bits(10_000)
    assert np.array_equal(x, b.bits(10_000))
    a.reseed(77)
    assert np.array_equal(x, a.bits(10_000))
    a.reseed(78)
    assert not np.array_equal(x, a.bits(10_000))
    c = profiles.make_random_source(profile, chip_seed=4)
    assert not np.array_equal(a.probabilities, c.probabilities)


def test_split_requests_give_the_same_stream_as_one_request():
    profile = profiles.get_profile("vcma-default")
    a = profiles.make_random_source(profile, chip_seed=5)
    b = profiles.make_random_source(profile, chip_seed=5)
    whole = a.words(5000)
    parts = np.concatenate([b.words(1), b.words(1499), b.words(3500)])
    assert np.array_equal(whole, parts)


def test_counters_count_every_cycle_and_reset():
    source = profiles.make_random_source(profiles.get_profile("vcma-xor"), chip_seed=6)
    p = source.params
    # SAR: one (growing) window per DAC bit, plus two full ones for the final comparison
    assert (
        source.counters.calibration_cycles
        == sum(calibration.window_schedule(p.dac_bits, p.calibration_window)) * p.n_devices
    )
    source.gaussian(1000)
    c = source.counters
    words = math.ceil(1000 * 16 / 64)
    rounds = math.ceil(words / p.n_devices)
    assert c.cycles == rounds * p.n_devices * 64 * 2  # XOR pairs: two raw cycles per output bit
    assert c.gaussian_samples == 1000 and c.output_bits == words * 64
    assert 0.4 * c.cycles < c.reset_pulses < 0.6 * c.cycles  # only switched devices are reset
    assert source.bits_per_sample == 32


def test_expected_output_probability_with_xor():
    source = profiles.make_random_source(profiles.get_profile("vcma-uncalibrated"), chip_seed=8)
    p = source.probabilities
    assert source.expected_output_probability() == pytest.approx(p.mean())
    xor = dataclasses.replace(profiles.get_profile("vcma-uncalibrated").rng, calibration="calibrated_xor")
    assert xor.raw_cycles_per_output_bit == 2


def test_summary_is_json_ready(sources):
    import json

    summary = sources["vcma-default"].summary()
    assert json.loads(json.dumps(summary))["regime"] == "hard_axis"
    assert summary["hardware_bit_rate"] == pytest.approx(1024 / (2 * 30e-9 + 30e-9 + 5e-9))


@pytest.mark.parametrize(
    "name, value",
    [
        ("source", "quantum"),
        ("calibration", "sometimes"),
        ("knob", "temperature"),
        ("n_devices", 0),
        ("n_devices", 1.5),
        ("dac_bits", 40),
        ("calibration_window", 100),
        ("pulse_voltage", -1.0),
        ("pulse_width", math.nan),
        ("bias_field", math.inf),
        ("gaussian_method", "box_muller"),
        ("gaussian_bits", 64),
    ],
)
def test_rng_parameters_reject_bad_values_naming_the_field(name, value):
    with pytest.raises(ParameterError, match=name):
        dataclasses.replace(rng.RNGParameters(), **{name: value})


def test_bad_request_sizes_raise(sources):
    source = sources["ideal"]
    with pytest.raises(InputError, match="n_bits"):
        source.bits(-1)
    with pytest.raises(InputError, match="shape"):
        source.gaussian((2, -3))
    with pytest.raises(InputError, match="n_words"):
        source.words(1.5)
