"""The cost ledger: every emulated action is counted, then charged energy, area and latency.

Roll-up (docs/formulas.md F7, Accelergy): E = Σ_components Σ_actions N_action · e_action. The crossbar and
the random-bit array add *counts* to a `Ledger` while they run; `cost_report` turns counts into
joules with the models below, adds the area of the hardware (`ChipFootprint`) and the GPU/TPU
baseline of `device.baselines` for the same workload. Only dynamic energy is modelled (no leakage).
The seed paper's device numbers are not available to us; every constant is a published model or an
assumption stated here and in the report (docs/formulas.md, "The seed paper").

`TechnologyParameters` and its node-scaled defaults live in `device.technology_parameters`, which
imports only the standard library, and are re-exported here.
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple

import numpy as np

from device import baselines, field_line, mtj
from device.errors import InputError
from device.ledger import Ledger, check_phase
from device.read_noise import read_noise_summary
from device.rng_parameters import RNGParameters
from device.technology_parameters import (  # noqa: F401 - re-exported: the parameters live in the numba-free module
    ASSUMED_CONSTANTS,
    DEFAULT_NODE_NM,
    HOROWITZ_45NM_J,
    HOROWITZ_45NM_UM2,
    HOROWITZ_NODE_NM,
    NODE_DEFAULTS,
    TechnologyParameters,
    node_scaled,
    scale_to_node,
)

SAR_ROW_ACTIVITY = 0.5  # fraction of a column's rows conducting, for F4's column resistance


# --- energy and area models ------------------------------------------------------------------------


def _array(name: str, value, positive: bool = True) -> np.ndarray:
    x = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(x)) or np.any(x < 0) or (positive and np.any(x == 0)):
        raise InputError(f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {value!r}")
    return x


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def adc_energy_survey(bits, sample_rate):
    """Best-case ADC energy per conversion, J (F3; Accelergy ADC plug-in fit to the Murmann survey):
    E = 1/(2·10^((FOMS − SNDR)/10)), FOMS = min(302.74 − 6.4608·ln f_s, 180.14) dB,
    SNDR = 6.0206·b + 1.761 dB. 5 b @ 1 GS/s ≈ 10 fJ; 8 b ≈ 0.64 pJ."""
    b, fs = _array("bits", bits), _array("sample_rate", sample_rate)
    foms = np.minimum(302.74 - 6.4608 * np.log(fs), 180.14)
    sndr = 6.0206 * b + 1.761
    return _out(1.0 / (2.0 * 10.0 ** ((foms - sndr) / 10.0)))


def adc_energy_sar(bits, column_resistance):
    """SAR ADC energy per conversion, J (F4; NeuroSim V1.4 SarADC fit, 22 nm LP):
    E = [(a·log2 L + b)·1e-6 + c/R_col]·(log2 L + 1)·1e-9, L = 2^bits, a 0.538, b 4.375, c 0.0723."""
    b, r = _array("bits", bits), _array("column_resistance", column_resistance)
    return _out(((0.538 * b + 4.375) * 1e-6 + 0.0723 / r) * (b + 1.0) * 1e-9)


def adc_area(bits, sample_rate, node_nm, energy_j):
    """ADC area, µm² (F5; Accelergy ADC plug-in): ln A = 0.0667·ln f_s + 0.7973·ln(node/nm)
    − 0.1344·b + 0.4237·ln(E/pJ) + 4.8506. 5 b @ 1 GS/s, 22 nm, F3 energy ≈ 430 µm²."""
    b, fs = _array("bits", bits), _array("sample_rate", sample_rate)
    node, e = _array("node_nm", node_nm), _array("energy_j", energy_j)
    log_area = 0.0667 * np.log(fs) + 0.7973 * np.log(node) - 0.1344 * b + 0.4237 * np.log(e / 1e-12) + 4.8506
    return _out(np.exp(log_area))


def vcma_pulse_energy(capacitance, voltage, resistance, pulse_width, driver_energy=0.0):
    """Energy of one VCMA pulse, J (F17): E = C·V² + (V²/R)·t_p + E_driver."""
    c, r = _array("capacitance", capacitance, False), _array("resistance", resistance)
    v, t = _array("voltage", voltage, False), _array("pulse_width", pulse_width, False)
    return _out(c * v**2 + v**2 / r * t + _array("driver_energy", driver_energy, False))


def read_energy(voltage, resistance, read_time):
    """Energy of one cell read, J (F1 for one cell, MNSIM 2.0): E = V²/R·t_read."""
    v, r = _array("voltage", voltage, False), _array("resistance", resistance)
    return _out(v**2 / r * _array("read_time", read_time, False))


def cell_area_um2(tech: TechnologyParameters) -> float:
    """Area of one memory cell, µm² (F6): A = k·F², k = ``tech.cell_area_f2``, F = node."""
    return tech.cell_area_f2 * (tech.node_nm * 1e-3) ** 2


def column_resistance(mtj_params: mtj.MTJParameters, rows: int, read_voltage: float) -> float:
    """Column resistance seen by a SAR ADC (input to F4), Ω: ``rows``·SAR_ROW_ACTIVITY cells in
    parallel at the mean of the P and AP conductances at ``read_voltage`` (F16). Assumption."""
    return 1.0 / (max(rows, 1) * SAR_ROW_ACTIVITY * mean_conductance(mtj_params, read_voltage))


def mean_conductance(mtj_params: mtj.MTJParameters, voltage: float) -> float:
    """Mean of the P and AP conductances at bias ``voltage`` (F16), S: a cell of unknown state."""
    return 0.5 * sum(1.0 / float(mtj.resistance(mtj_params, s, voltage)) for s in (1.0, -1.0))


class ChipFootprint(NamedTuple):
    """The hardware a chip occupies (supplied by the crossbar/chip code); all non-negative ints."""

    n_tiles: int
    tile_rows: int
    tile_cols: int
    n_cells: int  # programmed cells
    n_adcs: int
    n_row_drivers: int
    n_rng_devices: int
    adc_bits: int  # 0 = ideal readout (no ADC charged)
    weight_bits: int
    input_cycles: int


# --- the report ------------------------------------------------------------------------------------


def rng_action_energies(
    rng_params: RNGParameters,
    mtj_params: mtj.MTJParameters,
    tech: TechnologyParameters,
    line_field: float | None = None,
) -> dict:
    """J per action of the random-bit array: write pulse and reset pulse (F17 at the pulse voltage
    and width, with R from F16 in the state the device starts the pulse in: P for the write, AP for
    the reset; C from `MTJParameters.capacitance`), reads in P and AP (F1 at read_voltage, read_time),
    and the bias line's field during each write pulse (`device.field_line`, at ``line_field``, the
    devices' mean |H| in A/m, `MTJRandomSource.line_field`; None: |bias_field|, no knob)."""
    v, t = rng_params.pulse_voltage, rng_params.pulse_width
    c, e_drv = mtj_params.capacitance, tech.vcma_driver_energy
    r_p, r_ap = (float(mtj.resistance(mtj_params, s, v)) for s in (1.0, -1.0))
    vr, tr = rng_params.read_voltage, rng_params.read_time
    return {
        "pulse_j": vcma_pulse_energy(c, v, r_p, t, e_drv),
        "reset_j": vcma_pulse_energy(c, v, r_ap, t, e_drv),
        "read_p_j": read_energy(vr, float(mtj.resistance(mtj_params, 1.0, vr)), tr),
        "read_ap_j": read_energy(vr, float(mtj.resistance(mtj_params, -1.0, vr)), tr),
        "field_j": float(
            field_line.pulse_energy(
                abs(rng_params.bias_field) if line_field is None else line_field,
                t,
                tech.field_line_width_m,
                tech.field_line_supply_v,
            )
        ),
    }


