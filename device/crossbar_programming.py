"""Writing weights into binary-MTJ crossbar cells: quantisation, bit slices and VCMA write-verify.

`program` turns a float matrix into a `device.crossbar.ProgrammedMatrix`: per-column sign/magnitude
quantisation (`quantise_weights`), bit slices over differential column pairs (`slice_bits`, open
loop) or closed-loop slices written MSB first, each cell written by the hard-axis VCMA
write-verify loop (`write_success_probability`). The mapping and its reasons are in
`device.crossbar`'s module docstring and `CrossbarParameters.weight_mapping`.

Speed: every cell is made, written and verified in one pass of the Numba kernel `_program_rows`
(about 55 ns per cell on one core of the development machine), one weight row per random stream,
so rows are independent and parallel runs equal serial ones. Its normals come from a 256-layer
ziggurat (`_standard_normal`; Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000) over the row's
xoshiro256** stream, at about 6.5 ns each against numpy's 11 ns; only the cells that need a write
draw K_i0 and a stray field, and Φ of the write probability is evaluated only when a pulse's
uniform lies above a bound that every cell's success probability exceeds (`_success_floor`). The plain per-cell twin, draw for
draw, is `program` in tests/device/naive_crossbar.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from device import mtj
from device.crossbar import (
    CrossbarParameters,
    ProgrammedMatrix,
    _check_matrix,
    check_ir_drop_range,
    nominal_delta_g,
)
from device.errors import InputError
from device.numba_config import njit
from device.random_streams import new_stream_states, next_u64, next_uniform
from device.read_noise import resolve as resolve_read_noise
from device.seed_salts import Salt


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
    MSB first and each lower slice corrects what the measured upper slices missed: after a slice's
    pair is written, both its cells are read, G·(1 + read_noise·ξ), and the next slice's signed
    digit d = clip(rint(r/2^s), −1, 1) encodes what is still missing, r −= 2^s·(Ĝ⁺ − Ĝ⁻)/ΔG.
    Pulses and reads are added to ``ledger`` under ``"programming"``. ``compute_dtype`` (float64 or
    float32) is the emulator's arithmetic for the analog path.

    Random draws (the reproducibility contract of a chip seed): weight row k has its own
    xoshiro256** stream, row k of ``new_stream_states(K, np.random.default_rng([seed, Salt.CROSSBAR_WRITES]))``. Along
    it: for each output n, for each slice s from the MSB down (one "slice" for the analog cell),
    for the positive then the negative cell of the pair (k, n·S + s):
      1. a normal for R_P, then one for TMR (relative spread, z clipped to ±4σ);
      2. physics writes only: a uniform, the unknown initial state (P if u < ½); a cell that
         starts wrong then draws a normal for K_i0 (relative), one for the stray field
         (absolute), each clipped to ±4σ, and one uniform per write pulse, the pulse switching
         it if u < P_success (`write_success_probability`), until one does or
         ``write_verify_attempts`` are spent;
    then, closed loop with read noise only, one normal ξ for the pair's verify reads: the two cells
    are read with independent relative noise, G·(1 + read_noise·ξ±), so the measured difference is
    G⁺ − G⁻ + read_noise·sqrt(G⁺² + G⁻²)·ξ, exactly in distribution. Normals: `_standard_normal`;
    uniforms: 53-bit (`next_uniform`).
    (This order replaced, for speed, one numpy draw per array over the whole matrix: the same
    distribution, different numbers for a given seed.)
    ``read_noise``: ``cb``'s, derived from the read (`device.read_noise.resolve`) when it is None.
    """
    cb = resolve_read_noise(mtj_params, cb)
    weights = _check_matrix("weights", weights, 2)
    if weights.shape[0] == 0 or weights.shape[1] == 0:
        raise InputError(f"weights must have at least one row and one column, got shape {weights.shape}")
    k, n = weights.shape
    levels, col_scale = quantise_weights(weights, cb.weight_bits)
    empty = np.zeros((1, 1))
    if cb.weight_bits == 0:
        mode, targets_pos, targets_neg = _ANALOG, np.clip(levels, 0, None), np.clip(-levels, 0, None)
        unit = empty
    elif cb.weight_mapping == "closed_loop":
        mode, targets_pos, targets_neg, unit = _CLOSED_LOOP, empty, empty, weights / col_scale
    else:
        mode, unit = _SIGN_MAGNITUDE, empty
        targets_pos, targets_neg = (t.astype(np.float64) for t in slice_bits(levels, cb.weight_bits))
    n_slices = cb.n_slices
    spread = variation if cb.cell_variation else mtj.NO_VARIATION
    states = new_stream_states(k, np.random.default_rng([seed, Salt.CROSSBAR_WRITES]))
    g_pos = np.empty((k, n * n_slices))
    g_neg = np.empty((k, n * n_slices))
    counts = np.zeros((k, 3), dtype=np.int64)
    hard_axis = mtj.hard_axis_constants(mtj_params, cb.write_pulse_voltage)
    model = _cell_model(mtj_params, spread, cb)
    _program_rows(mode, unit, targets_pos, targets_neg, n_slices, model, hard_axis, states, g_pos, g_neg, counts)
    pulses, reads, residual = (int(v) for v in counts.sum(axis=0))
    stats = WriteStats(cells=2 * g_pos.size, write_pulses=pulses, verify_reads=reads, residual_errors=residual)
    if ledger is not None:
        ledger.add("programming", write_pulses=stats.write_pulses, write_verify_reads=stats.verify_reads)
    check_ir_drop_range(g_pos, g_neg, cb)
    return ProgrammedMatrix(mtj_params, cb, technology, g_pos, g_neg, col_scale, stats, compute_dtype)


