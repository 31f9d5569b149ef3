"""Binary-MTJ in-memory-computing crossbars: parameters, the mapping, and the analog matrix-vector product.

Mapping scheme (why): a binary MTJ cell is either parallel ("1", G_on = 1/R_P) or anti-parallel ("0",
G_off = 1/(R_P·(1 + TMR))). With TMR ≈ 120 % a "0" still conducts ≈ 45 % of a "1", so a single-ended
column would carry a large weight-independent background that eats ADC range. spindiff therefore
uses **differential column pairs**: every weight magnitude is quantised to ``weight_bits`` bits and
bit-sliced across columns; slice s of output n owns a (positive, negative) column pair; a positive
weight sets its bit in the positive column, a negative one in the negative column, and the other
cell stays "0". The pair's currents are subtracted in the analog domain before the ADC
(I = Σ_j V_j·(G⁺_j − G⁻_j)), which cancels the AP background for nominal cells and leaves only the
device-to-device mismatch of the "0" cells; one ADC serves a pair. The slices are recombined by
digital shift-and-add (×2^s) and de-scaled by the nominal ΔG = G_on − G_off, the input scale and the
weight scale. ``weight_bits = 0`` means an analog cell (the ideal reference, not an MTJ).

Non-idealities, each a profile switch (`CrossbarParameters`), applied in this order per tile:
DAC quantisation of the inputs (n-bit amplitude, or bit-serial planes) → per-cell conductances with
device-to-device variation (R_P, TMR of `VariationParameters`, bias-dependent via F16) and residual
write errors → column partial sums per tile → IR drop (closed form, F9) → read noise (F8, per-cell
relative σ summed exactly per column) → ADC input noise → ADC quantisation with clipping to a range
calibrated per tile → digital shift-and-add → de-scaling. All switches off reproduces x @ W.

This module is the fast path: BLAS for every sum over rows, one Gaussian draw per column for the
read noise (a sum of independent Gaussians is Gaussian with the summed variance), and the Numba
kernel of `device.readout` for noise + ADC + accumulation in one pass. The plain per-cell twin lives
in tests/device/naive_crossbar.py. Writing the weights into cells (quantisation, bit slices, VCMA
write-verify, closed-loop slices) is `device.crossbar_programming`, whose `program` returns the
`ProgrammedMatrix` defined here.

`CrossbarParameters` lives in `device.crossbar_parameters`, which imports no numba, and is
re-exported here.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from device import mtj
from device.crossbar_parameters import (  # noqa: F401 - re-exported: the parameters live in the numba-free module
    EMULATION_MODES,
    INPUT_MODES,
    WEIGHT_MAPPINGS,
    WRITE_MODELS,
    CrossbarParameters,
)
from device.errors import InputError, ParameterError
from device.numba_config import njit
from device.random_streams import new_stream_states
from device.read_noise import resolve
from device.readout import read_out_accumulate


def cell_conductances(params: mtj.MTJParameters, cb: CrossbarParameters, r_p, tmr):
    """(G_on, G_off) in S of cells with resistance R_P and TMR, read at the full-scale voltage (F16)."""
    g_on = 1.0 / mtj.resistance(params, 1.0, cb.read_voltage, r_p, tmr)
    g_off = 1.0 / mtj.resistance(params, -1.0, cb.read_voltage, r_p, tmr)
    return g_on, g_off


def nominal_delta_g(params: mtj.MTJParameters, cb: CrossbarParameters) -> float:
    """ΔG = G_on − G_off of the nominal cell at the read voltage, S (the digital de-scaling unit)."""
    g_on, g_off = cell_conductances(params, cb, params.resistance_parallel, params.tmr)
    return float(g_on - g_off)


def all_finite(array: np.ndarray) -> bool:
    """True when no element of a non-empty ``array`` is NaN or ±inf.

    One min and one max pass (NaN propagates through both, ±inf shows in one of them): about 3× cheaper
    than ``np.isfinite(array).all()``, which builds a boolean array first.
    """
    return bool(np.isfinite(array.min()) and np.isfinite(array.max()))


def _check_matrix(name: str, array, ndim: int, keep_float32: bool = False) -> np.ndarray:
    """Validate a real, finite ``ndim``-D array; returns float64 (float32 kept when ``keep_float32``)."""
    array = np.asarray(array)
    if array.ndim != ndim:
        raise InputError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise InputError(f"{name} must be real numbers, got dtype {array.dtype}")
    if array.size and not all_finite(array):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise InputError(
            f"{name} has a non-finite value {float(array[tuple(bad)])} at index {tuple(int(i) for i in bad)}"
        )
    if keep_float32 and array.dtype == np.float32:
        return array
    return array.astype(np.float64, copy=False)


def dac_planes(x: np.ndarray, cb: CrossbarParameters):
    """Inputs (B, K) → read-voltage planes, their digital weights and the per-row input scale.

    Each row is scaled by its own max |x| (a digital max-abs, counted by the caller) so the largest
    input drives ±``read_voltage``. Amplitude mode: one plane, v = round(x/x_max·L)/L·V_read,
    L = 2^(b−1) − 1. Bit-serial: plane k = sign·bit_k(|round(x/x_max·L)|)·V_read with weight 2^k/L.
    Returns ``(planes, plane_weights, x_scale)`` with x ≈ x_scale·Σ_k w_k·plane_k/V_read. The
    planes keep x's dtype (float32 inputs stay float32: the chip backend's fast path).
    """
    x_scale = np.max(np.abs(x), axis=1, keepdims=True)
    x_scale = np.where(x_scale > 0, x_scale, x.dtype.type(1.0))
    unit = x / x_scale
    if cb.input_bits == 0:
        unit *= cb.read_voltage
        return [unit], [1.0], x_scale
    top = 2 ** (cb.input_bits - 1) - 1
    unit *= top
    q = np.rint(unit, out=unit)
    if cb.input_mode == "amplitude":
        q /= top
        q *= cb.read_voltage
        return [q], [1.0], x_scale
    magnitude = np.abs(q).astype(np.int64)
    sign = np.sign(q)
    planes = [sign * ((magnitude >> k) & 1) * cb.read_voltage for k in range(cb.input_bits - 1)]
    return planes, [2.0**k / top for k in range(cb.input_bits - 1)], x_scale


def ir_drop_position_factor(n_rows_in_tile: int, n_rows: int) -> np.ndarray:
    """f_j = 1 − (1 − j/n)² for the first ``n_rows`` rows of a tile of ``n_rows_in_tile`` (F9)."""
    j = np.arange(n_rows, dtype=np.float64)
    return 1.0 - (1.0 - j / n_rows_in_tile) ** 2


#: Largest worst-case a of F9 that `program` accepts: c(2) = 0.6. Beyond it the cubic closed form
#: is not trustworthy (c > 1 at a ≈ 2.9 would reverse the column current).
IR_DROP_MAX_A = 2.0


def ir_drop_coefficient(a):
    """c(a) = a·(0.05a² − 0.2a + 0.5), the closed-form IR-drop factor of F9 (aihwkit)."""
    return a * (0.05 * a * a - 0.2 * a + 0.5)


@njit(parallel=True)
def _apply_ir_drop(current, magnitude_sums, weighted_sums, scale):
    """current[b, c] −= c(a⁺)·W⁺ − c(a⁻)·W⁻ in place, a^± = scale·M^±[b, c] (F9, one fused pass).

    ``magnitude_sums`` and ``weighted_sums`` are (B, 2C): columns [0, C) from G⁺ and [C, 2C) from
    G⁻, i.e. Σ_j |V_j|·G_j and Σ_j f_j·V_j·G_j of `ProgrammedMatrix.column_currents`.
    """
    n_batch, n_cols = current.shape
    for b in numba.prange(n_batch):
        for c in range(n_cols):
            a_pos = scale * magnitude_sums[b, c]
            a_neg = scale * magnitude_sums[b, n_cols + c]
            c_pos = a_pos * (0.05 * a_pos * a_pos - 0.2 * a_pos + 0.5)
            c_neg = a_neg * (0.05 * a_neg * a_neg - 0.2 * a_neg + 0.5)
            current[b, c] -= c_pos * weighted_sums[b, c] - c_neg * weighted_sums[b, n_cols + c]


def check_ir_drop_range(g_pos: np.ndarray, g_neg: np.ndarray, cb: CrossbarParameters) -> None:
    """Refuse tiles whose full-scale IR drop lies outside the closed form's range (a > 2)."""
    if not cb.ir_drop:
        return
    g_wire = 1.0 / cb.wire_resistance
    worst = 0.0
    for start in range(0, g_pos.shape[0], cb.tile_rows):
        rows = slice(start, start + cb.tile_rows)
        column_sum = max(g_pos[rows].sum(axis=0).max(), g_neg[rows].sum(axis=0).max())
        worst = max(worst, cb.tile_rows * column_sum / g_wire)
    if worst > IR_DROP_MAX_A:
        raise ParameterError(
            f"IR drop too large for the closed-form model: a = tile_rows·ΣG/G_wire = {worst:.2f} > {IR_DROP_MAX_A} "
            f"with tile_rows={cb.tile_rows}, wire_resistance={cb.wire_resistance} Ω; use smaller tiles or wires"
        )


