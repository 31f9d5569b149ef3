"""Tests of device/cost.py: the F1/F3/F4/F5/F6/F17 models against closed forms, the ledger, the report."""

import dataclasses
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from device import cost, field_line, mtj, rng
from device.cost import ChipFootprint, Ledger, TechnologyParameters, cost_report
from device.errors import InputError, ParameterError


# pytest.approx's default abs=1e-12 would swallow every femto- and picojoule: relative only.
def approx(expected, rel=1e-9):
    return pytest.approx(expected, rel=rel, abs=0.0)


TECH = TechnologyParameters()
MTJ = mtj.MTJParameters()
RNG = rng.RNGParameters()
FOOTPRINT = ChipFootprint(
    n_tiles=4,
    tile_rows=128,
    tile_cols=128,
    n_cells=50_000,
    n_adcs=32,
    n_row_drivers=512,
    n_rng_devices=1024,
    adc_bits=8,
    weight_bits=6,
    input_cycles=1,
)


# --- models --------------------------------------------------------------------------------------


def test_f3_survey_reference_values():
    assert cost.adc_energy_survey(5, 1e9) == approx(10e-15, rel=0.10)
    assert cost.adc_energy_survey(8, 1e9) == approx(0.64e-12, rel=0.05)


def test_f3_closed_form_at_one_gigasample():
    foms = 302.74 - 6.4608 * math.log(1e9)  # 168.85 dB, below the 180.14 dB cap
    for bits in (4, 6, 8):
        expected = 1.0 / (2.0 * 10 ** ((foms - (6.0206 * bits + 1.761)) / 10))
        assert cost.adc_energy_survey(bits, 1e9) == approx(expected, rel=1e-12)


def test_f3_caps_foms_at_low_sample_rate_and_vectorises():
    # at 1 MS/s 302.74 − 6.4608·ln f_s = 213.5 dB > 180.14, so FOMS = 180.14
    expected = 1.0 / (2.0 * 10 ** ((180.14 - (6.0206 * 6 + 1.761)) / 10))
    assert cost.adc_energy_survey(6, 1e6) == approx(expected, rel=1e-12)
    bits = np.array([4, 5, 8])
    out = cost.adc_energy_survey(bits, 1e9)
    assert out.shape == (3,)
    assert out[1] == approx(cost.adc_energy_survey(5, 1e9), rel=1e-12)
    assert np.all(np.diff(out) > 0)  # each bit costs energy (×4 per bit: SNDR +6 dB)
    assert out[2] / out[1] == approx(10 ** (3 * 0.60206), rel=1e-9)


def test_f4_sar_at_five_bits_equals_closed_form():
    # [(0.538·5 + 4.375)·1e-6 + 0.0723/1e4]·6·1e-9 = (7.065e-6 + 7.23e-6)·6e-9
    assert cost.adc_energy_sar(5, 1e4) == approx(8.577e-14, rel=1e-12)
    # physics.md: ≈ 0.09 pJ at 5 b for a ≈ 9 kΩ column
    assert cost.adc_energy_sar(5, 9.15e3) == approx(0.09e-12, rel=0.02)


def test_f5_adc_area_reference_point():
    energy = cost.adc_energy_survey(5, 1e9)
    assert cost.adc_area(5, 1e9, 22, energy) == approx(430.0, rel=0.15)
    # closed form with the exact F3 energy
    log_area = 0.0667 * math.log(1e9) + 0.7973 * math.log(22) - 0.1344 * 5 + 0.4237 * math.log(energy / 1e-12) + 4.8506
    assert cost.adc_area(5, 1e9, 22, energy) == approx(math.exp(log_area), rel=1e-12)


def test_f17_pulse_energy_closed_form():
    # C·V² + V²/R·t_p + E_driver = 7e-17·2.25 + 2.25/5000·30e-9 + 2e-14
    assert cost.vcma_pulse_energy(7e-17, 1.5, 5e3, 30e-9, 2e-14) == approx(1.57500e-16 + 1.35e-11 + 2e-14, rel=1e-12)
    # physics.md: C_MgO ≈ 0.07 fF and C·V² ≈ 0.16 fJ at 1.5 V for the default device
    assert cost.vcma_pulse_energy(MTJ.capacitance, 1.5, 1e30, 30e-9) == approx(0.16e-15, rel=0.05)