def _rng_energy(cycles: int, resets: int, e: dict) -> dict:
    """Pulses, bias-line fields, reads (switched devices read AP) and resets of ``cycles`` cycles with ``resets`` ones."""
    return {
        "pulse_j": cycles * e["pulse_j"],
        "field_j": cycles * e["field_j"],
        "read_j": max(cycles - resets, 0) * e["read_p_j"] + min(resets, cycles) * e["read_ap_j"],
        "reset_j": resets * e["reset_j"],
    }


def _component_energies(c: dict, tech: TechnologyParameters, e: dict, scale: float) -> tuple[dict, dict]:
    """F7 roll-up of one phase's counts ``c`` with per-action energies ``e``: (components, rng parts)."""
    rng_parts = _rng_energy(c["rng_cycles"], c["rng_reset_pulses"], e["rng"])
    rng_parts["gaussian_conversion_j"] = c["gaussian_samples"] * tech.digital_op_energy
    calibration = _rng_energy(c["rng_calibration_cycles"], c["rng_calibration_reset_pulses"], e["rng"])
    energy = {
        "array_read": c["array_read_energy_j"],
        "adc": c["adc_conversions"] * e["adc"],
        "dac": c["dac_conversions"] * tech.dac_energy,
        "shift_add": c["shift_adds"] * tech.shift_add_energy,
        "digital": c["digital_ops"] * tech.digital_op_energy,
        "rng": sum(rng_parts.values()),
        "rng_calibration": sum(calibration.values()),
        "programming": c["write_pulses"] * (e["write"] + e["write_field"]) + c["write_verify_reads"] * e["verify"],
    }
    return {k: float(v * scale) for k, v in energy.items()}, {k: float(v * scale) for k, v in rng_parts.items()}


