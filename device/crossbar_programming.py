"""Writing weights into binary-MTJ crossbar cells: quantisation, bit slices and VCMA write-verify.

`program` turns a float matrix into a `device.crossbar.ProgrammedMatrix`: per-column sign/magnitude
quantisation (`quantise_weights`), bit slices over differential column pairs (`slice_bits`, open
loop) or closed-loop slices written MSB first (`_program_closed_loop`), each cell written by the
hard-axis VCMA write-verify loop (`_write_cells`, `write_success_probability`). The mapping and its
reasons are in `device.crossbar`'s module docstring and `CrossbarParameters.weight_mapping`; the
plain per-cell twin is `program` in tests/device/naive_crossbar.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device import mtj
from device.crossbar import (
    CrossbarParameters,
    ProgrammedMatrix,
    _check_matrix,
    cell_conductances,
    check_ir_drop_range,
    nominal_delta_g,
)
from device.errors import InputError


@dataclass
class WriteStats:
    """Programming outcome: pulses, verify reads and cells left in the wrong state."""

    cells: int = 0
    write_pulses: int = 0
    verify_reads: int = 0
    residual_errors: int = 0


def write_success_probability(params: mtj.MTJParameters, cb: CrossbarParameters, k_i0, stray_field, target_on):
    """P(one VCMA write pulse leaves the cell in its target state).

    Hard-axis regime (validated against the macrospin in docs/physics.md): the write line adds
    ``write_field`` towards the target (+z for "1"/parallel, −z for "0"), on top of the cell's own
    stray field; P(end in −z) from `mtj.switching_probability_hard_axis`.
    """
    toward = np.where(target_on, 1.0, -1.0)
    field = stray_field + toward * cb.write_field
    p_minus = mtj.switching_probability_hard_axis(params, cb.write_pulse_voltage, field, k_i0)
    return np.where(target_on, 1.0 - p_minus, p_minus)


def quantise_weights(weights: np.ndarray, weight_bits: int):
    """Per-output-column sign/magnitude quantisation.

    Returns ``(levels, scale)``: signed integer levels (K, N) in [−(2^b − 1), 2^b − 1] (floats in
    [−1, 1] for the analog cell, b = 0) and the per-column scale (N,) with W ≈ levels·scale.
    """
    w_max = np.max(np.abs(weights), axis=0)
    w_max = np.where(w_max > 0, w_max, 1.0)
    if weight_bits == 0:
        return weights / w_max, w_max
    top = 2**weight_bits - 1
    return np.rint(weights / w_max * top), w_max / top


def slice_bits(levels: np.ndarray, weight_bits: int):
    """(K, N) signed levels → positive and negative cell states (K, N·S) bool, column n·S + s = bit s."""
    k, n = levels.shape
    magnitude = np.abs(levels).astype(np.int64)
    bits = ((magnitude[:, :, None] >> np.arange(weight_bits)) & 1).astype(bool)  # (K, N, S)
    positive = bits & (levels > 0)[:, :, None]
    negative = bits & (levels < 0)[:, :, None]
    return positive.reshape(k, n * weight_bits), negative.reshape(k, n * weight_bits)


def program(
    weights,
    mtj_params: mtj.MTJParameters,
    variation: mtj.VariationParameters,
    cb: CrossbarParameters,
    technology,
    seed: int,
    ledger=None,
    compute_dtype=np.float64,
) -> ProgrammedMatrix:
    """Write ``weights`` (K × N float matrix, y = x @ W) into crossbar tiles of MTJ cells.

    Every cell draws its own R_P, TMR, K_i0 and stray field from ``variation`` (seeded by ``seed``).
    With the ``physics`` write model each cell starts in an unknown state (½ P, ½ AP), is read, and
    cells in the wrong state get VCMA write pulses, each verified by a read, until they switch or
    ``write_verify_attempts`` pulses are spent; cells still wrong are residual write errors and keep
    the wrong conductance. With the ``closed_loop`` weight mapping (the default) slices are written
    MSB first and each lower slice corrects what the measured upper slices missed
    (`_program_closed_loop`). Pulses and reads are added to ``ledger`` under ``"programming"``.
    ``compute_dtype`` (float64 or float32) is the emulator's arithmetic for the analog path.
    """
    weights = _check_matrix("weights", weights, 2)
    if weights.shape[0] == 0 or weights.shape[1] == 0:
        raise InputError(f"weights must have at least one row and one column, got shape {weights.shape}")
    rng = np.random.default_rng([seed, 11])
    levels, col_scale = quantise_weights(weights, cb.weight_bits)
    closed_loop = cb.weight_bits > 0 and cb.weight_mapping == "closed_loop"
    if closed_loop:
        shape = (weights.shape[0], weights.shape[1] * cb.weight_bits)
    elif cb.weight_bits:
        target_pos, target_neg = slice_bits(levels, cb.weight_bits)
        shape = target_pos.shape
    else:
        target_pos, target_neg = np.clip(levels, 0, None), np.clip(-levels, 0, None)
        shape = target_pos.shape
    n_cells = 2 * shape[0] * shape[1]
    spread = variation if cb.cell_variation else mtj.NO_VARIATION
    population = mtj.sample_population(mtj_params, spread, n_cells, rng)
    g_on, g_off = cell_conductances(mtj_params, cb, population.resistance_parallel, population.tmr)
    stats = WriteStats(cells=n_cells)
    if closed_loop:
        conductance = _program_closed_loop(weights / col_scale, mtj_params, cb, population, g_on, g_off, rng, stats)
    else:
        targets = np.concatenate([target_pos.ravel(), target_neg.ravel()])
        if cb.weight_bits == 0:
            conductance = g_off + (g_on - g_off) * targets  # analog reference cell: no MTJ writes
        else:
            states = _write_cells(targets.astype(bool), mtj_params, cb, population, rng, stats)
            conductance = np.where(states, g_on, g_off)
    if ledger is not None:
        ledger.add("programming", write_pulses=stats.write_pulses, write_verify_reads=stats.verify_reads)
    g_pos = conductance[: n_cells // 2].reshape(shape)
    g_neg = conductance[n_cells // 2 :].reshape(shape)
    check_ir_drop_range(g_pos, g_neg, cb)
    return ProgrammedMatrix(mtj_params, cb, technology, g_pos, g_neg, col_scale, stats, compute_dtype)


def _program_closed_loop(unit_levels, mtj_params, cb, population, g_on, g_off, rng, stats: WriteStats) -> np.ndarray:
    """Closed-loop bit-slice programming (see `CrossbarParameters.weight_mapping`); returns every cell's G.

    ``unit_levels`` (K, N): the weights in LSB units, w/scale (floats in [−(2^b − 1), 2^b − 1]). Cell
    layout as in open loop: positive cells first, cell (k, n·S + s) at k·N·S + n·S + s. For s from
    b − 1 down to 0: digit d = clip(rint(r/2^s), −1, 1) → targets (pos = d > 0, neg = d < 0) → the
    write-verify loop of `_write_cells` on that slice's cells (positive cells row-major, then
    negative) → a verify read of every cell of the slice, G·(1 + read_noise·ξ) → r −= 2^s·(Ĝ⁺ − Ĝ⁻)/ΔG.
    Random draws, in order, per slice: the write loop's draws, then one normal per cell.
    """
    k, n = unit_levels.shape
    n_slices = cb.weight_bits
    half = k * n * n_slices
    delta_g = nominal_delta_g(mtj_params, cb)
    conductance = np.empty(2 * half)
    remaining = unit_levels.astype(np.float64).copy()
    for s in reversed(range(n_slices)):
        digit = np.clip(np.rint(remaining / 2.0**s), -1.0, 1.0)
        cells_pos = (np.arange(k)[:, None] * (n * n_slices) + np.arange(n)[None, :] * n_slices + s).ravel()
        cells = np.concatenate([cells_pos, cells_pos + half])
        targets = np.concatenate([(digit > 0).ravel(), (digit < 0).ravel()])
        subset = mtj.DevicePopulation(*(values[cells] for values in population))
        states = _write_cells(targets, mtj_params, cb, subset, rng, stats)
        g = np.where(states, g_on[cells], g_off[cells])
        conductance[cells] = g
        measured = g * (1.0 + cb.read_noise * rng.standard_normal(g.size)) if cb.read_noise > 0 else g
        if cb.write_model == "ideal":
            stats.verify_reads += g.size  # the physics loop's last verify read is this measurement
        remaining -= 2.0**s * (measured[: k * n] - measured[k * n :]).reshape(k, n) / delta_g
    return conductance


def _write_cells(targets, mtj_params, cb, population, rng, stats: WriteStats) -> np.ndarray:
    """Write-verify every cell towards ``targets`` (bool, True = parallel/"1"); returns final states."""
    if cb.write_model == "ideal":
        return targets.copy()
    initial = rng.random(targets.size) < 0.5
    stats.verify_reads += targets.size  # read every cell once before writing
    wrong = initial != targets
    p_success = write_success_probability(
        mtj_params, cb, population.interfacial_anisotropy[wrong], population.stray_field[wrong], targets[wrong]
    )
    attempts_needed = rng.geometric(np.clip(p_success, 1e-12, 1.0))
    pulses = np.minimum(attempts_needed, cb.write_verify_attempts)
    stats.write_pulses += int(pulses.sum())
    stats.verify_reads += int(pulses.sum())
    failed = attempts_needed > cb.write_verify_attempts
    stats.residual_errors += int(failed.sum())
    states = targets.copy()
    wrong_index = np.flatnonzero(wrong)
    states[wrong_index[failed]] = ~targets[wrong_index[failed]]
    return states