def test_f1_read_energy_closed_form():
    assert cost.read_energy(0.1, 5e3, 5e-9) == approx(1e-14, rel=1e-12)
    out = cost.read_energy(np.array([0.1, 0.2]), 5e3, 5e-9)
    assert out[1] == approx(4e-14, rel=1e-12)


def test_cell_area_is_k_f_squared():
    assert cost.cell_area_um2(TECH) == approx(54 * 0.022**2, rel=1e-12)  # 0.026136 µm²
    at_45 = {name: cost.node_scaled(name, 45.0) for name in cost.NODE_DEFAULTS}
    assert cost.cell_area_um2(dataclasses.replace(TECH, node_nm=45.0, cell_area_f2=4.0, **at_45)) == approx(
        4 * 0.045**2
    )


def test_another_node_needs_its_own_node_dependent_values():
    with pytest.raises(
        ParameterError,
        match=r"node_nm = 45 but digital_op_energy, shift_add_energy, driver_area_um2, "
        r"rng_periphery_area_um2, digital_lane_area_um2 still hold the 22 nm values.*digital_op_energy = 7.5e-13",
    ):
        dataclasses.replace(TECH, node_nm=45.0)
    assert cost.node_scaled("digital_op_energy", 45.0) == approx(0.75e-12, rel=1e-12)  # Horowitz's own 45 nm figure
    assert cost.node_scaled("driver_area_um2", 44.0) == approx(16.0, rel=1e-12)
    with pytest.raises(ParameterError, match=r"driver_area_um2.*\(energies"):
        dataclasses.replace(
            TECH, node_nm=45.0, **{n: cost.node_scaled(n, 45.0) for n in cost.NODE_DEFAULTS if n != "driver_area_um2"}
        )


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: cost.adc_energy_survey(-1, 1e9), "bits"),
        (lambda: cost.adc_energy_survey(5, math.nan), "sample_rate"),
        (lambda: cost.adc_energy_sar(5, 0.0), "column_resistance"),
        (lambda: cost.adc_area(5, 1e9, 22, -1e-15), "energy_j"),
        (lambda: cost.vcma_pulse_energy(1e-16, 1.5, -5e3, 30e-9), "resistance"),
        (lambda: cost.read_energy(0.1, 5e3, math.nan), "read_time"),
    ],
)
def test_model_functions_reject_bad_inputs_naming_them(call, word):
    with pytest.raises(InputError, match=word):
        call()


# --- technology parameters -------------------------------------------------------------------------


def test_technology_defaults_follow_horowitz_scaled_to_22nm():
    assert TECH.digital_op_energy == approx(0.5 * (0.4e-12 + 1.1e-12) * 22 / 45, rel=1e-12)
    assert TECH.shift_add_energy == approx(0.1e-12 * 22 / 45, rel=1e-12)
    assert cost.scale_to_node(1e-12, 45.0) == approx(1e-12)
    defaults = (TECH.node_nm, TECH.cell_area_f2, TECH.post_layout_factor, TECH.apply_post_layout_factor)
    assert defaults == (22, 54, 1.22, False)
    hash(TECH)  # frozen, hashable


NUMERIC_FIELDS = [f.name for f in dataclasses.fields(TechnologyParameters) if f.type != "bool"]


@pytest.mark.parametrize("name", NUMERIC_FIELDS)
@pytest.mark.parametrize("bad", [math.nan, -1.0, math.inf])
def test_every_technology_field_rejects_nan_negative_and_inf_naming_it(name, bad):
    with pytest.raises(ParameterError, match=name):
        dataclasses.replace(TECH, **{name: bad})


@pytest.mark.parametrize(
    "name",
    [
        "node_nm",
        "cell_area_f2",
        "adc_sample_rate",
        "adc_column_sharing",
        "post_layout_factor",
        "digital_clock_hz",
        "digital_lanes",
    ],
)
def test_strictly_positive_fields_reject_zero(name):
    with pytest.raises(ParameterError, match=name):
        dataclasses.replace(TECH, **{name: 0})


def test_other_technology_checks():
    with pytest.raises(ParameterError, match="post_layout_factor"):
        dataclasses.replace(TECH, post_layout_factor=0.9)
    with pytest.raises(ParameterError, match="adc_column_sharing"):
        dataclasses.replace(TECH, adc_column_sharing=2.5)
    with pytest.raises(ParameterError, match="apply_post_layout_factor"):
        dataclasses.replace(TECH, apply_post_layout_factor=1)
    assert dataclasses.replace(TECH, dac_energy=0.0).dac_energy == 0.0  # an assumption may be switched off