class ProgrammedMatrix:
    """A float matrix W (K × N) written into MTJ crossbar tiles; `matmul` computes x @ W on them.

    Build with `program`. Arrays (all float64): ``g_pos``, ``g_neg`` (K, N·S) per-cell conductances
    in S, column n·S + s holding bit s of output n; ``col_scale`` (N,); ``adc_range`` (chunks, N·S).
    """

    def __init__(
        self,
        mtj_params,
        cb: CrossbarParameters,
        technology,
        g_pos,
        g_neg,
        col_scale,
        write_stats,
        compute_dtype=np.float64,
    ):
        cb = resolve(mtj_params, cb)  # a derived read_noise (None) becomes its number for every engine
        self.mtj = mtj_params
        self.cb = cb
        self.technology = technology
        self.g_pos = g_pos
        self.g_neg = g_neg
        self.difference = g_pos - g_neg
        self.g_squared = g_pos**2 + g_neg**2 if cb.read_noise > 0 else None
        # the analog path runs in compute_dtype: float64 (validated against the per-cell twin to
        # 2e-16) or float32 (2–3× faster BLAS; the chip backend's choice, see test_crossbar)
        self.compute_dtype = np.dtype(compute_dtype)
        if self.compute_dtype not in (np.float32, np.float64):
            raise InputError(f"compute_dtype must be float32 or float64, got {self.compute_dtype}")
        cast = lambda a: None if a is None else a.astype(self.compute_dtype)  # noqa: E731
        self._difference, self._g_squared = cast(self.difference), cast(self.g_squared)
        # [G⁺ | G⁻] side by side: the IR-drop sums of both columns of a pair in one BLAS call
        self._g_both = cast(np.concatenate([g_pos, g_neg], axis=1)) if cb.ir_drop else None
        self.col_scale = col_scale
        self.write_stats = write_stats
        self.in_features = g_pos.shape[0]
        self.n_slices = cb.n_slices
        self.out_features = g_pos.shape[1] // self.n_slices
        self.delta_g = nominal_delta_g(mtj_params, cb)
        self.chunks = [
            slice(r, min(r + cb.tile_rows, self.in_features)) for r in range(0, self.in_features, cb.tile_rows)
        ]
        self.adc_range = self._analytic_adc_range()
        self.output_gain = np.ones(self.out_features)  # digital trim per output, see calibrate_output_gain
        self._conductance_per_row = None  # (K,) Σ over columns of G⁺ + G⁻, for `charge`

    # --- geometry ----------------------------------------------------------------------------------
    @property
    def n_columns(self) -> int:
        """Column pairs (N·S)."""
        return self.g_pos.shape[1]

    def tile_groups(self) -> np.ndarray:
        """Tile column group of every column pair (N·S,)."""
        return np.arange(self.n_columns) // self.cb.pairs_per_tile

    @property
    def n_tiles(self) -> int:
        return len(self.chunks) * (int(self.tile_groups()[-1]) + 1)

    def _per_tile(self, per_column: np.ndarray) -> np.ndarray:
        """Max over the columns of each tile, broadcast back to columns; (chunks, C) → (chunks, C)."""
        groups = self.tile_groups()
        out = np.empty_like(per_column)
        for g in np.unique(groups):
            cols = groups == g
            out[:, cols] = per_column[:, cols].max(axis=1, keepdims=True)
        return out

    def _range_floor(self) -> float:
        return self.delta_g * self.cb.read_voltage  # one fully on cell: never a zero range

    def _analytic_adc_range(self) -> np.ndarray:
        rms = np.stack(
            [np.sqrt(self.cb.read_voltage**2 / 3.0 * (self.difference[c] ** 2).sum(axis=0)) for c in self.chunks]
        )
        return np.maximum(self._per_tile(self.cb.adc_range_sigmas * rms), self._range_floor())

    # --- the analog path ---------------------------------------------------------------------------
    def column_currents(self, voltages: np.ndarray, chunk: slice) -> np.ndarray:
        """Deterministic differential column currents (B, C) of one row chunk, IR drop included, A.

        IR drop (F9) per column: I −= c(a)·Σ_j f_j·V_j·G_j with a = n·Σ_j |V_j|·G_j/(V_read·G_wire),
        for the G⁺ and the G⁻ column of every pair; four sums per pair, done as two BLAS calls over
        [G⁺ | G⁻] and combined by the fused kernel `_apply_ir_drop`.
        """
        voltages = voltages.astype(self.compute_dtype, copy=False)
        current = voltages @ self._difference[chunk]
        if self.cb.ir_drop:
            n = self.cb.tile_rows
            g_wire = 1.0 / self.cb.wire_resistance
            factor = ir_drop_position_factor(n, chunk.stop - chunk.start).astype(self.compute_dtype)
            g_both = self._g_both[chunk]
            magnitude_sums = np.abs(voltages) @ g_both
            weighted_sums = (voltages * factor) @ g_both
            _apply_ir_drop(current, magnitude_sums, weighted_sums, n / (self.cb.read_voltage * g_wire))
        return current

    def _read_out(self, current, voltages, chunk_index, states, out, weight) -> None:
        """Read noise, ADC noise and ADC quantisation of one chunk's currents, added to ``out``.

        Read noise (F8): each cell's current carries relative σ = ``read_noise``; summed over the
        column pair it is Gaussian with variance read_noise²·Σ_j V_j²·(G⁺_j² + G⁻_j²), drawn once per
        column — exact in distribution.
        """
        cb = self.cb
        noise_std = None
        if cb.read_noise > 0:
            v = voltages.astype(self.compute_dtype, copy=False)
            noise_std = cb.read_noise * np.sqrt((v**2) @ self._g_squared[self.chunks[chunk_index]])
        read_out_accumulate(
            current, noise_std, self.adc_range[chunk_index], cb.adc_noise, cb.adc_bits, weight, states, out
        )

    def matmul(self, x, rng: np.random.Generator | None = None, ledger=None, phase: str = "inference") -> np.ndarray:
        """y ≈ x @ W for a batch x of shape (B, K); returns (B, N) float64.

        ``rng`` drives the read and ADC noise (required when either is on). Every action is added
        to ``ledger`` (a `device.cost.Ledger`) under ``phase`` when one is given.
        """
        x = _check_matrix("x", x, 2, keep_float32=self.compute_dtype == np.float32)
        if x.shape[1] != self.in_features:
            raise InputError(
                f"x has {x.shape[1]} features but the programmed matrix expects {self.in_features} (shape {x.shape})"
            )
        if rng is None and (self.cb.read_noise > 0 or self.cb.adc_noise > 0):
            raise InputError("this crossbar has read or ADC noise: pass rng=np.random.Generator")
        planes, plane_weights, x_scale = dac_planes(x, self.cb)
        accumulated = np.zeros((x.shape[0], self.n_columns))
        states = new_stream_states(x.shape[0], rng if rng is not None else np.random.default_rng(0))
        for voltages, weight in zip(planes, plane_weights):
            for index, chunk in enumerate(self.chunks):
                v = np.ascontiguousarray(voltages[:, chunk])
                self._read_out(self.column_currents(v, chunk), v, index, states, accumulated, weight)
        slices = accumulated.reshape(x.shape[0], self.out_features, self.n_slices)
        slice_weights = 2.0 ** np.arange(self.n_slices) if self.cb.weight_bits else np.ones(1)
        y = (slices @ slice_weights) / (self.delta_g * self.cb.read_voltage)
        if ledger is not None:
            self._count(ledger, phase, x.shape[0], planes)
        return y * (self.col_scale * self.output_gain) * x_scale.astype(np.float64)

    def calibrate_adc(self, x, percentile: float = 99.99) -> None:
        """Set each tile's ADC full scale to the ``percentile`` of |column current| seen for ``x``."""
        x = _check_matrix("x", x, 2)
        if x.shape[1] != self.in_features:
            raise InputError(
                f"x has {x.shape[1]} features but the programmed matrix expects {self.in_features} (shape {x.shape})"
            )
        if not 50.0 <= percentile <= 100.0:
            raise InputError(f"percentile must lie in [50, 100], got {percentile}")
        planes, _, _ = dac_planes(x, self.cb)
        peaks = np.zeros((len(self.chunks), self.n_columns))
        for voltages in planes:
            for index, chunk in enumerate(self.chunks):
                current = np.abs(self.column_currents(voltages[:, chunk], chunk))
                peaks[index] = np.maximum(peaks[index], np.percentile(current, percentile, axis=0))
        self.adc_range = np.maximum(self._per_tile(peaks), self._range_floor())

    def calibrate_output_gain(self, x, target, rng: np.random.Generator | None = None, limits=(0.5, 2.0)) -> np.ndarray:
        """Set each output's digital gain to argmin_g Σ_b (g·y_b − t_b)² = Σ y·t / Σ y², clipped to ``limits``.

        ``x`` (B, K) example inputs, ``target`` (B, N) their exact products (x @ W, computed once by
        the digital controller, which holds the weights); ``y`` is this matrix's own read-out of
        ``x`` with gain 1 (read and ADC noise drawn from ``rng``). Outputs with no signal keep gain
        1. Returns the gains (N,).
        """
        x = _check_matrix("x", x, 2)
        target = _check_matrix("target", target, 2)
        if target.shape != (x.shape[0], self.out_features):
            raise InputError(f"target must have shape {(x.shape[0], self.out_features)}, got {target.shape}")
        self.output_gain = np.ones(self.out_features)
        y = self.matmul(x, rng if rng is not None else np.random.default_rng(0))
        power = np.sum(y * y, axis=0)
        gain = np.divide(np.sum(y * target, axis=0), power, out=np.ones(self.out_features), where=power > 0)
        self.output_gain = np.clip(gain, *limits)
        return self.output_gain

    # --- accounting --------------------------------------------------------------------------------
    def _count(self, ledger, phase, batch, planes) -> None:
        self.charge(
            ledger, phase, batch, [np.square(v, dtype=self.compute_dtype).sum(axis=0, dtype=np.float64) for v in planes]
        )

    def charge(self, ledger, phase: str, batch: int, plane_square_sums) -> None:
        """Add the actions of one matmul of ``batch`` rows to ``ledger`` under ``phase``.

        ``plane_square_sums``: one (K,) array per DAC read cycle (`dac_planes`), Σ_b V_{b,j}² in V²,
        from which the array read energy is charged (`read_energy`). Every execution engine of this
        matrix (the numpy path here, the torch engines of diffusion/) charges through this method
        or `charge_actions`, so the ledger does not depend on how a read was emulated.
        """
        self.charge_actions(ledger, phase, batch, len(plane_square_sums), self.read_energy(plane_square_sums))

    @property
    def conductance_per_row(self) -> np.ndarray:
        """(K,) Σ over the columns of G⁺ + G⁻ of every row, S."""
        if self._conductance_per_row is None:
            self._conductance_per_row = (self.g_pos + self.g_neg).sum(axis=1)
        return self._conductance_per_row

    def read_energy(self, plane_square_sums) -> float:
        """Array read energy Σ_planes Σ_j Σ_b V_bj²·(Σ_cols G_j)·t_read of one matmul, J (F1)."""
        rows = self.conductance_per_row
        return sum(float(np.asarray(s, dtype=np.float64) @ rows) for s in plane_square_sums) * self.cb.read_time

    def charge_actions(self, ledger, phase: str, batch: int, cycles: int, read_energy_j: float) -> None:
        """Charge a matmul of ``batch`` rows in ``cycles`` DAC read cycles whose read energy is known."""
        cb, tech = self.cb, self.technology
        read_energy = float(read_energy_j)
        conversions = batch * cycles * len(self.chunks) * self.n_columns
        per_mvm = cycles * (cb.read_time + tech.adc_column_sharing / tech.adc_sample_rate)
        ledger.add(
            phase,
            array_read_energy_j=read_energy,
            cell_reads=batch * cycles * 2 * self.g_pos.size,
            adc_conversions=conversions if cb.adc_bits else 0,
            dac_conversions=batch * self.in_features * (cycles if cb.input_mode == "bit_serial" else 1),
            shift_adds=conversions,
            digital_ops=batch * (2 * self.in_features + 3 * self.out_features),  # max-abs, scale in; de-scale out
            macs=batch * self.in_features * self.out_features,
            mvm_latency_s=batch * per_mvm,
        )

    def footprint_counts(self) -> dict:
        """Tiles, cells, ADCs and row drivers this matrix occupies (for the area report)."""
        groups = int(self.tile_groups()[-1]) + 1
        return {
            "n_tiles": self.n_tiles,
            "n_cells": 2 * self.g_pos.size,
            "n_adcs": len(self.chunks)
            * groups
            * math.ceil(self.cb.pairs_per_tile / self.technology.adc_column_sharing),
            "n_row_drivers": self.n_tiles * self.cb.tile_rows,
        }