def cell_retention(mtj_params: mtj.MTJParameters, read_voltage: float) -> dict:
    """How long a crossbar cell keeps its state: Néel–Brown escape rates at rest and while read.

    `mtj.brown_escape_rate` (Brown 1963) of the profile's device at zero field, at 0 V and at the
    read voltage (VCMA lowers the barrier during a read); the mean retention is 1/(the faster rate).
    The crossbar's cells are the profile's one device, whose barrier is chosen for random bits
    (Δ0 ≈ 20 k_BT); the emulation keeps the programmed states for the whole job, as memory-grade
    cells (Δ0 ≳ 60 k_BT) or a refresh would.
    """
    idle = max(float(r) for r in mtj.brown_escape_rate(mtj_params, 0.0, 0.0))
    read = max(float(r) for r in mtj.brown_escape_rate(mtj_params, read_voltage, 0.0))
    return {
        "thermal_stability_kbt": float(mtj.thermal_stability(mtj_params, 0.0)),
        "escape_rate_idle_per_s": idle,
        "escape_rate_read_per_s": read,
        "mean_retention_s": 1.0 / idle if idle > 0 else math.inf,
        "note": "the cells share the random-bit device's barrier; the emulation keeps every programmed state "
        "for the whole job (memory-grade cells or a refresh; neither is modelled or charged)",
    }


def digital_latency(ops, tech: TechnologyParameters) -> float:
    """Time of ``ops`` digital operations on the periphery, s: ops/(digital_clock_hz·digital_lanes)."""
    return float(ops) / (tech.digital_clock_hz * tech.digital_lanes)


def _check_footprint(footprint) -> None:
    if not isinstance(footprint, ChipFootprint):
        raise InputError(f"footprint must be a ChipFootprint, got {type(footprint).__name__}")
    for name, value in footprint._asdict().items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise InputError(f"footprint.{name} must be a non-negative integer, got {value!r}")


def _ratio(numerator, denominator):
    return float(numerator / denominator) if numerator is not None and denominator else None