# --- report ----------------------------------------------------------------------------------------


def _ledger(scale: int = 1) -> Ledger:
    ledger = Ledger()
    ledger.add(
        "inference",
        array_read_energy_j=2e-9 * scale,
        cell_reads=10_000 * scale,
        adc_conversions=5000 * scale,
        dac_conversions=2000 * scale,
        shift_adds=5000 * scale,
        digital_ops=300 * scale,
        macs=1_000_000 * scale,
        mvm_latency_s=3e-6 * scale,
        digital_latency_s=1e-6 * scale,
    )
    ledger.add_rng(
        "inference",
        {
            "cycles": 65536 * scale,
            "reset_pulses": 32000 * scale,
            "output_bits": 65536 * scale,
            "gaussian_samples": 4096 * scale,
        },
    )
    ledger.add_rng("programming", {"calibration_cycles": 10**6, "calibration_reset_pulses": 5 * 10**5})
    ledger.add("programming", write_pulses=1000, write_verify_reads=3000)
    return ledger


def _report(ledger=None, **kwargs):
    args = {
        "ledger": _ledger() if ledger is None else ledger,
        "footprint": FOOTPRINT,
        "tech": TECH,
        "rng_params": RNG,
        "mtj_params": MTJ,
        **kwargs,
    }
    return cost_report(**args)


def test_report_totals_equal_the_sum_of_components():
    report = _report()
    assert report["energy_total_j"] == approx(sum(report["energy_j"].values()), rel=1e-12)
    components = {"array_read", "adc", "dac", "shift_add", "digital", "rng", "rng_calibration", "programming"}
    assert set(report["energy_j"]) == components
    assert report["area_total_mm2"] == approx(sum(report["area_um2"].values()) * 1e-6, rel=1e-12)
    assert set(report["area_um2"]) == {"cells", "adcs", "drivers", "rng", "digital"}
    json.dumps(report, allow_nan=False)


def test_report_components_by_hand():
    e = _report()["energy_j"]
    assert e["array_read"] == approx(2e-9)
    assert e["adc"] == approx(5000 * cost.adc_energy_survey(8, 1e9), rel=1e-12)
    assert e["dac"] == approx(2000 * 50e-15, rel=1e-12)
    assert e["shift_add"] == approx(5000 * 0.1e-12 * 22 / 45, rel=1e-12)
    assert e["digital"] == approx(300 * 0.75e-12 * 22 / 45, rel=1e-12)
    assert e["rng_calibration"] == 0.0 and e["programming"] == 0.0  # programming-phase actions
    # RNG: write pulse at R_P (F16 gives R_P in P at any bias), reset at R_AP(1.5 V), reads F1
    c, v, t = MTJ.capacitance, 1.5, 30e-9
    r_ap = 5e3 * (1 + 9 + 1.2) / (1 + 9)  # F16, cos θ = −1, (V/V_h)² = 9
    pulse = c * v**2 + v**2 / 5e3 * t + 20e-15
    reset = c * v**2 + v**2 / r_ap * t + 20e-15
    reads = (65536 - 32000) * 0.01 / 5e3 * 5e-9 + 32000 * 0.01 / (5e3 * 2.24 / 1.04) * 5e-9  # (0.1/0.5)² = 0.04
    gauss = 4096 * TECH.digital_op_energy
    assert e["rng"] == approx(65536 * pulse + 32000 * reset + reads + gauss, rel=1e-9)


def test_area_by_hand():
    area = _report()["area_um2"]
    cell = 54 * 0.022**2
    assert area["cells"] == approx(4 * 128 * 128 * cell, rel=1e-12)
    assert area["adcs"] == approx(32 * cost.adc_area(8, 1e9, 22, cost.adc_energy_survey(8, 1e9)), rel=1e-12)
    assert area["drivers"] == approx(512 * 4.0)
    assert area["rng"] == approx(1024 * (cell + 20.0), rel=1e-12)
    # 256 lanes of one Horowitz 45 nm FP16 adder (1360 µm²) and multiplier (1640 µm²), × (22/45)²
    assert TECH.digital_lanes == 256 and area["digital"] == approx(256 * 3000.0 * (22 / 45) ** 2, rel=1e-12)


