"""Tests of device/chip.py: one ledger for programming and inference, footprints, the example workload."""

import math

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


def test_example_workload_report_is_counts_times_the_profiles_action_energies():
    """Every number of `example_workload`'s report recomputed here from the stand-in network, the profile's
    parameters and the formulas of docs/formulas.md (F1, F3, F5, F6, F16, F17), not from device/cost.py."""
    profile = profiles.with_overrides(profiles.get_profile("vcma-default"), {"rng": {"n_devices": 64}})
    images, steps = 2, 2
    report = chip.example_workload(profile, images=images, steps=steps, seed=1)
    mtj, rng, cb, tech = profile.mtj, profile.rng, profile.crossbar, profile.technology
    counts, energy = report["counts"], report["energy_j"]

    # counts: 2 images × 2 steps through 784-512-512-784, amplitude inputs (one read cycle), 6 bit slices
    layers, slices, rows = chip.EXAMPLE_LAYERS, cb.weight_bits, images * steps  # rows per layer
    chunks = [math.ceil(k / cb.tile_rows) for k, _ in layers]
    assert counts["macs"] == rows * sum(k * n for k, n in layers) == 4_259_840
    assert counts["cell_reads"] == rows * sum(2 * k * n * slices for k, n in layers)
    assert counts["dac_conversions"] == rows * sum(k for k, _ in layers) == 7232
    conversions = rows * sum(c * n * slices for c, (_, n) in zip(chunks, layers))
    assert counts["adc_conversions"] == counts["shift_adds"] == conversions == 210_432
    matmul_ops = rows * sum(2 * k + 3 * n for k, n in layers)  # max-abs and scale in, de-scale out
    loop_ops = rows * (3 * sum(n for _, n in layers) + 4 * layers[0][0])  # ReLUs, residual update
    assert counts["digital_ops"] == matmul_ops + loop_ops == 70_400
    samples = images * layers[0][0] * (1 + steps)  # x_T, then one image of noise per step
    assert counts["gaussian_samples"] == samples and counts["rng_output_bits"] == samples * rng.gaussian_bits
    cycles, resets = counts["rng_cycles"], counts["rng_reset_pulses"]
    assert cycles % rng.n_devices == 0 and counts["rng_output_bits"] <= cycles <= 1.1 * counts["rng_output_bits"]
    assert resets / cycles == pytest.approx(0.5, abs=0.01)  # calibrated devices switch half the time
    assert counts["write_pulses"] == counts["write_verify_reads"] == counts["rng_calibration_cycles"] == 0
    per_mvm = cb.read_time + tech.adc_column_sharing / tech.adc_sample_rate  # read, then the shared ADC
    assert counts["mvm_latency_s"] == pytest.approx(rows * len(layers) * per_mvm, rel=1e-12)

    # per-action energies from the device: F16 resistances, F17 pulses, F1 reads, the field line, F3 ADC
    def resistance(v, parallel):  # F16
        bias = (v / mtj.tmr_half_voltage) ** 2
        return mtj.resistance_parallel * (1 + bias + mtj.tmr) / (1 + bias + (mtj.tmr if parallel else 0.0))

    capacitance = 8.8541878128e-12 * mtj.oxide_permittivity * math.pi * (mtj.diameter / 2) ** 2 / mtj.oxide_thickness
    v, t = rng.pulse_voltage, rng.pulse_width
    pulse = capacitance * v**2 + v**2 / resistance(v, True) * t + tech.vcma_driver_energy
    reset = capacitance * v**2 + v**2 / resistance(v, False) * t + tech.vcma_driver_energy
    read_p, read_ap = (rng.read_voltage**2 / resistance(rng.read_voltage, s) * rng.read_time for s in (True, False))
    line_field = profiles.make_random_source(profile, 1).line_field()  # the same chip's bias lines
    field = tech.field_line_supply_v * 2 * tech.field_line_width_m * line_field * t
    foms = min(302.74 - 6.4608 * math.log(tech.adc_sample_rate), 180.14)
    adc = 1 / (2 * 10 ** ((foms - (6.0206 * cb.adc_bits + 1.761)) / 10))  # F3
    assert adc == pytest.approx(0.64e-12, rel=0.01)  # "8 b ≈ 0.64 pJ" (docs/formulas.md)
    per_action = report["rng_detail"]["per_action_j"]
    for key, value in (("pulse_j", pulse), ("reset_j", reset), ("read_p_j", read_p), ("read_ap_j", read_ap)):
        assert per_action[key] == pytest.approx(value, rel=1e-9), key
    assert per_action["field_j"] == pytest.approx(field, rel=1e-9)

    # energy = Σ counts × per-action energy (F7)
    rng_parts = {
        "pulse_j": cycles * pulse,
        "field_j": cycles * field,
        "read_j": (cycles - resets) * read_p + resets * read_ap,
        "reset_j": resets * reset,
        "gaussian_conversion_j": samples * tech.digital_op_energy,
    }
    expected = {
        "adc": conversions * adc,
        "dac": counts["dac_conversions"] * tech.dac_energy,
        "shift_add": conversions * tech.shift_add_energy,
        "digital": counts["digital_ops"] * tech.digital_op_energy,
        "rng": sum(rng_parts.values()),
        "rng_calibration": 0.0,
        "programming": 0.0,
    }
    assert set(energy) == set(expected) | {"array_read"}
    for key, value in expected.items():
        assert energy[key] == pytest.approx(value, rel=1e-9, abs=0.0), key
    for key, value in rng_parts.items():
        assert report["rng_detail"][key] == pytest.approx(value, rel=1e-9), key
    # array reads (F1 over the cells' own conductances): at most every cell read at full voltage in P
    assert energy["array_read"] == counts["array_read_energy_j"]
    assert 0 < energy["array_read"] < counts["cell_reads"] * cb.read_voltage**2 / mtj.resistance_parallel * cb.read_time
    total = sum(energy.values())
    assert report["energy_total_j"] == pytest.approx(total, rel=1e-12)
    assert report["energy_per_image_j"] == pytest.approx(total / images, rel=1e-12)
    assert report["energy_per_step_j"] == pytest.approx(total / images / steps, rel=1e-12)
    bit_energy = (rng_parts["pulse_j"] + rng_parts["field_j"] + rng_parts["read_j"] + rng_parts["reset_j"]) / (
        counts["rng_output_bits"]
    )
    assert report["rng_detail"]["energy_per_output_bit_j"] == pytest.approx(bit_energy, rel=1e-9)
    assert report["adc_alternatives"]["survey_f3"] == pytest.approx(energy["adc"], rel=1e-12)
    # programming is reported apart: at least the RNG calibration's write pulses (F17), none of it per image
    calibration_cycles = sum(calibration.window_schedule(rng.dac_bits, rng.calibration_window)) * rng.n_devices
    assert report["programming"] > calibration_cycles * pulse

    # area: tiles of 128 × 128 cells (64 column pairs), F6 cells, F5 ADCs, drivers, RNG, digital lanes
    tiles_per_layer = [c * math.ceil(n * slices / cb.pairs_per_tile) for c, (_, n) in zip(chunks, layers)]
    tiles = sum(tiles_per_layer)
    assert tiles == 824
    cell = tech.cell_area_f2 * (tech.node_nm * 1e-3) ** 2  # F6, µm²
    n_adcs = tiles * math.ceil(cb.pairs_per_tile / tech.adc_column_sharing)
    log_adc_area = (
        0.0667 * math.log(tech.adc_sample_rate)
        + 0.7973 * math.log(tech.node_nm)
        - 0.1344 * cb.adc_bits
        + 0.4237 * math.log(adc / 1e-12)
        + 4.8506
    )  # F5
    area = {
        "cells": tiles * cb.tile_rows * cb.tile_cols * cell,
        "adcs": n_adcs * math.exp(log_adc_area),
        "drivers": tiles * cb.tile_rows * tech.driver_area_um2,
        "rng": rng.n_devices * (cell + tech.rng_periphery_area_um2),
        "digital": tech.digital_lanes * tech.digital_lane_area_um2,
    }
    assert report["area_um2"] == pytest.approx(area, rel=1e-9)
    assert report["area_total_mm2"] == pytest.approx(sum(area.values()) * 1e-6, rel=1e-12)

    # latency: the random-bit array (cycles / devices × cycle time) runs beside mvm + digital
    latency = report["latency_s"]
    rng_time = cycles / rng.n_devices * (2 * rng.pulse_width + rng.relax_time + rng.read_time)
    digital_time = counts["digital_ops"] / (tech.digital_clock_hz * tech.digital_lanes)
    assert latency["rng"] == pytest.approx(rng_time, rel=1e-12)
    assert latency["digital"] == pytest.approx(digital_time, rel=1e-12)
    assert latency["total"] == pytest.approx(max(counts["mvm_latency_s"] + digital_time, rng_time), rel=1e-12)
    assert latency["per_image"] == pytest.approx(latency["total"] / images, rel=1e-12)

    # the GPU/TPU baseline is the same workload (2 FLOPs per MAC, the same Gaussian samples)
    baseline = report["baseline"]
    assert baseline["flops"] == 2 * counts["macs"] and baseline["gaussian_samples"] == samples
    assert baseline["images"] == images and set(baseline["accelerators"]) == {"a100_sxm", "h100_sxm", "tpu_v4"}
    for key, accelerator in baseline["accelerators"].items():
        assert report["ratios"]["energy_per_image_gpu_over_chip"][key] == pytest.approx(
            accelerator["energy_per_image_j"] / report["energy_per_image_j"], rel=1e-12
        )
    with pytest.raises(InputError, match="steps=0"):
        chip.example_workload(profile, steps=0)


def test_ideal_profile_has_no_adc_cost():
    profile = profiles.with_overrides(profiles.get_profile("ideal"), {"rng": {"n_devices": 64}})
    report = chip.example_workload(profile, images=1, steps=1)
    assert report["energy_j"]["adc"] == 0.0