_ANALOG, _SIGN_MAGNITUDE, _CLOSED_LOOP = 0, 1, 2


class _CellModel(NamedTuple):
    """Scalars of one cell's variation, read-out and write-verify loop, for `_program_rows`."""

    r_p: float  # nominal R_P, Ω, and its relative σ
    r_p_sigma: float
    tmr: float  # nominal TMR and its relative σ
    tmr_sigma: float
    k_i0: float  # nominal K_i0, J/m², and its relative σ
    k_i0_sigma: float
    stray: float  # nominal stray field, A/m, and its absolute σ
    stray_sigma: float
    read_bias: float  # 1 + (V_read/V_h)² of F16
    physics_writes: bool
    success_floor_on: float  # `_success_floor` of writes to "1" and to "0"
    success_floor_off: float
    write_field: float  # A/m towards the target
    attempts: int
    verify_reads_after_ideal_write: int  # closed loop with ideal writes: the measurement read
    read_noise: float
    delta_g: float  # nominal ΔG, S


def _cell_model(mtj_params: mtj.MTJParameters, spread: mtj.VariationParameters, cb: CrossbarParameters) -> _CellModel:
    bias = (np.asarray(cb.read_voltage, dtype=float) / mtj_params.tmr_half_voltage) ** 2  # as in mtj.resistance
    physics = cb.write_model == "physics"
    floor = lambda on: _success_floor(mtj_params, spread, cb, on) if physics else 0.0  # noqa: E731
    ideal_closed_loop = cb.write_model == "ideal" and cb.weight_bits > 0 and cb.weight_mapping == "closed_loop"
    return _CellModel(
        mtj_params.resistance_parallel,
        spread.resistance_parallel_rel,
        mtj_params.tmr,
        spread.tmr_rel,
        mtj_params.interfacial_anisotropy,
        spread.interfacial_anisotropy_rel,
        mtj_params.stray_field,
        spread.stray_field_abs,
        float(1.0 + bias),
        physics,
        floor(True),
        floor(False),
        float(cb.write_field),
        cb.write_verify_attempts,
        int(ideal_closed_loop),
        float(cb.read_noise),
        nominal_delta_g(mtj_params, cb),
    )