def test_digital_area_follows_the_lanes_and_the_node():
    wider = dataclasses.replace(TECH, digital_lanes=2 * TECH.digital_lanes)
    assert _report(tech=wider)["area_um2"]["digital"] == approx(2 * _report()["area_um2"]["digital"], rel=1e-12)
    scaled = {name: cost.node_scaled(name, 45.0) for name in cost.NODE_DEFAULTS}
    assert scaled["digital_lane_area_um2"] == approx(3000.0, rel=1e-12)
    with pytest.raises(ParameterError, match="digital_lane_area_um2"):
        cost.TechnologyParameters(node_nm=45.0, **{k: v for k, v in scaled.items() if k != "digital_lane_area_um2"})


def test_energy_and_latency_per_image_scale_with_images():
    one, four = _report(images=1, steps=10), _report(images=4, steps=10)
    assert four["energy_total_j"] == approx(one["energy_total_j"], rel=1e-12)
    assert four["energy_per_image_j"] == approx(one["energy_per_image_j"] / 4, rel=1e-12)
    assert one["energy_per_step_j"] == approx(one["energy_per_image_j"] / 10, rel=1e-12)
    assert four["latency_s"]["per_image"] == approx(one["latency_s"]["per_image"] / 4, rel=1e-12)
    assert one["latency_s"]["per_step"] == approx(one["latency_s"]["per_image"] / 10, rel=1e-12)
    b_one, b_four = (r["baseline"]["accelerators"]["a100_sxm"]["energy_per_image_j"] for r in (one, four))
    assert b_four == approx(b_one / 4, rel=1e-12)


def test_latency_is_the_longer_of_network_and_random_bits():
    report = _report()
    rng_time = 65536 / 1024 * RNG.cycle_time  # 64 cycles of 95 ns = 6.08 µs > 4 µs of network
    assert report["latency_s"]["rng"] == approx(rng_time, rel=1e-12)
    assert report["latency_s"]["per_image"] == approx(max(4e-6, rng_time), rel=1e-12)
    ledger = _ledger()
    ledger.add("inference", mvm_latency_s=1e-3)
    digital = 300 / (1e9 * 256) + 1e-6  # 300 ops on 256 lanes at 1 GHz, plus the ledger's explicit 1 µs
    assert _report(ledger)["latency_s"]["per_image"] == approx(1e-3 + 3e-6 + digital, rel=1e-12)
    assert _report()["latency_s"]["per_step"] is None


def test_digital_periphery_latency_follows_its_op_count_and_throughput():
    ledger = Ledger()
    ledger.add("inference", digital_ops=5_120_000, mvm_latency_s=1e-6)
    report = _report(ledger)
    assert report["latency_s"]["digital"] == approx(5_120_000 / 256e9, rel=1e-12)  # 20 µs
    assert report["latency_s"]["per_image"] == approx(1e-6 + 20e-6, rel=1e-12)
    faster = _report(ledger, tech=dataclasses.replace(TECH, digital_lanes=1024, digital_clock_hz=2e9))
    assert faster["latency_s"]["digital"] == approx(report["latency_s"]["digital"] / 8, rel=1e-12)
    assert faster["energy_j"]["digital"] == report["energy_j"]["digital"]  # throughput is not energy
    assert cost.digital_latency(0, TECH) == 0.0
    assert "256 lanes" in report["latency_s"]["model"]
    assert report["assumptions"]["constants"]["digital_lanes"]["value"] == 256


def test_baseline_uses_two_flops_per_mac_and_the_ledger_samples():
    base = _report(utilisation=0.5)["baseline"]
    assert base["flops"] == 2_000_000 and base["gaussian_samples"] == 4096 and base["utilisation"] == 0.5


def test_ratio_definitions():
    report = _report(images=2)
    rng_detail = report["rng_detail"]
    bit_energy = (rng_detail["pulse_j"] + rng_detail["read_j"] + rng_detail["reset_j"]) / 65536
    assert rng_detail["energy_per_output_bit_j"] == approx(bit_energy, rel=1e-12)
    chip_metric = bit_energy * report["area_um2"]["rng"] * 1e-6
    assert rng_detail["energy_per_bit_per_area_j_mm2"] == approx(chip_metric, rel=1e-12)
    for key, acc in report["baseline"]["accelerators"].items():
        assert report["ratios"]["energy_per_image_gpu_over_chip"][key] == approx(
            acc["energy_per_image_j"] / report["energy_per_image_j"], rel=1e-12
        )
        ratio = report["ratios"]["energy_per_bit_per_area_gpu_over_chip"][key]
        assert ratio["full_die"] == approx(acc["energy_per_bit_per_area_j_mm2"]["full_die"] / chip_metric, rel=1e-12)