def cost_report(
    ledger: Ledger,
    footprint: ChipFootprint,
    tech: TechnologyParameters,
    rng_params: RNGParameters,
    mtj_params: mtj.MTJParameters,
    phase: str = "inference",
    images: int = 1,
    steps: int | None = None,
    workload: dict | None = None,
    *,
    crossbar=None,
    utilisation: float = baselines.DEFAULT_UTILISATION,
    rng_line_field: float | None = None,
) -> dict:
    """JSON-ready energy / area / latency / baseline report of ``ledger``'s ``phase``.

    ``images`` and ``steps`` (sampler steps per image) set the per-image and per-step numbers;
    ``workload`` (a JSON-serialisable dict describing the model/request) is echoed. ``crossbar``
    (a `device.crossbar.CrossbarParameters`, read for write_pulse_voltage, write_pulse_width,
    read_voltage, read_time) sets the programming-pulse and verify-read energies and F4's column
    resistance, and the read noise the report states (``assumptions.read_noise``: effective and
    derived σ, and a warning when ``read_noise`` overrides the physics); without it the random-bit
    array's pulse and read settings are used. ``utilisation``
    is the GPU/TPU baseline's; ``rng_line_field`` the random-bit devices' mean bias-line |H|, A/m
    (`MTJRandomSource.line_field`; None: |bias_field|). Energy components (F7): array_read (F1, summed by the crossbar), adc
    (F3), dac, shift_add, digital, rng and rng_calibration (F17 + F1 per cycle, F17 per reset),
    programming (F17 write pulses + F1 verify reads). The ``"programming"`` phase's total is
    also reported on its own (``programming_phase_energy_j``: once per chip, not per image).
    """
    if not isinstance(ledger, Ledger):
        raise InputError(f"ledger must be a Ledger, got {type(ledger).__name__}")
    _check_footprint(footprint)
    for name, value, cls in (
        ("tech", tech, TechnologyParameters),
        ("rng_params", rng_params, RNGParameters),
        ("mtj_params", mtj_params, mtj.MTJParameters),
    ):
        if not isinstance(value, cls):
            raise InputError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")
    check_phase(phase)
    if not isinstance(images, int) or isinstance(images, bool) or images < 1:
        raise InputError(f"images must be a positive integer, got {images!r}")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise InputError(f"steps must be a positive integer or None, got {steps!r}")
    if workload is not None:
        try:
            serialisable = isinstance(workload, dict) and bool(json.dumps(workload, allow_nan=False))
        except (TypeError, ValueError):
            serialisable = False
        if not serialisable:
            raise InputError(f"workload must be a JSON-serialisable dict or None, got {workload!r}")
    c = ledger.counts(phase)
    scale = tech.post_layout_factor if tech.apply_post_layout_factor else 1.0

    # per-action energies
    write_v, write_t, read_v, read_t = (
        getattr(crossbar, name, getattr(rng_params, default))
        for name, default in (
            ("write_pulse_voltage", "pulse_voltage"),
            ("write_pulse_width", "pulse_width"),
            ("read_voltage", "read_voltage"),
            ("read_time", "read_time"),
        )
    )
    g_write, g_read = mean_conductance(mtj_params, write_v), mean_conductance(mtj_params, read_v)
    e_write = vcma_pulse_energy(mtj_params.capacitance, write_v, 1.0 / g_write, write_t, tech.vcma_driver_energy)
    e_verify = read_energy(read_v, 1.0 / g_read, read_t)
    write_field = float(getattr(crossbar, "write_field", 0.0))
    e_write_field = float(
        field_line.pulse_energy(write_field, write_t, tech.field_line_width_m, tech.field_line_supply_v)
    )
    bits = footprint.adc_bits
    r_col = column_resistance(mtj_params, footprint.tile_rows, read_v)
    e_f3 = adc_energy_survey(bits, tech.adc_sample_rate) if bits else 0.0
    e_f4 = adc_energy_sar(bits, r_col) if bits else 0.0
    if rng_line_field is not None and not (
        isinstance(rng_line_field, (int, float)) and math.isfinite(rng_line_field) and rng_line_field >= 0
    ):
        raise InputError(f"rng_line_field must be a finite field magnitude >= 0 A/m, got {rng_line_field!r}")
    line_field = abs(rng_params.bias_field) if rng_line_field is None else float(rng_line_field)
    e_rng = rng_action_energies(rng_params, mtj_params, tech, line_field)
    per_action = {"adc": e_f3, "write": e_write, "write_field": e_write_field, "verify": e_verify, "rng": e_rng}
    energy, rng_parts = _component_energies(c, tech, per_action, scale)
    total = sum(energy.values())
    prog_total = sum(_component_energies(ledger.counts("programming"), tech, per_action, scale)[0].values())

    # area
    cell_um2 = cell_area_um2(tech)
    array_cells = max(footprint.n_tiles * footprint.tile_rows * footprint.tile_cols, footprint.n_cells)
    area = {
        "cells": array_cells * cell_um2,
        "adcs": footprint.n_adcs * adc_area(bits, tech.adc_sample_rate, tech.node_nm, e_f3) if bits else 0.0,
        "drivers": footprint.n_row_drivers * tech.driver_area_um2,
        "rng": footprint.n_rng_devices * (cell_um2 + tech.rng_periphery_area_um2),
        "digital": tech.digital_lanes * tech.digital_lane_area_um2,
    }
    area = {k: float(v) for k, v in area.items()}
    area_total_mm2 = sum(area.values()) * 1e-6

    # latency: noise generation overlaps the network (the noise of a step does not depend on it)
    if c["rng_cycles"] and not footprint.n_rng_devices:
        raise InputError("footprint.n_rng_devices is 0 but the ledger counts random-bit cycles")
    rng_time = c["rng_cycles"] / footprint.n_rng_devices * rng_params.cycle_time if c["rng_cycles"] else 0.0
    digital_time = digital_latency(c["digital_ops"], tech) + c["digital_latency_s"]
    compute_time = c["mvm_latency_s"] + digital_time
    latency_total = max(compute_time, rng_time)
    latency = {
        "per_image": latency_total / images,
        "per_step": latency_total / images / steps if steps else None,
        "total": latency_total,
        "mvm": c["mvm_latency_s"],
        "digital": digital_time,
        "rng": rng_time,
        "model": "total = max(mvm + digital, rng): the random-bit array runs concurrently with the network; "
        f"digital = digital_ops/({tech.digital_clock_hz:.3g} Hz × {tech.digital_lanes} lanes), after the reads",
    }

    # baseline and the headline metric
    base = baselines.baseline_report(2.0 * c["macs"], c["gaussian_samples"], utilisation, images=images)
    chip_bit_energy = _ratio(sum(v for k, v in rng_parts.items() if k != "gaussian_conversion_j"), c["rng_output_bits"])
    chip_metric = (
        baselines.energy_per_bit_per_area(chip_bit_energy, area["rng"] * 1e-6) if chip_bit_energy is not None else None
    )
    per_image = total / images
    ratios = {"energy_per_image_gpu_over_chip": {}, "energy_per_bit_per_area_gpu_over_chip": {}}
    for key, acc in base["accelerators"].items():
        ratios["energy_per_image_gpu_over_chip"][key] = _ratio(acc["energy_per_image_j"], per_image)
        metric = acc["energy_per_bit_per_area_j_mm2"]
        ratios["energy_per_bit_per_area_gpu_over_chip"][key] = {
            way: _ratio(metric[way], chip_metric) for way in ("full_die", "rng_time_share")
        }

    physical = footprint.n_tiles * footprint.tile_rows * footprint.tile_cols
    assumptions = {
        "node_nm": tech.node_nm,
        "adc_model": (
            "headline: F3 survey best case (Accelergy/Murmann) at adc_bits and adc_sample_rate — "
            "technology-neutral and what a designed-for-purpose ADC achieves; F4 (NeuroSim SAR fit, "
            f"22 nm) given as an alternative with R_col = {r_col:.4g} Ω (tile_rows × {SAR_ROW_ACTIVITY} "
            "active cells at the mean P/AP conductance — assumption)"
        ),
        "baseline_utilisation": utilisation,
        "array_utilisation": footprint.n_cells / physical if physical else None,
        "bit_definition": baselines.BIT_DEFINITION,
        "metric_definition": baselines.METRIC_DEFINITION,
        "chip_metric_basis": "rng energy per output bit (pulses, reads, resets; no Gaussian conversion, no "
        "calibration) × random-bit array area (cells + periphery)",
        "energy_model": "F7 roll-up of dynamic energy; leakage not modelled; post-layout factor "
        + (f"{tech.post_layout_factor} applied" if tech.apply_post_layout_factor else "not applied"),
        "array_read": "F1 from the crossbar's actual per-cell conductances (cell_reads not charged again)",
        "rng_pulse": "F17 at pulse voltage/width, R_P (F16) for write pulses and R_AP for resets (same "
        "pulse), plus vcma_driver_energy; reads F1, switched devices read in AP",
        "field_lines": f"strip-line fields, I = 2·w·|H|, E = V_dd·I·t per gated pulse (w = {tech.field_line_width_m:.3g} m, "
        f"V_dd = {tech.field_line_supply_v:.3g} V): the random-bit bias line at mean |H| = "
        f"{line_field:.4g} A/m per write pulse "
        f"({e_rng['field_j']:.3g} J), the crossbar write field {write_field:.4g} A/m per programming pulse ({e_write_field:.3g} J)",
        "gaussian_conversion": "one digital op per Gaussian sample (table look-up or counter read-out)",
        "programming": f"F17 write pulses at {write_v} V, {write_t} s with their write-line field, and F1 verify reads at {read_v} V, "
        f"{read_t} s, at the mean P/AP conductance"
        + ("" if crossbar is not None else " (random-bit array settings: no crossbar parameters given)"),
        "cell_area": f"{tech.cell_area_f2} F² per cell (F6, NVSim 1T1MTJ) over the whole tile arrays",
        "read_noise": read_noise_summary(mtj_params, crossbar) if hasattr(crossbar, "read_noise_factor") else None,
        "cell_retention": cell_retention(mtj_params, read_v) if crossbar is not None else None,
        "source": "the 'ideal' random source is charged as the MTJ array (its bias line at |bias_field|: it has no field knob)"
        if rng_params.source == "ideal"
        else "mtj",
        "constants": {
            **{name: {"value": getattr(tech, name), "basis": basis} for name, basis in ASSUMED_CONSTANTS.items()},
            "sar_row_activity": {"value": SAR_ROW_ACTIVITY, "basis": "assumption: half the rows conduct"},
        },
    }
    return {
        "phase": phase,
        "images": images,
        "steps": steps,
        "workload": workload,
        "counts": c,
        "energy_j": energy,
        "energy_total_j": total,
        "energy_per_image_j": per_image,
        "energy_per_step_j": per_image / steps if steps else None,
        "adc_alternatives": {
            "survey_f3": float(c["adc_conversions"] * e_f3 * scale),
            "sar_f4": float(c["adc_conversions"] * e_f4 * scale),
            "per_conversion_j": {"survey_f3": float(e_f3), "sar_f4": float(e_f4)},
        },
        "rng_detail": {
            **rng_parts,
            "per_action_j": e_rng,
            "energy_per_output_bit_j": chip_bit_energy,
            "energy_per_bit_per_area_j_mm2": chip_metric,
        },
        "programming_phase_energy_j": float(prog_total),
        "area_um2": area,
        "area_total_mm2": area_total_mm2,
        "latency_s": latency,
        "baseline": base,
        "ratios": ratios,
        "assumptions": assumptions,
    }