@njit(parallel=True)
def _program_rows(mode, unit_levels, targets_pos, targets_neg, n_slices, m, hard_axis, states, g_pos, g_neg, counts):
    """Make, write and verify every cell, row k from stream k (order: `program`'s docstring).

    ``m``: `_CellModel`; ``hard_axis``: `mtj.HardAxisConstants` at the write-pulse voltage.
    ``unit_levels`` (K, N) w/scale for the closed loop; ``targets_pos``/``targets_neg`` (K, N·S)
    the cells' targets otherwise (0/1, or the analog level). Fills ``g_pos``, ``g_neg`` (K, N·S)
    and ``counts[k]`` = (write pulses, verify reads, residual errors) of row k.
    """
    n_rows, n_columns = g_pos.shape
    n_out = n_columns // n_slices
    for k in numba.prange(n_rows):
        pulses = reads = residual = 0
        for n in range(n_out):
            remaining = unit_levels[k, n] if mode == _CLOSED_LOOP else 0.0
            for s in range(n_slices - 1, -1, -1):
                c = n * n_slices + s
                weight = float(1 << s)  # 2^s, exact
                if mode == _CLOSED_LOOP:
                    digit = min(max(np.rint(remaining * (1.0 / weight)), -1.0), 1.0)  # 1/2^s is exact
                    want_pos, want_neg = 1.0 if digit > 0 else 0.0, 1.0 if digit < 0 else 0.0
                else:
                    want_pos, want_neg = targets_pos[k, c], targets_neg[k, c]
                gp, p1, r1, e1 = _make_cell(states, k, m, hard_axis, mode, want_pos)
                gn, p2, r2, e2 = _make_cell(states, k, m, hard_axis, mode, want_neg)
                pulses += p1 + p2
                reads += r1 + r2
                residual += e1 + e2
                g_pos[k, c] = gp
                g_neg[k, c] = gn
                if mode == _CLOSED_LOOP:
                    reads += 2 * m.verify_reads_after_ideal_write
                    measured = gp - gn  # Ĝ⁺ − Ĝ⁻ of the pair's two verify reads, each G·(1 + σ·ξ)
                    if m.read_noise > 0:
                        measured += m.read_noise * math.sqrt(gp * gp + gn * gn) * _standard_normal(states, k)
                    remaining -= weight * measured / m.delta_g
        counts[k, 0] = pulses
        counts[k, 1] = reads
        counts[k, 2] = residual


@njit(inline="always")  # a Numba call per cell would cost more than the cell
def _make_cell(states, row, m, hard_axis, mode, target):
    """One cell: draw R_P and TMR, write it towards ``target`` (write-verify).

    Returns (G (F16), write pulses, verify reads, residual errors 0/1).
    """
    r_p = m.r_p * (1.0 + m.r_p_sigma * _clipped_normal(states, row))
    tmr = m.tmr * (1.0 + m.tmr_sigma * _clipped_normal(states, row))
    g_on = 1.0 / r_p  # F16 at cos θ = +1: R = R_P
    g_off = m.read_bias / (r_p * (m.read_bias + tmr))  # cos θ = −1: R = R_P·(1 + b + TMR)/(1 + b)
    if mode == _ANALOG:
        return g_off + (g_on - g_off) * target, 0, 0, 0
    on = target > 0.5
    pulses = reads = residual = 0
    if m.physics_writes:
        reads += 1  # read the unknown initial state
        if (next_uniform(states, row) < 0.5) != on:
            k_i0 = m.k_i0 * (1.0 + m.k_i0_sigma * _clipped_normal(states, row))
            stray = m.stray + m.stray_sigma * _clipped_normal(states, row)
            floor = m.success_floor_on if on else m.success_floor_off
            p_success = -1.0  # computed only when a pulse's uniform lies above the floor
            switched = False
            for _ in range(m.attempts):
                pulses += 1  # a pulse and its verify read
                reads += 1
                u = next_uniform(states, row)
                if u >= floor and p_success < 0.0:
                    if on:
                        p_success = 1.0 - mtj.hard_axis_probability(hard_axis, k_i0, stray + m.write_field)
                    else:
                        p_success = mtj.hard_axis_probability(hard_axis, k_i0, stray - m.write_field)
                if u < floor or u < p_success:
                    switched = True
                    break
            if not switched:
                residual = 1
                on = not on
    return (g_on if on else g_off), pulses, reads, residual


def _success_floor(mtj_params, spread: mtj.VariationParameters, cb: CrossbarParameters, target_on: bool) -> float:
    """A lower bound of P_success over every cell the spread can make (K_i0, stray field within ±4σ).

    P_success rises with the field towards the target (Φ of a positive multiple of it), so the
    bound is at the stray field's far end; over K_i0 it is the minimum on a 4001-point grid less a
    1e-6 margin. A pulse whose uniform lies below it succeeds without evaluating Φ (the same outcome
    as comparing with the cell's own P_success, which is computed otherwise).
    """
    worst_stray = mtj_params.stray_field + (-4.0 if target_on else 4.0) * spread.stray_field_abs
    k_i0 = mtj_params.interfacial_anisotropy * (1.0 + spread.interfacial_anisotropy_rel * np.linspace(-4.0, 4.0, 4001))
    p = write_success_probability(mtj_params, cb, k_i0, worst_stray, target_on)
    return max(float(np.min(p)) - 1e-6, 0.0)