def test_adc_alternatives_and_headline():
    report = _report()
    alt = report["adc_alternatives"]
    assert alt["survey_f3"] == approx(report["energy_j"]["adc"], rel=1e-12)
    r_col = cost.column_resistance(MTJ, 128, RNG.read_voltage)
    assert alt["sar_f4"] == approx(5000 * cost.adc_energy_sar(8, r_col), rel=1e-12)
    assert "headline: F3" in report["assumptions"]["adc_model"]
    # 64 of 128 rows at the mean P/AP conductance at 0.1 V
    g = 0.5 * (1 / 5e3 + 1 / (5e3 * 2.24 / 1.04))
    assert r_col == approx(1 / (64 * g), rel=1e-12)


def test_post_layout_factor_scales_every_component():
    plain = _report()
    scaled = _report(tech=dataclasses.replace(TECH, apply_post_layout_factor=True))
    for name, value in plain["energy_j"].items():
        assert scaled["energy_j"][name] == approx(1.22 * value, rel=1e-12)
    assert scaled["area_total_mm2"] == plain["area_total_mm2"]


def test_programming_phase_report_and_one_time_energy():
    report = _report(phase="programming")
    e = report["energy_j"]
    assert e["adc"] == 0.0 and e["rng"] == 0.0
    g_w = 0.5 * (1 / 5e3 + 1 / (5e3 * 1.12))  # mean conductance at 1.5 V
    g_r = 0.5 * (1 / 5e3 + 1 / (5e3 * 2.24 / 1.04))
    write = MTJ.capacitance * 2.25 + 2.25 * g_w * 30e-9 + 20e-15
    assert e["programming"] == approx(1000 * write + 3000 * 0.01 * g_r * 5e-9, rel=1e-9)
    # the RNG's calibration: 10⁶ cycles with 5·10⁵ resets, priced as the inference RNG's actions
    c, v, t = MTJ.capacitance, 1.5, 30e-9
    pulse = c * v**2 + v**2 / 5e3 * t + 20e-15
    reset = c * v**2 + v**2 / (5e3 * (1 + 9 + 1.2) / (1 + 9)) * t + 20e-15
    reads = 5 * 10**5 * 0.01 / 5e3 * 5e-9 + 5 * 10**5 * 0.01 / (5e3 * 2.24 / 1.04) * 5e-9
    assert e["rng_calibration"] == approx(10**6 * pulse + 5 * 10**5 * reset + reads, rel=1e-9)
    assert _report()["programming_phase_energy_j"] == approx(report["energy_total_j"], rel=1e-12)
    crossbar = SimpleNamespace(write_pulse_voltage=1.0, write_pulse_width=10e-9, read_voltage=0.2, read_time=1e-9)
    assert _report(phase="programming", crossbar=crossbar)["energy_j"]["programming"] < e["programming"]


def test_empty_ledger_gives_zeros_and_no_ratios():
    report = _report(Ledger())
    assert report["energy_total_j"] == 0.0
    assert report["rng_detail"]["energy_per_output_bit_j"] is None
    assert report["ratios"]["energy_per_image_gpu_over_chip"]["a100_sxm"] is None
    json.dumps(report, allow_nan=False)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"phase": "training"}, "training"),
        ({"images": 0}, "images"),
        ({"steps": 0}, "steps"),
        ({"workload": {"x": object()}}, "workload"),
        ({"workload": [1, 2]}, "workload"),
        ({"footprint": FOOTPRINT._replace(n_adcs=-1)}, "footprint.n_adcs"),
        ({"footprint": FOOTPRINT._replace(n_rng_devices=0)}, "n_rng_devices"),
        ({"footprint": tuple(FOOTPRINT)}, "footprint"),
        ({"tech": "22nm"}, "tech"),
        ({"ledger": {}}, "ledger"),
    ],
)
def test_report_validation_names_the_offending_argument(kwargs, word):
    with pytest.raises(InputError, match=word):
        _report(**kwargs)


def test_adc_bits_zero_means_ideal_readout_with_no_adc_cost():
    report = _report(footprint=FOOTPRINT._replace(adc_bits=0))
    assert report["energy_j"]["adc"] == 0.0 and report["area_um2"]["adcs"] == 0.0


# --- field lines (device/field_line.py) --------------------------------------------------------------


