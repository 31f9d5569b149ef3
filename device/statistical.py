"""The statistical (reduced-order) model of a programmed crossbar layer, derived from the exact one.

`device.crossbar.ProgrammedMatrix.matmul` emulates every tile: per-cell conductances, IR drop, read
and ADC noise, ADC codes. That costs about 36 float products per weight (6 bit slices × signal, four
IR-drop sums and a read-noise variance). This module derives, once per programmed and calibrated
matrix, a model of the same read-out that costs two products (one GEMM of 2N columns) plus one
noise draw per output:

    y = x_q @ W_eff − (μ_b − 1)·(x_q @ W_ir) + σ(x) ⊙ ξ,   ξ ~ N(0, 1) i.i.d. per output element,
    σ²_bn = Σ_j e_bj·R_jn + s_b²·A_n.

The deterministic part is exact where it can be and fitted where it cannot:

* the weights the cells actually realise — Σ_s 2^s·(G⁺ − G⁻)/ΔG of every cell (all bit slices,
  closed-loop residuals, residual write errors, device-to-device variation), times the column
  scale and the output-gain trim. Exact.
* IR drop (F9: ΔI = −c(a)·Σ_j f_j·V_j·G_j per column, a = n·Σ_j |V_j|·G_j/(V_read·G_wire)): the
  position factor f_j is kept per cell exactly; c(a) depends on the input. Per column pair and
  tile the drop is fitted by least squares over a calibration batch as (c⁺ + β⁺·μ)·P⁺ −
  (c⁻ + β⁻·μ)·P⁻, P^± = Σ_j f_j·V_j·G^±_j, with μ_b = m_b/m̄ the row's L1 norm relative to the
  calibration mean (a ≈ G·Σ|V| follows it). That is linear in the input at fixed μ, so it folds
  into two (K, N) maps: ``W_eff`` (the cells, minus the drop at μ = 1) and ``W_ir`` (its slope in
  μ). Measured on the shipped U-Net (docs/emulation.md): the constant fold alone leaves 7–26 % of
  the exact error's variance unexplained, the first-order term 3–8 %; `ir_residual` reports it.
* DAC quantisation is applied to the input exactly as the chip does (``x_q``), where the caller
  can (`quantise_input`).

The random part is the exact path's, term by term, with the 2^s shift-add weights:

* read noise (F8: every cell's current has relative σ = read_noise, so a column's variance is
  read_noise²·Σ_j V_j²·(G⁺_j² + G⁻_j²)): ``R_jn`` = d_n²·read_noise²·V_read²·Σ_s 4^s·(G⁺² + G⁻²)_{j,ns},
  with d_n = col_scale·gain/(ΔG·V_read) the digital de-scaling, and e_bj = x_q,bj² (amplitude mode;
  bit-serial: s_b²·Σ_k w_k²·bit_k²);
* ADC input noise, σ = adc_noise·full scale, and ADC quantisation — not Widrow's LSB²/12, which
  holds only for signals spanning many LSBs, but the mean square quantisation error measured per
  tile column on the calibration inputs (`adc_errors`, which also reports the clipping rate):
  ``A_n`` = d_n²·Σ_k w_k²·Σ_tiles Σ_s 4^s·(σ_ADC² + E[e²]), per unit of the
  input scale s_b = max_j |x_bj| (the DAC's per-row scale).

`StatisticalModel.matmul` is the plain-numpy application of the model (the reference the torch
engine of diffusion/ is checked against); `derive` builds it from a `ProgrammedMatrix`. The fit's
three measurements (IR coefficients, ADC error, IR residual) all start from the same column sums
of the calibration rows (`ReadSums`: the exact path's GEMMs and F9's drop), so `derive` reads
each DAC plane's sums once — computed here in float64 (`read_sums`) or handed in by a faster
engine (the torch engine's float32 sums, shared with its gain calibration) — and accumulates the
statistics with the fused kernels of `device.statistical_sums`. `fit_ir_coefficients`,
`adc_errors` and `deterministic_readout` are the same steps one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from device.crossbar import ProgrammedMatrix, _check_matrix, dac_planes, ir_drop_coefficient, ir_drop_position_factor
from device.errors import InputError
from device.seed_salts import Salt
from device.statistical_sums import adc_error_sums, ir_moment_sums


@dataclass(frozen=True)
class StatisticalModel:
    """Reduced-order parameters of one programmed layer (see the module docstring). float64.

    Attributes:
        w_eff: (K, N) effective weights, the IR drop at the mean input magnitude folded in.
        w_ir: (K, N) the IR drop's first-order change with the input magnitude μ_b = m_b/m̄.
        mean_magnitude: m̄, the calibration rows' mean `input_magnitude`.
        read_var: (K, N) read-noise variance per unit squared input, R_jn.
        adc_var: (N,) ADC noise + quantisation variance per unit squared input scale, A_n.
        input_bits, input_mode, read_voltage: the DAC, as in `CrossbarParameters`.
        plane_weights: the digital weights of the DAC read cycles (one plane: [1.0]).
        ir_coefficients: (chunks, 4, C) fitted [c⁺, c⁻, β⁺, β⁻] of every column pair per tile.
        clipping_rate: fraction of ADC conversions that clip on the calibration inputs (exact path).
        ir_residual: Var(exact deterministic read-out − the model's mean) / Var(exact IR drop) over
            the calibration inputs, pooled over outputs: the share of the IR drop the model misses.
    """

    w_eff: np.ndarray
    w_ir: np.ndarray
    mean_magnitude: float
    read_var: np.ndarray
    adc_var: np.ndarray
    input_bits: int
    input_mode: str
    read_voltage: float
    plane_weights: tuple
    ir_coefficients: np.ndarray
    clipping_rate: float
    ir_residual: float

    @property
    def in_features(self) -> int:
        return self.w_eff.shape[0]

    @property
    def out_features(self) -> int:
        return self.w_eff.shape[1]

    @property
    def dac_levels(self) -> int:
        """L = 2^(b−1) − 1 magnitude levels of the DAC (0: no quantisation)."""
        return 2 ** (self.input_bits - 1) - 1 if self.input_bits else 0

    def quantise_input(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x_q, s): the DAC-quantised inputs round(x/s·L)/L·s and the row scales s = max|x| (B, 1)."""
        return _quantise(x, self.input_bits), _row_scale(x)

    def square_inputs(self, x_q: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """e_bj: the squared input the read noise sees, x_q² (amplitude) or s²·Σ_k w_k²·bit_k² (bit-serial)."""
        if self.input_mode != "bit_serial":
            return x_q * x_q
        magnitude = np.rint(np.abs(x_q) / scale * self.dac_levels).astype(np.int64)
        bits = sum((w * w) * ((magnitude >> k) & 1) for k, w in enumerate(self.plane_weights))
        return bits * scale * scale

    def variance(self, x_q: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """σ²_bn of the output noise (B, N)."""
        return self.square_inputs(x_q, scale) @ self.read_var + (scale * scale) * self.adc_var

    def mean(self, x: np.ndarray) -> np.ndarray:
        """The deterministic part x_q @ W_eff − (μ_b − 1)·(x_q @ W_ir) (B, N)."""
        x_q, scale = self.quantise_input(x)
        mu = input_magnitude(x_q, scale) / self.mean_magnitude
        return x_q @ self.w_eff - (mu - 1.0)[:, None] * (x_q @ self.w_ir)

    def matmul(self, x, rng: np.random.Generator) -> np.ndarray:
        """The model's y for inputs x (B, K): the mean plus σ ⊙ ξ (float64, the plain reference)."""
        x = _check_matrix("x", x, 2)
        if x.shape[1] != self.in_features:
            raise InputError(f"x has {x.shape[1]} features but the model expects {self.in_features} (shape {x.shape})")
        x_q, scale = self.quantise_input(x)
        y = self.mean(x)
        return y + np.sqrt(self.variance(x_q, scale)) * rng.standard_normal(y.shape)


#: Fewest calibration rows for the first-order IR fit (4 coefficients per column pair and tile, so at
#: least twice that); with fewer the drop is folded at constant coefficients.
FIRST_ORDER_MIN_ROWS = 8

#: Calibration rows the IR-residual diagnostic of `derive` is measured on.
RESIDUAL_ROWS = 1024


def _row_scale(x: np.ndarray) -> np.ndarray:
    scale = np.max(np.abs(x), axis=1, keepdims=True)
    return np.where(scale > 0, scale, 1.0)


def _quantise(x: np.ndarray, input_bits: int) -> np.ndarray:
    """x as the DAC delivers it: round(x/s·L)/L·s with s = max_j |x_j| per row, L = 2^(b−1) − 1."""
    if not input_bits:
        return x
    levels = 2 ** (input_bits - 1) - 1
    scale = _row_scale(x)
    return np.rint(x / scale * levels) / levels * scale


def slice_weights(matrix: ProgrammedMatrix) -> np.ndarray:
    """2^s of every bit slice (S,); one slice of weight 1 for the analog cell."""
    return 2.0 ** np.arange(matrix.n_slices) if matrix.cb.weight_bits else np.ones(1)


def descale(matrix: ProgrammedMatrix) -> np.ndarray:
    """d_n = col_scale·output_gain/(ΔG·V_read), the digital factor from column current to output (N,)."""
    return matrix.col_scale * matrix.output_gain / (matrix.delta_g * matrix.cb.read_voltage)


def _fold_slices(per_column: np.ndarray, matrix: ProgrammedMatrix, power: int) -> np.ndarray:
    """Σ_s (2^s)^power·A[..., n·S + s]: per-column-pair values → per output (…, N)."""
    shape = per_column.shape[:-1] + (matrix.out_features, matrix.n_slices)
    return per_column.reshape(shape) @ (slice_weights(matrix) ** power)


def effective_weights(matrix: ProgrammedMatrix) -> np.ndarray:
    """W_eff (K, N) without IR drop: what x @ W the programmed cells and the digital trims realise."""
    return _fold_slices(matrix.difference, matrix, 1) * (descale(matrix) * matrix.cb.read_voltage)


def _chunk_of_rows(matrix: ProgrammedMatrix) -> np.ndarray:
    return np.arange(matrix.in_features) // matrix.cb.tile_rows


class ReadSums(NamedTuple):
    """One DAC plane's deterministic column sums over a batch, per row chunk: every field (chunks, B, C).

    The GEMM results the exact read path is made of (`ProgrammedMatrix.column_currents`, F8, F9)
    and F9's drop: the current with IR drop is ``linear − drop``, and the IR fit's regressors and
    target, the ADC error's currents and noise all follow elementwise. `read_sums` computes them in
    float64; a faster engine may supply its own (float32: diffusion/chip/crossbar_torch.py
    `CalibrationReads.sums`, with the exact engine's own float32 drop), whose DAC may round an
    input level the other way in a rare tie.

    Attributes:
        linear: Σ_j V_j·(G⁺_j − G⁻_j), the differential current without IR drop, A.
        p_pos, p_neg: Σ_j f_j·V_j·G^±_j, the position-weighted currents F9 scales, A (None without
            IR drop).
        drop: c(a⁺)·P⁺ − c(a⁻)·P⁻ with a^± = n·Σ_j |V_j|·G^±_j/(V_read·G_wire), A (None without
            IR drop).
        read_variance: read_noise²·Σ_j V_j²·(G⁺_j² + G⁻_j²), the read noise's variance, A² (None
            when read_noise = 0).
    """

    linear: np.ndarray
    p_pos: np.ndarray | None
    p_neg: np.ndarray | None
    drop: np.ndarray | None
    read_variance: np.ndarray | None

    def in_float64(self) -> ReadSums:
        """The same sums as float64 arrays (no copy where they already are)."""
        return ReadSums(*(None if field is None else np.asarray(field, dtype=np.float64) for field in self))

    def current(self) -> np.ndarray:
        """The exact path's deterministic current with IR drop, linear − drop (chunks, B, C), A."""
        return self.linear if self.drop is None else self.linear - self.drop


def read_sums(matrix: ProgrammedMatrix, voltages: np.ndarray) -> ReadSums:
    """The `ReadSums` of one DAC plane's read voltages (B, K), in float64 (the plain reference)."""
    cb = matrix.cb
    v = np.asarray(voltages, dtype=np.float64)
    fields = {name: [] for name in ReadSums._fields}
    scale = cb.tile_rows * cb.wire_resistance / cb.read_voltage
    for chunk in matrix.chunks:
        vc = v[:, chunk]
        fields["linear"].append(vc @ matrix.difference[chunk])
        if cb.ir_drop:
            magnitude = np.abs(vc)
            weighted = vc * ir_drop_position_factor(cb.tile_rows, chunk.stop - chunk.start)
            p_pos, p_neg = weighted @ matrix.g_pos[chunk], weighted @ matrix.g_neg[chunk]
            a_pos, a_neg = scale * (magnitude @ matrix.g_pos[chunk]), scale * (magnitude @ matrix.g_neg[chunk])
            fields["p_pos"].append(p_pos)
            fields["p_neg"].append(p_neg)
            fields["drop"].append(ir_drop_coefficient(a_pos) * p_pos - ir_drop_coefficient(a_neg) * p_neg)
        if cb.read_noise > 0:
            fields["read_variance"].append(cb.read_noise**2 * ((vc * vc) @ matrix.g_squared[chunk]))
    return ReadSums(**{name: np.stack(values) if values else None for name, values in fields.items()})


def _plane_sums(matrix: ProgrammedMatrix, x: np.ndarray, sums):
    """(planes, plane weights, x_scale, read) for x: ``read(k)`` gives DAC plane k's `ReadSums` (``sums`` or `read_sums`)."""
    planes, plane_weights, x_scale = dac_planes(x, matrix.cb)
    if sums is None:
        return planes, plane_weights, x_scale, lambda k: read_sums(matrix, planes[k])
    return planes, plane_weights, x_scale, sums


def input_magnitude(x_q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """m_b = Σ_j |x_q,bj|/s_b (B,): the row's L1 norm in units of its largest input, the driver of F9's a."""
    return np.abs(x_q).sum(axis=1) / scale[:, 0]


def _solve_columns(gram: np.ndarray, moments: np.ndarray) -> np.ndarray:
    """Per column c: solve gram[c] θ = moments[c] (R × R), columns without signal get θ = 0."""
    theta = np.zeros_like(moments)
    trace = np.trace(gram, axis1=1, axis2=2)
    ok = trace > 0
    if np.any(ok):
        scaled = gram[ok] / trace[ok, None, None]
        ridge = 1e-10 * np.eye(gram.shape[1])
        theta[ok] = np.linalg.solve(scaled + ridge, (moments[ok] / trace[ok, None])[..., None])[..., 0]
    return theta


def fit_ir_coefficients(
    matrix: ProgrammedMatrix, x: np.ndarray, mean_magnitude: float, first_order: bool, sums=None
) -> np.ndarray:
    """F9's drop of every column pair, fitted as (c⁺ + β⁺·μ)·P⁺ − (c⁻ + β⁻·μ)·P⁻ over x: (chunks, 4, C).

    ΔI = c(a⁺)·P⁺ − c(a⁻)·P⁻ exactly, P^± = Σ_j f_j·V_j·G^±_j. The two sides are fitted jointly
    (their difference is what the ADC sees, and P⁺, P⁻ share the large G_off background), by least
    squares over the calibration rows (and DAC planes, weighted w_k²), with the regressors P⁺, −P⁻
    and, when ``first_order``, μ_b·P⁺, −μ_b·P⁻ where μ_b = m_b/m̄ (`input_magnitude`): c(a) grows
    with a ∝ Σ_j |V_j|·G_j, which follows the row's L1 norm. Rows: [c⁺, c⁻, β⁺, β⁻].
    ``sums(k)``: DAC plane k's `ReadSums` of x from a faster engine (None: `read_sums`).
    """
    if not matrix.cb.ir_drop:
        return np.zeros((len(matrix.chunks), 4, matrix.n_columns))
    planes, plane_weights, x_scale, read = _plane_sums(matrix, x, sums)
    mu = input_magnitude(_quantise(x, matrix.cb.input_bits), x_scale) / mean_magnitude
    gram, moments = _ir_normal_equations(matrix, first_order)
    for k, weight in enumerate(plane_weights):
        _add_ir_plane(gram, moments, read(k), mu, weight * weight, first_order)
    return _solve_ir(gram, moments)


def _ir_normal_equations(matrix: ProgrammedMatrix, first_order: bool) -> tuple[np.ndarray, np.ndarray]:
    """Zeroed least-squares sums of the IR fit: gram (chunks, C, R, R), moments (chunks, C, R); R = 4 or 2."""
    n_regressors = 4 if first_order else 2
    shape = (len(matrix.chunks), matrix.n_columns)
    return np.zeros(shape + (n_regressors, n_regressors)), np.zeros(shape + (n_regressors,))


def _add_ir_plane(
    gram: np.ndarray, moments: np.ndarray, sums: ReadSums, mu: np.ndarray, w2: float, first_order: bool
) -> None:
    """Add one DAC plane (``sums``, weight² ``w2``) to the IR fit's upper-triangular gram and moments, in place.

    Regressors r = [P⁺, −P⁻, μ·P⁺, −μ·P⁻] and target d = c(a⁺)·P⁺ − c(a⁻)·P⁻ per row, chunk and
    column: every entry Σ_b r_r·r_q (or Σ_b r_r·d) is Σ_b μ_b^p·(one of P⁺², P⁺P⁻, P⁻², P⁺d, P⁻d)
    with p ∈ {0, 1, 2}: thirteen sums of five products, one fused pass per chunk
    (`device.statistical_sums.ir_moment_sums`) instead of R(R+1)/2 + R column sums of products.
    """
    powers = np.stack([np.ones_like(mu), mu, mu * mu]) if first_order else np.ones((1, mu.shape[0]))
    for index in range(gram.shape[0]):
        pp, pn, nn, pd, nd = np.moveaxis(
            w2 * ir_moment_sums(sums.p_pos[index], sums.p_neg[index], sums.drop[index], powers), 1, 0
        )
        g, m = gram[index], moments[index]  # pp … nd: each (powers, C)
        g[:, 0, 0] += pp[0]
        g[:, 0, 1] -= pn[0]
        g[:, 1, 1] += nn[0]
        m[:, 0] += pd[0]
        m[:, 1] -= nd[0]
        if first_order:
            g[:, 0, 2] += pp[1]
            g[:, 0, 3] -= pn[1]
            g[:, 1, 2] -= pn[1]
            g[:, 1, 3] += nn[1]
            g[:, 2, 2] += pp[2]
            g[:, 2, 3] -= pn[2]
            g[:, 3, 3] += nn[2]
            m[:, 2] += pd[1]
            m[:, 3] -= nd[1]


def _solve_ir(gram: np.ndarray, moments: np.ndarray) -> np.ndarray:
    """Coefficients (chunks, 4, C) from the accumulated upper-triangular normal equations (zeros past R)."""
    n_chunks, n_cols, n_regressors = moments.shape
    coefficients = np.zeros((n_chunks, 4, n_cols))
    for index in range(n_chunks):
        full = np.triu(gram[index]) + np.transpose(np.triu(gram[index], 1), (0, 2, 1))
        coefficients[index, :n_regressors] = _solve_columns(full, moments[index]).T
    return coefficients


def folded_ir_weights(matrix: ProgrammedMatrix, c_pos: np.ndarray, c_neg: np.ndarray) -> np.ndarray:
    """A drop c⁺·P⁺ − c⁻·P⁻ (coefficients (chunks, C)) as a linear map (K, N): V_read·d_n·Σ_s 2^s·f_j·(c⁺G⁺ − c⁻G⁻)."""
    rows = _chunk_of_rows(matrix)
    position = np.concatenate([ir_drop_position_factor(matrix.cb.tile_rows, c.stop - c.start) for c in matrix.chunks])
    drop = position[:, None] * (c_pos[rows] * matrix.g_pos - c_neg[rows] * matrix.g_neg)
    return _fold_slices(drop, matrix, 1) * (descale(matrix) * matrix.cb.read_voltage)


def read_noise_coefficients(matrix: ProgrammedMatrix) -> np.ndarray:
    """R_jn (K, N): output read-noise variance per unit x_q,j², d_n²·rn²·V_read²·Σ_s 4^s·(G⁺² + G⁻²)."""
    cb = matrix.cb
    if cb.read_noise == 0:
        return np.zeros((matrix.in_features, matrix.out_features))
    squares = matrix.g_pos**2 + matrix.g_neg**2
    return _fold_slices(squares, matrix, 2) * (descale(matrix) * cb.read_noise * cb.read_voltage) ** 2


def adc_errors(
    matrix: ProgrammedMatrix, x: np.ndarray, rng: np.random.Generator, sums=None
) -> tuple[np.ndarray, float]:
    """Measured ADC quantisation error of the exact path on inputs x: (Σ_k w_k²·E_b[e²] per tile and column, clipping rate).

    e = ADC(I + n) − (I + n) for the deterministic currents I of every tile and the exact path's
    read and ADC input noise n (drawn from ``rng``, one (B, C) array per DAC plane and chunk in
    that order). Widrow's LSB²/12 holds only when the signal spans many LSBs; low-order slices of
    a tile whose range is set by its largest column see currents of a few LSBs or less, where the
    error is smaller and signal-dependent, so the model uses the measured mean square per column
    instead. Also returns the fraction of conversions whose code clipped. Shape (chunks, C).
    ``sums(k)``: DAC plane k's `ReadSums` of x from a faster engine (None: `read_sums`).
    """
    errors = np.zeros((len(matrix.chunks), matrix.n_columns))
    if not matrix.cb.adc_bits:
        return errors, 0.0
    _, plane_weights, _, read = _plane_sums(matrix, x, sums)
    clipped = total = 0
    for k, weight in enumerate(plane_weights):
        plane_clipped, plane_total = _add_adc_plane(errors, matrix, read(k), weight * weight, rng)
        clipped, total = clipped + plane_clipped, total + plane_total
    return errors, clipped / total


def _add_adc_plane(
    errors: np.ndarray, matrix: ProgrammedMatrix, sums: ReadSums, w2: float, rng: np.random.Generator
) -> tuple[int, int]:
    """Add one DAC plane's w²·E_b[e²] to ``errors`` (chunks, C) in place; returns (clipped, total) conversions.

    Per chunk, in order, one (B, C) array of N(0, 1) deviates from ``rng``; the rest is
    `device.statistical_sums.adc_error_sums`: I = linear − drop, v = I + σ·z with σ² = (adc_noise·
    FS)² + read_variance, e = ADC(v) − v.
    """
    cb = matrix.cb
    clipped = total = 0
    for index in range(len(matrix.chunks)):
        linear = sums.linear[index]
        z = rng.standard_normal(linear.shape)
        drop = None if sums.drop is None else sums.drop[index]
        variance = None if sums.read_variance is None else sums.read_variance[index]
        squares, chunk_clipped = adc_error_sums(
            linear, drop, variance, z, matrix.adc_range[index], cb.adc_noise, cb.adc_bits
        )
        errors[index] += w2 * (squares / linear.shape[0])
        clipped += chunk_clipped
        total += linear.size
    return clipped, total


def adc_variance(matrix: ProgrammedMatrix, plane_weights, quantisation_errors: np.ndarray) -> np.ndarray:
    """A_n (N,): ADC input noise Σ_k w_k²·(adc_noise·FS)² + measured quantisation error, folded over slices and tiles."""
    cycles = float(np.sum(np.square(plane_weights)))
    per_column = cycles * (matrix.cb.adc_noise * matrix.adc_range) ** 2 + quantisation_errors
    return _fold_slices(per_column.sum(axis=0), matrix, 2) * descale(matrix) ** 2


def deterministic_readout(matrix: ProgrammedMatrix, x: np.ndarray, ir_drop: bool = True, sums=None) -> np.ndarray:
    """The exact path without read noise, ADC noise and ADC quantisation: its deterministic y (B, N).

    ``sums(k)``: DAC plane k's `ReadSums` of x from a faster engine (None: `read_sums`).
    """
    _, plane_weights, x_scale, read = _plane_sums(matrix, x, sums)
    total = np.zeros((x.shape[0], matrix.n_columns))
    for k, weight in enumerate(plane_weights):
        plane = read(k).in_float64()
        total += weight * (plane.current() if ir_drop else plane.linear).sum(axis=0)
    return _fold_slices(total, matrix, 1) * descale(matrix) * x_scale


def derive(matrix: ProgrammedMatrix, x_calibration, seed: int = 0, sums=None) -> StatisticalModel:
    """The statistical model of ``matrix`` as programmed and calibrated, fitted on ``x_calibration`` (B, K).

    The calibration inputs set the IR-drop coefficients, m̄ and the measured ADC quantisation error
    (its noise drawn with ``seed``); everything else comes from the cells and trims alone. The
    first-order IR term needs one DAC plane (amplitude mode) and `FIRST_ORDER_MIN_ROWS` rows; otherwise
    the drop is folded at its fitted constant coefficients.

    One pass over the DAC planes feeds the IR fit (`fit_ir_coefficients`), the ADC error
    measurement (`adc_errors`) and the IR-residual diagnostic (`deterministic_readout` of the
    first `RESIDUAL_ROWS` rows) from the same column sums: ``sums(k)`` gives DAC plane k's
    `ReadSums` of ``x_calibration`` — e.g. from the torch engine, float32 — and None computes
    them here (`read_sums`, float64). Either way the arithmetic is that of the three functions.
    """
    x = _check_matrix("x_calibration", x_calibration, 2)
    if x.shape[1] != matrix.in_features:
        raise InputError(f"x_calibration has {x.shape[1]} features but the matrix expects {matrix.in_features}")
    if x.shape[0] == 0:
        raise InputError("x_calibration needs at least one row")
    cb = matrix.cb
    _, plane_weights, x_scale, read = _plane_sums(matrix, x, sums)
    x_q = _quantise(x, cb.input_bits)
    mean_magnitude = float(np.mean(input_magnitude(x_q, x_scale)))
    first_order = cb.ir_drop and cb.input_mode == "amplitude" and x.shape[0] >= FIRST_ORDER_MIN_ROWS
    mu = input_magnitude(x_q, x_scale) / mean_magnitude
    gram, moments = _ir_normal_equations(matrix, first_order)
    quantisation = np.zeros((len(matrix.chunks), matrix.n_columns))
    rng = np.random.default_rng([seed, Salt.IR_RESIDUAL_ROWS])
    clipped = conversions = 0
    n_residual = min(RESIDUAL_ROWS, x.shape[0])  # a diagnostic: a subset suffices
    exact_total = np.zeros((n_residual, matrix.n_columns))
    linear_total = np.zeros((n_residual, matrix.n_columns))
    for k, weight in enumerate(plane_weights):
        plane = read(k)
        if cb.ir_drop:
            _add_ir_plane(gram, moments, plane, mu, weight * weight, first_order)
            linear = plane.linear[:, :n_residual].sum(axis=0, dtype=np.float64)  # Σ over chunks
            exact_total += weight * (linear - plane.drop[:, :n_residual].sum(axis=0, dtype=np.float64))
            linear_total += weight * linear
        if cb.adc_bits:
            plane_clipped, plane_total = _add_adc_plane(quantisation, matrix, plane, weight * weight, rng)
            clipped, conversions = clipped + plane_clipped, conversions + plane_total
    coefficients = _solve_ir(gram, moments) if cb.ir_drop else np.zeros((len(matrix.chunks), 4, matrix.n_columns))
    constant = folded_ir_weights(matrix, coefficients[:, 0], coefficients[:, 1])
    w_ir = folded_ir_weights(matrix, coefficients[:, 2], coefficients[:, 3])
    model = StatisticalModel(
        w_eff=effective_weights(matrix) - constant - w_ir,
        w_ir=w_ir,
        mean_magnitude=mean_magnitude,
        read_var=read_noise_coefficients(matrix),
        adc_var=np.zeros(matrix.out_features),
        input_bits=cb.input_bits,
        input_mode=cb.input_mode,
        read_voltage=cb.read_voltage,
        plane_weights=tuple(float(w) for w in plane_weights),
        ir_coefficients=coefficients,
        clipping_rate=0.0,
        ir_residual=0.0,
    )
    residual = 0.0
    if cb.ir_drop:
        to_output = descale(matrix) * x_scale[:n_residual]
        exact = _fold_slices(exact_total, matrix, 1) * to_output
        drop = _fold_slices(linear_total, matrix, 1) * to_output - exact
        residual = float(np.var(exact - model.mean(x[:n_residual])) / max(float(np.var(drop)), 1e-300))
    clipping_rate = clipped / conversions if conversions else 0.0
    return replace(
        model,
        adc_var=adc_variance(matrix, plane_weights, quantisation),
        clipping_rate=clipping_rate,
        ir_residual=residual,
    )