# --- normal deviates: 256-layer ziggurat over a xoshiro256** stream ---------------------------------

_ZIGGURAT_R = 3.6541528853610088  # start of the tail, for 256 layers of area 0.00492867323399 each
_ZIGGURAT_AREA = 0.00492867323399


class _ZigguratTables(NamedTuple):
    k: np.ndarray  # uint64 (256,): acceptance bounds of the 52-bit abscissa per layer
    w: np.ndarray  # float64 (256,): layer width / 2^52
    f: np.ndarray  # float64 (256,): exp(−x_i²/2) at the layer edges


def ziggurat_tables() -> _ZigguratTables:
    """Marsaglia & Tsang's tables (their ``zigset``) for 256 layers and 52-bit abscissae."""
    m = 2.0**52
    k, w, f = np.zeros(256, dtype=np.uint64), np.zeros(256), np.zeros(256)
    dn = tn = _ZIGGURAT_R
    q = _ZIGGURAT_AREA / math.exp(-0.5 * dn * dn)
    k[0], k[1] = int(dn / q * m), 0
    w[0], w[255] = q / m, dn / m
    f[0], f[255] = 1.0, math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_ZIGGURAT_AREA / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = int(dn / tn * m)
        tn = dn
        f[i], w[i] = math.exp(-0.5 * dn * dn), dn / m
    return _ZigguratTables(k, w, f)


_ZIG_K, _ZIG_W, _ZIG_F = ziggurat_tables()  # module constants: Numba compiles them into the kernels
_U64 = np.uint64


@njit(inline="always")  # a Numba call per cell would cost more than the cell
def _standard_normal(states, row):
    """An N(0, 1) deviate from stream ``row``: 8 bits pick a layer, 1 the sign, 52 the abscissa.

    Accepted at once inside the layer's core (≈ 99 %); else the wedge test with one uniform, or,
    in the base layer, Marsaglia's tail method with two uniforms per try.
    """
    while True:
        r = next_u64(states, row)
        i = r & _U64(0xFF)
        r >>= _U64(8)
        negative = (r & _U64(1)) == _U64(1)
        bits = (r >> _U64(1)) & _U64(0x000FFFFFFFFFFFFF)
        x = float(bits) * _ZIG_W[i]
        if negative:
            x = -x
        if bits < _ZIG_K[i]:
            return x
        if i == 0:
            while True:
                tail = -math.log(1.0 - next_uniform(states, row)) / _ZIGGURAT_R
                y = -math.log(1.0 - next_uniform(states, row))
                if y + y > tail * tail:
                    return -(_ZIGGURAT_R + tail) if negative else _ZIGGURAT_R + tail
        elif (_ZIG_F[i - 1] - _ZIG_F[i]) * next_uniform(states, row) + _ZIG_F[i] < math.exp(-0.5 * x * x):
            return x


@njit(inline="always")  # a Numba call per cell would cost more than the cell
def _clipped_normal(states, row):
    """`_standard_normal` clipped to ±4 (the device-variation convention of `device.mtj`)."""
    return min(max(_standard_normal(states, row), -4.0), 4.0)


def standard_normals(states: np.ndarray, row: int, n: int) -> np.ndarray:
    """``n`` deviates of `_standard_normal` from stream ``row`` of ``states`` (advanced in place)."""
    if not isinstance(states, np.ndarray) or states.dtype != np.uint64 or states.ndim != 2 or states.shape[1] != 4:
        raise InputError(
            f"states must be an (n, 4) uint64 array, got {getattr(states, 'dtype', type(states).__name__)} "
            f"{getattr(states, 'shape', '')}"
        )
    if not isinstance(row, (int, np.integer)) or not 0 <= row < states.shape[0]:
        raise InputError(f"row must be an integer in [0, {states.shape[0]}), got {row!r}")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"n must be a non-negative integer, got {n!r}")
    out = np.empty(int(n))
    _fill_normals(states, int(row), out)
    return out


@njit
def _fill_normals(states, row, out):
    for i in range(out.shape[0]):
        out[i] = _standard_normal(states, row)