def test_strip_line_field_and_pulse_energy_by_hand():
    # H = I/(2w): 15 kA/m at the surface of a 100 nm strip takes 3 mA; 0.8 V × 3 mA × 30 ns = 72 pJ
    assert field_line.line_current(15e3, 100e-9) == approx(3e-3, rel=1e-12)
    assert field_line.line_current(-15e3, 100e-9) == approx(3e-3, rel=1e-12)  # either direction
    assert field_line.pulse_energy(15e3, 30e-9, 100e-9, 0.8) == approx(72e-12, rel=1e-12)
    with pytest.raises(InputError, match="width"):
        field_line.line_current(1e3, 0.0)
    with pytest.raises(InputError, match="duration"):
        field_line.pulse_energy(1e3, -1e-9, 100e-9, 0.8)


def test_random_bit_bias_field_is_charged_per_cycle_and_grows_with_the_field():
    plain = _report()
    assert plain["rng_detail"]["field_j"] == 0.0  # no bias field, no knob given
    charged = _report(rng_line_field=2e3)
    per_cycle = 0.8 * 2 * 100e-9 * 2e3 * 30e-9  # V_dd · 2w|H| · t_pulse = 9.6 pJ
    assert charged["rng_detail"]["per_action_j"]["field_j"] == approx(per_cycle, rel=1e-12)
    assert charged["rng_detail"]["field_j"] == approx(65536 * per_cycle, rel=1e-12)
    assert charged["energy_j"]["rng"] == approx(plain["energy_j"]["rng"] + 65536 * per_cycle, rel=1e-12)
    assert charged["programming_phase_energy_j"] == approx(
        plain["programming_phase_energy_j"] + 10**6 * per_cycle, rel=1e-9
    )  # calibration pulses too
    stronger = _report(rng_line_field=4e3)
    assert stronger["rng_detail"]["field_j"] == approx(2 * charged["rng_detail"]["field_j"], rel=1e-12)
    assert stronger["rng_detail"]["energy_per_output_bit_j"] > charged["rng_detail"]["energy_per_output_bit_j"]
    fixed = _report(rng_params=dataclasses.replace(RNG, bias_field=-3e3))  # no knob known: |bias_field|
    assert fixed["rng_detail"]["per_action_j"]["field_j"] == approx(0.8 * 2 * 100e-9 * 3e3 * 30e-9, rel=1e-12)
    with pytest.raises(InputError, match="rng_line_field"):
        _report(rng_line_field=-1.0)


def test_programming_pays_for_the_write_field():
    base = SimpleNamespace(write_pulse_voltage=1.5, write_pulse_width=30e-9, read_voltage=0.1, read_time=5e-9)
    without = _report(phase="programming", crossbar=base)["energy_j"]["programming"]
    with_field = _report(phase="programming", crossbar=SimpleNamespace(**vars(base), write_field=15e3))
    assert with_field["energy_j"]["programming"] == approx(without + 1000 * 72e-12, rel=1e-9)
    assert "write field 1.5e+04 A/m" in with_field["assumptions"]["field_lines"]


def test_a_chip_report_charges_its_calibrated_bias_fields():
    from device import profiles
    from device.chip import Chip

    chip = Chip(profiles.get_profile("vcma-default"), 0)
    chip.gaussian((64,))
    field = chip.rng.line_field()
    assert 1e3 < field < 4e3  # the field knob cancels each device's stray field
    report = chip.report()
    assert report["rng_detail"]["per_action_j"]["field_j"] == approx(0.8 * 2 * 100e-9 * field * 30e-9, rel=1e-9)


def test_the_report_states_how_long_the_crossbar_cells_keep_their_state():
    crossbar = SimpleNamespace(write_pulse_voltage=1.5, write_pulse_width=30e-9, read_voltage=0.1, read_time=5e-9)
    retention = _report(crossbar=crossbar)["assumptions"]["cell_retention"]
    idle = max(mtj.brown_escape_rate(MTJ, 0.0, 0.0))
    assert retention["escape_rate_idle_per_s"] == approx(float(idle), rel=1e-12)
    assert retention["mean_retention_s"] == approx(1.0 / float(idle), rel=1e-12)
    assert (
        retention["escape_rate_read_per_s"] > retention["escape_rate_idle_per_s"]
    )  # VCMA lowers the barrier while read
    assert "neither is modelled" in retention["note"]
    assert _report()["assumptions"]["cell_retention"] is None  # no crossbar given
    json.dumps(retention, allow_nan=False)
