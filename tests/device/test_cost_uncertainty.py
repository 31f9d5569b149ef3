"""Tests of device/cost_uncertainty.py: the ratio ranges against the cost model re-run with each assumption changed."""

import dataclasses

import pytest

from device import mtj, rng
from device.cost import ChipFootprint, Ledger, TechnologyParameters, cost_report
from device.cost_uncertainty import UTILISATION_RANGE, ratio_ranges
from device.errors import InputError

TECH = TechnologyParameters()
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


def approx(expected, rel=1e-9):
    return pytest.approx(expected, rel=rel, abs=0.0)


def ledger() -> Ledger:
    book = Ledger()
    book.add(
        "inference",
        array_read_energy_j=2e-9,
        cell_reads=10_000,
        adc_conversions=5000,
        dac_conversions=2000,
        shift_adds=5000,
        digital_ops=300,
        macs=1_000_000,
        mvm_latency_s=3e-6,
    )
    book.add_rng("inference", {"cycles": 65536, "reset_pulses": 32000, "output_bits": 65536, "gaussian_samples": 4096})
    return book


def report(tech=TECH, utilisation=0.3):
    return cost_report(
        ledger(), FOOTPRINT, tech, rng.RNGParameters(), mtj.MTJParameters(), images=2, steps=5, utilisation=utilisation
    )


def test_the_headline_case_is_the_reports_own_ratios():
    base = report()
    ranges = ratio_ranges(base)
    for key, ratio in base["ratios"]["energy_per_image_gpu_over_chip"].items():
        assert ranges["energy_per_image_gpu_over_chip"][key]["headline"] == approx(ratio, rel=1e-12)
        for basis in ("full_die", "rng_time_share"):
            expected = base["ratios"]["energy_per_bit_per_area_gpu_over_chip"][key][basis]
            assert ranges["energy_per_bit_per_area_gpu_over_chip"][key][basis]["headline"] == approx(
                expected, rel=1e-12
            )
    assert ranges["chip_energy_per_image_j"]["headline"] == approx(base["energy_per_image_j"], rel=1e-12)


def test_each_assumption_alone_matches_the_cost_model_rerun_with_it():
    base = report()
    swing = ratio_ranges(base)["energy_per_image_gpu_over_chip"]["a100_sxm"]["by_assumption"]
    chip = base["energy_per_image_j"]
    # utilisation: the baseline re-run at 0.15 and 0.6
    busy, idle = report(utilisation=UTILISATION_RANGE[1]), report(utilisation=UTILISATION_RANGE[0])
    assert swing["utilisation"] == approx(
        [
            busy["ratios"]["energy_per_image_gpu_over_chip"]["a100_sxm"],
            idle["ratios"]["energy_per_image_gpu_over_chip"]["a100_sxm"],
        ]
    )
    # post-layout: the chip re-run with NeuroSim's factor applied
    laid_out = report(tech=dataclasses.replace(TECH, apply_post_layout_factor=True))
    assert swing["post_layout_factor"][0] == approx(laid_out["ratios"]["energy_per_image_gpu_over_chip"]["a100_sxm"])
    # ADC: every conversion charged at F4 instead of F3
    adc = base["adc_alternatives"]
    f4_chip = chip + (adc["sar_f4"] - adc["survey_f3"]) / base["images"]
    gpu = base["baseline"]["accelerators"]["a100_sxm"]["energy_per_image_j"]
    assert adc["sar_f4"] > adc["survey_f3"] and swing["adc_model"] == approx([gpu / f4_chip, gpu / chip])


def test_low_and_high_are_the_corners_and_bracket_every_single_swing():
    base = report()
    adc = base["adc_alternatives"]
    f4_factor = (base["energy_total_j"] - adc["survey_f3"] + adc["sar_f4"]) / base["energy_total_j"]
    ranges = ratio_ranges(base)
    for key, spread in ranges["energy_per_image_gpu_over_chip"].items():
        assert spread["low"] < spread["headline"] < spread["high"], key
        for low, high in spread["by_assumption"].values():
            assert spread["low"] <= low <= high <= spread["high"]
        assert spread["low_case"] == {"adc_model": "F4", "utilisation": 0.6, "post_layout_factor": "post-layout"}
        assert spread["high_case"] == {"adc_model": "F3", "utilisation": 0.15, "post_layout_factor": "pre-layout"}
        # the low corner: F4, post-layout chip energy, GPU at 0.6 — all three factors multiply
        assert spread["low"] == approx(spread["headline"] * (0.3 / 0.6) / (f4_factor * TECH.post_layout_factor))
    names = [a["name"] for a in ranges["assumptions"]]
    assert names == ["adc_model", "utilisation", "post_layout_factor"] and all(
        a["basis"] for a in ranges["assumptions"]
    )


def test_the_bit_area_ratio_does_not_depend_on_the_adc():
    spread = ratio_ranges(report())["energy_per_bit_per_area_gpu_over_chip"]["h100_sxm"]["full_die"]
    assert "adc_model" not in spread["by_assumption"] and "adc_model" not in spread["low_case"]
    assert spread["high"] / spread["low"] == approx((0.6 / 0.15) * TECH.post_layout_factor)


def test_a_report_with_the_layout_factor_already_applied_divides_it_out():
    laid_out = report(tech=dataclasses.replace(TECH, apply_post_layout_factor=True))
    spread = ratio_ranges(laid_out, post_layout_applied=True)["energy_per_image_gpu_over_chip"]["tpu_v4"]
    plain = report()["ratios"]["energy_per_image_gpu_over_chip"]["tpu_v4"]
    assert spread["by_assumption"]["post_layout_factor"][1] == approx(plain)
    assert spread["low_case"]["post_layout_factor"] == "post-layout"


@pytest.mark.parametrize("bad", [(0.0, 0.5), (0.6, 0.3), (0.2, 1.5)])
def test_utilisation_range_is_checked(bad):
    with pytest.raises(InputError, match="utilisation_range"):
        ratio_ranges(report(), utilisation_range=bad)


def test_layout_factor_below_one_is_refused():
    with pytest.raises(InputError, match="post_layout_factor"):
        ratio_ranges(report(), post_layout_factor=0.9)


def test_a_report_without_the_adc_alternatives_names_what_is_missing():
    broken = {k: v for k, v in report().items() if k != "adc_alternatives"}
    with pytest.raises(InputError, match="adc_alternatives.survey_f3"):
        ratio_ranges(broken)
    with pytest.raises(InputError, match="energy_total_j"):
        ratio_ranges({**report(), "energy_total_j": float("nan")})
