"""Tests of device/baselines.py: accelerator data, the TDP × time model by hand, the per-bit metric."""

import dataclasses
import json
import math

import pytest

from device import baselines
from device.baselines import A100_SXM, ACCELERATORS, H100_SXM, TPU_V4, Accelerator, baseline_report
from device.errors import InputError, ParameterError


# pytest.approx's default abs=1e-12 would swallow every femto- and picojoule: relative only.
def approx(expected, rel=1e-9):
    return pytest.approx(expected, rel=rel, abs=0.0)


def test_accelerator_data_matches_the_cited_datasheets():
    assert (A100_SXM.peak_flops, A100_SXM.tdp_w, A100_SXM.die_area_mm2) == (312e12, 400.0, 826.0)
    assert (H100_SXM.peak_flops, H100_SXM.tdp_w, H100_SXM.die_area_mm2) == (989e12, 700.0, 814.0)
    assert TPU_V4.peak_flops == 275e12
    for acc in ACCELERATORS.values():
        assert acc.source
    assert TPU_V4.uncertain  # power and die area are flagged as unsure
    with pytest.raises(dataclasses.FrozenInstanceError):
        A100_SXM.tdp_w = 300.0


def test_rng_op_count_is_philox_plus_conversion_plus_box_muller():
    # Philox4x32-10: 10 rounds × (4 multiply halves + 4 XOR + 2 key adds) = 100 ops per 4 words
    assert baselines.PHILOX_OPS_PER_WORD == 100 // 4
    assert baselines.RNG_OPS_PER_SAMPLE == 25 + 2 + 4 == 31


def test_energy_is_tdp_times_time_at_utilised_peak_by_hand():
    # A100: 9.36e13 FLOPs at 312 TFLOPS × 0.3 = 93.6 TFLOP/s → 1 s → 400 J
    report = baseline_report(9.36e13, 0, utilisation=0.3)
    a100 = report["accelerators"]["a100_sxm"]
    assert a100["time_s"] == approx(1.0, rel=1e-12)
    assert a100["energy_j"] == approx(400.0, rel=1e-12)
    # H100: 9.36e13 / (989e12 × 0.3) s × 700 W
    h100 = report["accelerators"]["h100_sxm"]
    assert h100["energy_j"] == approx(700.0 * 9.36e13 / (989e12 * 0.3), rel=1e-12)
    assert report["accelerators"]["a100_sxm"]["rng_time_fraction"] == 0.0


def test_gaussian_samples_are_charged_as_ops_and_per_image_divides():
    flops, samples = 1.0e12, 2_000_000
    report = baseline_report(flops, samples, utilisation=0.5, images=4)
    ops = flops + 31 * samples
    tpu = report["accelerators"]["tpu_v4"]
    assert report["ops_total"] == approx(ops)
    assert tpu["energy_j"] == approx(192.0 * ops / (275e12 * 0.5), rel=1e-12)
    assert tpu["energy_per_image_j"] == approx(tpu["energy_j"] / 4, rel=1e-12)
    assert tpu["rng_energy_j"] == approx(192.0 * 31 * samples / (275e12 * 0.5), rel=1e-12)
    assert tpu["rng_time_fraction"] == approx(31 * samples / ops, rel=1e-12)


def test_energy_per_bit_per_area_definitions():
    report = baseline_report(1.0e9, 1000, utilisation=0.3)
    a100 = report["accelerators"]["a100_sxm"]
    bit = 25 / 32 * 400.0 / (312e12 * 0.3)  # one bit of a 32-bit Philox word
    assert a100["energy_per_random_bit_j"] == approx(bit, rel=1e-12)
    assert a100["energy_per_random_bit_j_vector_rate"] == approx(25 / 32 * 400.0 / (19.5e12 * 0.3), rel=1e-12)
    metric = a100["energy_per_bit_per_area_j_mm2"]
    assert metric["full_die"] == approx(bit * 826.0, rel=1e-12)
    fraction = 31 * 1000 / (1.0e9 + 31 * 1000)
    assert metric["rng_time_share"] == approx(bit * 826.0 * fraction, rel=1e-12)
    assert report["accelerators"]["tpu_v4"]["energy_per_random_bit_j_vector_rate"] is None
    assert baselines.energy_per_bit_per_area(2e-12, 3.0) == approx(6e-12)


def test_rng_time_share_metric_is_none_without_random_numbers():
    metric = baseline_report(1.0e9, 0)["accelerators"]["h100_sxm"]["energy_per_bit_per_area_j_mm2"]
    bit = 25 / 32 * 700.0 / (989e12 * 0.3)  # one bit of a 32-bit Philox word at the default utilisation
    assert metric["rng_time_share"] is None and metric["full_die"] == approx(bit * 814.0, rel=1e-12)


def test_report_is_json_serialisable():
    json.dumps(baseline_report(1e12, 10_000, images=2), allow_nan=False)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"flops": -1.0}, "flops"),
        ({"flops": math.nan}, "flops"),
        ({"gaussian_samples": -5}, "gaussian_samples"),
        ({"utilisation": 0.0}, "utilisation"),
        ({"utilisation": 1.5}, "utilisation"),
        ({"utilisation": math.nan}, "utilisation"),
        ({"rng_ops_per_sample": 0}, "rng_ops_per_sample"),
        ({"images": 0}, "images"),
        ({"accelerators": {"x": "A100"}}, "accelerators['x']"),
    ],
)
def test_invalid_arguments_raise_naming_them(kwargs, word):
    args = {"flops": 1e9, "gaussian_samples": 10, **kwargs}
    with pytest.raises(InputError, match=word.replace("[", r"\[").replace("]", r"\]")):
        baseline_report(**args)


@pytest.mark.parametrize("name", ["peak_flops", "tdp_w", "die_area_mm2", "vector_ops_per_s"])
@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_accelerator_rejects_bad_numbers_naming_the_field(name, bad):
    with pytest.raises(ParameterError, match=name):
        dataclasses.replace(A100_SXM, **{name: bad})


def test_custom_accelerator_is_used():
    toy = Accelerator("toy", 1e12, tdp_w=10.0, die_area_mm2=1.0, process="n/a", vector_ops_per_s=0.0, source="test")
    report = baseline_report(3e11, 0, utilisation=1.0, accelerators={"toy": toy})
    assert report["accelerators"]["toy"]["energy_j"] == approx(3.0)
