"""Tests for device/crossbar.py against the per-cell twin in tests/device/naive_crossbar.py.

Tolerances and why:
- Ideal profile: |y − x@W| ≤ 1e-12·(|x|@|W|) element-wise (the scale of the rounding error of a sum).
- Deterministic twin agreement: pre-ADC pair currents to 1e-12 of the gross column current
  Σ_j |V_j|·(G⁺ + G⁻) (the scale of a sum's rounding error; the net pair current can cancel), and
  outputs to 1e-12 of max|y|, which is < 1e-6 of the smallest output step one ADC code makes, so
  every ADC code is identical.
- Statistics (fixed seeds, 4 standard errors): the mean of n noisy outputs is within 4σ/√n of the
  noise-free output; the sample variance s² of n Gaussian outputs has standard error σ²·√(2/(n−1)).
  Residual write errors are a sum of independent Bernoullis (Poisson-binomial): mean Σ q, σ² = Σ q(1−q).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types

import numba
import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from device import crossbar as X
from device import mtj
from device.errors import InputError, ParameterError
from tests.device import naive_crossbar as naive

TECH = types.SimpleNamespace(adc_column_sharing=8, adc_sample_rate=1e9)
P = mtj.MTJParameters()
VAR = mtj.VariationParameters()
IDEAL = dict(
    weight_bits=0, input_bits=0, adc_bits=0, read_noise=0.0, adc_noise=0.0,
    ir_drop=False, cell_variation=False, write_model="ideal",
)
# everything non-ideal except the noise: the deterministic comparison profile
DETERMINISTIC = dict(tile_rows=16, tile_cols=16, weight_bits=3, input_bits=6, adc_bits=6, read_noise=0.0, adc_noise=0.0)


class RecordingLedger:
    """A fake `device.cost.Ledger`: records every ``add(phase, **counts)`` call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def add(self, phase, **counts) -> None:
        self.calls.append((phase, counts))


def _ideal(**changes) -> X.CrossbarParameters:
    return X.CrossbarParameters(**{**IDEAL, **changes})


def _weights(k, n, seed=0):
    return np.random.default_rng(seed).standard_normal((k, n))


def _inputs(b, k, seed=1):
    return np.random.default_rng(seed).standard_normal((b, k))


def _program(w, cb, seed=0, variation=VAR, ledger=None):
    return X.program(w, P, variation, cb, TECH, seed, ledger=ledger)


def _gross_current(pm, voltages, chunk) -> np.ndarray:
    """Σ_j |V_j|·(G⁺_jc + G⁻_jc), (B, C): the scale of the rounding error of a column sum."""
    return np.abs(voltages[:, chunk]) @ (pm.g_pos[chunk] + pm.g_neg[chunk])


# --- ideal profile ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "batch, k, n, tile",
    [
        (1, 5, 1, 128),  # K < tile_rows, N = 1, batch 1
        (3, 128, 7, 128),  # exactly one tile of rows
        (4, 200, 3, 128),  # K not a multiple of tile_rows
        (2, 300, 70, 128),  # N·S = 70 > 64 pairs: two tile column groups, three row chunks
        (5, 37, 19, 16),  # small tiles: 3 row chunks × 3 column groups, neither a multiple
        (1, 1, 1, 8),
    ],
)
def test_ideal_profile_reproduces_x_at_w(batch, k, n, tile):
    w, x = _weights(k, n, seed=k), _inputs(batch, k, seed=n)
    pm = _program(w, _ideal(tile_rows=tile, tile_cols=tile))
    y = pm.matmul(x)
    assert y.shape == (batch, n) and y.dtype == np.float64
    scale = np.abs(x) @ np.abs(w)
    assert np.all(np.abs(y - x @ w) <= 1e-12 * scale)


def test_ideal_profile_zero_rows_and_zero_columns_give_zero():
    w = _weights(20, 4)
    w[:, 2] = 0.0
    x = _inputs(3, 20)
    x[1] = 0.0
    y = _program(w, _ideal(tile_rows=8, tile_cols=8)).matmul(x)
    assert np.all(y[1] == 0.0) and np.all(y[:, 2] == 0.0)
    np.testing.assert_allclose(y, x @ w, rtol=0, atol=1e-12 * np.abs(x @ w).max())


def test_empty_batch_returns_empty_output():
    pm = _program(_weights(20, 4), _ideal())
    assert pm.matmul(np.zeros((0, 20))).shape == (0, 4)


# --- deterministic agreement with the twin -------------------------------------------------------

DET_CASES = [  # batch, K, N, extra parameters
    (3, 40, 7, {}),  # 16×16 tiles: 3 row chunks (16, 16, 8) × 3 column groups of the 21 pairs
    (2, 33, 5, {"weight_bits": 4, "adc_bits": 5}),  # 3 chunks (16, 16, 1) × 3 groups (8, 8, 4)
    (4, 10, 1, {"weight_bits": 2, "tile_rows": 8, "tile_cols": 8}),  # 2 chunks, one partial group
]


@pytest.mark.parametrize("calibrated", [False, True], ids=["analytic_range", "calibrated_p90"])
@pytest.mark.parametrize("input_mode", ["amplitude", "bit_serial"])
@pytest.mark.parametrize("batch, k, n, extra", DET_CASES)
def test_currents_and_outputs_equal_twin(batch, k, n, extra, input_mode, calibrated):
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "input_mode": input_mode, **extra})
    assert cb.ir_drop and cb.cell_variation and cb.write_model == "physics"
    w, x = _weights(k, n, seed=k), _inputs(batch, k, seed=k + 1)
    pm = _program(w, cb, seed=k)
    if calibrated:  # a 90th-percentile range: the larger currents clip
        pm.calibrate_adc(x, percentile=90.0)
    want = naive.matmul(pm, x)
    planes, plane_weights, x_scale = X.dac_planes(x, cb)
    assert len(planes) == len(want.currents) == cb.input_cycles
    for plane, want_chunks in zip(planes, want.currents):
        for chunk, want_current in zip(pm.chunks, want_chunks):
            got = pm.column_currents(np.ascontiguousarray(plane[:, chunk]), chunk)
            assert np.all(np.abs(got - want_current) <= 1e-12 * _gross_current(pm, plane, chunk))
    y = pm.matmul(x)
    # smallest output change one ADC code can make
    slices = 2.0 ** np.arange(cb.n_slices)
    lsb = pm.adc_range / 2.0 ** (cb.adc_bits - 1)  # (chunks, N·S)
    step = (lsb.reshape(len(pm.chunks), n, cb.n_slices) * slices).min() * min(plane_weights)
    step *= pm.col_scale.min() * x_scale.min() / (pm.delta_g * cb.read_voltage)
    tolerance = 1e-12 * np.abs(want.y).max()
    assert tolerance < 1e-6 * step
    assert np.abs(y - want.y).max() <= tolerance
    codes = np.concatenate([np.stack(c) for c in want.codes])
    half = 2 ** (cb.adc_bits - 1)
    clipped = np.sum((codes == -half) | (codes == half - 1))
    assert (clipped > 0) == calibrated  # the analytic 4σ range never clips these inputs


def test_default_tiles_equal_twin():
    cb = X.CrossbarParameters(weight_bits=6, read_noise=0.0, adc_noise=0.0)  # 128 × 128 tiles
    w, x = _weights(150, 20, seed=3), _inputs(2, 150, seed=4)  # 2 chunks × 2 column groups
    pm = _program(w, cb, seed=5)
    want = naive.matmul(pm, x)
    np.testing.assert_allclose(pm.matmul(x), want.y, rtol=0, atol=1e-12 * np.abs(want.y).max())


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"write_model": "ideal"},
        {"write_field": 3e3, "write_verify_attempts": 1},
        {"cell_variation": False},
        {"weight_bits": 0},
        {"weight_bits": 8, "tile_rows": 8, "tile_cols": 8},
    ],
)
def test_programming_equals_twin(changes):
    cb = X.CrossbarParameters(**{**DETERMINISTIC, **changes})
    w = _weights(23, 6, seed=9)
    pm = _program(w, cb, seed=17)
    twin = naive.program(w, P, VAR, cb, 17)
    np.testing.assert_allclose(pm.g_pos, twin.g_pos, rtol=1e-12, atol=0)
    np.testing.assert_allclose(pm.g_neg, twin.g_neg, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(pm.col_scale, twin.col_scale)
    written = pm.write_stats
    assert written.cells == 2 * twin.g_pos.size
    assert (written.write_pulses, written.verify_reads, written.residual_errors) == (
        twin.write_pulses, twin.verify_reads, twin.residual_errors,
    )


def test_analytic_adc_range_equals_twin():
    pm = _program(_weights(40, 7), X.CrossbarParameters(**DETERMINISTIC))
    np.testing.assert_allclose(pm.adc_range, naive.analytic_adc_range(pm), rtol=1e-12, atol=0)
    # one full scale per tile: constant over the pairs of a tile column group
    groups = np.arange(pm.n_columns) // pm.cb.pairs_per_tile
    for g in np.unique(groups):
        assert np.ptp(pm.adc_range[:, groups == g], axis=1).max() == 0.0


@pytest.mark.parametrize("input_mode", ["amplitude", "bit_serial"])
@pytest.mark.parametrize("percentile", [50.0, 99.0, 100.0])
def test_calibrate_adc_equals_twin(input_mode, percentile):
    pm = _program(_weights(40, 7), X.CrossbarParameters(**{**DETERMINISTIC, "input_mode": input_mode}))
    x = _inputs(30, 40, seed=8)
    pm.calibrate_adc(x, percentile=percentile)
    np.testing.assert_allclose(pm.adc_range, naive.calibrated_adc_range(pm, x, percentile), rtol=1e-12, atol=0)


def test_calibrate_adc_floor_is_one_on_cell():
    pm = _program(_weights(20, 3), X.CrossbarParameters(**DETERMINISTIC))
    pm.calibrate_adc(np.zeros((4, 20)))
    np.testing.assert_array_equal(pm.adc_range, np.full(pm.adc_range.shape, pm.delta_g * pm.cb.read_voltage))


# --- noise: agreement in distribution ---------------------------------------------------------------


def _analytic_noise_variance(pm, x0, use_difference=False) -> np.ndarray:
    """Var of each output (N,) for a single input row x0 from read and ADC noise.

    Read noise per pair: read_noise²·Σ_j V_j²·(G⁺_j² + G⁻_j²); ADC noise: (adc_noise·full scale)²;
    summed over planes (× w_k²), chunks and slices (× 4^s); de-scaled by
    (col_scale·x_scale/(ΔG·V_read))². ``use_difference`` swaps in the wrong Σ V²(G⁺ − G⁻)².
    """
    cb = pm.cb
    planes, weights, x_scale = naive.dac(x0[None, :], cb)
    s = cb.n_slices
    per_pair = np.zeros(pm.n_columns)
    g2 = (pm.g_pos - pm.g_neg) ** 2 if use_difference else pm.g_pos**2 + pm.g_neg**2
    for v, w in zip(planes, weights):
        for index, chunk in enumerate(pm.chunks):
            read = cb.read_noise**2 * (v[0, chunk] ** 2 @ g2[chunk])
            adc = (cb.adc_noise * pm.adc_range[index]) ** 2
            per_pair += w**2 * (read + adc)
    per_output = (per_pair.reshape(-1, s) * 4.0 ** np.arange(s)).sum(axis=1)
    factor = pm.col_scale * x_scale[0] / (pm.delta_g * cb.read_voltage)
    return factor**2 * per_output


@pytest.mark.parametrize("input_mode", ["amplitude", "bit_serial"])
@pytest.mark.parametrize("noise", [{"read_noise": 0.05}, {"adc_noise": 0.01}], ids=["read_noise", "adc_noise"])
def test_noise_mean_and_variance_match_twin_and_analytic(noise, input_mode):
    cb = X.CrossbarParameters(
        tile_rows=16, tile_cols=8, weight_bits=3, input_bits=5, adc_bits=0, input_mode=input_mode,
        **{"read_noise": 0.0, "adc_noise": 0.0, **noise},
    )
    k, n, n_rep = 24, 3, 16000  # 2 row chunks × 3 column groups
    pm = _program(_weights(k, n, seed=30), cb, seed=31)
    x0 = _inputs(1, k, seed=32)[0]
    xs = np.tile(x0, (n_rep, 1))  # n_rep identical rows: independent noise per row
    clean = naive.matmul(pm, x0[None, :]).y[0]  # no rng: noise-free
    fast = pm.matmul(xs, np.random.default_rng(33))
    twin = naive.matmul(pm, xs, rng=np.random.default_rng(34)).y
    var = _analytic_noise_variance(pm, x0)
    se_mean = np.sqrt(var / n_rep)
    se_var = var * math.sqrt(2.0 / (n_rep - 1))
    for sample in (fast, twin):
        assert np.all(np.abs(sample.mean(axis=0) - clean) <= 4 * se_mean)
        assert np.all(np.abs(sample.var(axis=0, ddof=1) - var) <= 4 * se_var)
    assert np.all(np.abs(fast.var(axis=0, ddof=1) - twin.var(axis=0, ddof=1)) <= 4 * math.sqrt(2) * se_var)
    if "read_noise" in noise:  # the test has power: the difference-only variance is far off
        wrong = _analytic_noise_variance(pm, x0, use_difference=True)
        assert np.all(np.abs(fast.var(axis=0, ddof=1) - wrong) > 20 * se_var)


def test_noise_off_needs_no_rng_and_is_deterministic():
    cb = X.CrossbarParameters(**DETERMINISTIC)
    pm = _program(_weights(20, 3), cb)
    x = _inputs(2, 20)
    np.testing.assert_array_equal(pm.matmul(x), pm.matmul(x, np.random.default_rng(1)))


# --- quantisation ------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 5, 8])
def test_quantise_weights_levels_and_half_lsb(bits):
    w = _weights(30, 6, seed=bits)
    w[:, 3] = 0.0
    levels, scale = X.quantise_weights(w, bits)
    top = 2**bits - 1
    assert np.all(levels == np.rint(levels)) and np.abs(levels).max() <= top
    assert np.all(np.abs(levels[:, [0, 1, 2, 4, 5]]).max(axis=0) == top)  # the largest |w| hits the top level
    assert np.all(np.abs(w - levels * scale) <= scale / 2 * (1 + 1e-12))
    assert np.all(levels[:, 3] == 0)
    want_levels, want_scale = naive.quantise_weights(w, bits)
    np.testing.assert_array_equal(levels, want_levels)
    np.testing.assert_array_equal(scale, want_scale)


def test_quantise_weights_analog():
    w = _weights(10, 4)
    levels, scale = X.quantise_weights(w, 0)
    assert np.abs(levels).max(axis=0).tolist() == [1.0] * 4
    np.testing.assert_allclose(levels * scale, w, rtol=1e-15)


@pytest.mark.parametrize("bits", [1, 3, 8])
def test_slice_bits_recombine_with_signs(bits):
    levels, _ = X.quantise_weights(_weights(12, 5, seed=bits), bits)
    pos, neg = X.slice_bits(levels, bits)
    assert pos.shape == neg.shape == (12, 5 * bits) and pos.dtype == bool
    assert not np.any(pos & neg)
    weights = 2 ** np.arange(bits)
    recombined = ((pos.astype(int) - neg.astype(int)).reshape(12, 5, bits) * weights).sum(axis=2)
    np.testing.assert_array_equal(recombined, levels)
    assert not np.any(pos.reshape(12, 5, bits)[levels <= 0]) and not np.any(neg.reshape(12, 5, bits)[levels >= 0])
    want_pos, want_neg = naive.slice_bits(levels, bits)
    np.testing.assert_array_equal(pos, want_pos)
    np.testing.assert_array_equal(neg, want_neg)


@pytest.mark.parametrize(
    "input_mode, input_bits",
    [("amplitude", 0), ("amplitude", 2), ("amplitude", 6), ("amplitude", 12), ("bit_serial", 2), ("bit_serial", 6), ("bit_serial", 12)],
)
def test_dac_planes_recombine_to_quantised_input(input_mode, input_bits):
    cb = _ideal(input_bits=input_bits, input_mode=input_mode)
    x = _inputs(4, 9)
    x[2] = 0.0
    planes, weights, x_scale = X.dac_planes(x, cb)
    assert len(planes) == cb.input_cycles and x_scale.shape == (4, 1)
    recon = sum(w * p for w, p in zip(weights, planes)) / cb.read_voltage * x_scale
    if input_bits == 0:
        np.testing.assert_allclose(recon, x, rtol=1e-15)
    else:
        top = 2 ** (input_bits - 1) - 1
        quantised = np.rint(x / x_scale * top) / top * x_scale
        np.testing.assert_allclose(recon, quantised, rtol=1e-14, atol=0)
        assert np.all(np.abs(recon - x) <= x_scale / (2 * top) * (1 + 1e-12))
    if input_mode == "bit_serial":
        for p in planes:  # ternary voltages
            assert set(np.unique(p)) <= {-cb.read_voltage, 0.0, cb.read_voltage}
    want_planes, want_weights, want_scale = naive.dac(x, cb)
    np.testing.assert_array_equal(np.stack(planes), np.stack(want_planes))
    assert weights == want_weights
    np.testing.assert_array_equal(x_scale[:, 0], want_scale)


@pytest.mark.parametrize("variation", [False, True])
def test_bit_serial_equals_amplitude_when_linear(variation):
    changes = dict(tile_rows=16, tile_cols=16, weight_bits=4, input_bits=7, cell_variation=variation)
    w, x = _weights(40, 6), _inputs(3, 40)
    amplitude = _program(w, _ideal(**changes), seed=2).matmul(x)
    serial = _program(w, _ideal(**changes, input_mode="bit_serial"), seed=2).matmul(x)
    np.testing.assert_allclose(serial, amplitude, rtol=0, atol=1e-12 * np.abs(amplitude).max())


def test_ir_drop_breaks_bit_serial_equivalence():
    # the check above has power: a non-linearity (IR drop) makes the two modes differ
    changes = dict(tile_rows=16, tile_cols=16, weight_bits=4, input_bits=7, ir_drop=True)
    w, x = _weights(40, 6), _inputs(3, 40)
    amplitude = _program(w, _ideal(**changes)).matmul(x)
    serial = _program(w, _ideal(**changes, input_mode="bit_serial")).matmul(x)
    assert np.abs(serial - amplitude).max() > 1e-5 * np.abs(amplitude).max()  # 1e7 × the tolerance above


# --- physics --------------------------------------------------------------------------------------


@pytest.mark.parametrize("read_voltage", [0.1, 0.25])
def test_nominal_conductances_follow_f16(read_voltage):
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "cell_variation": False, "write_model": "ideal", "read_voltage": read_voltage})
    w = _weights(20, 4)
    pm = _program(w, cb)
    bias = (read_voltage / P.tmr_half_voltage) ** 2
    g_on = 1.0 / P.resistance_parallel
    g_off = 1.0 / (P.resistance_parallel * (1.0 + bias + P.tmr) / (1.0 + bias))
    levels, _ = X.quantise_weights(w, cb.weight_bits)
    pos, neg = naive.slice_bits(levels, cb.weight_bits)
    np.testing.assert_allclose(pm.g_pos, np.where(pos, g_on, g_off), rtol=1e-14)
    np.testing.assert_allclose(pm.g_neg, np.where(neg, g_on, g_off), rtol=1e-14)
    assert pm.delta_g == pytest.approx(g_on - g_off, rel=1e-14)
    assert X.cell_conductances(P, cb, P.resistance_parallel, P.tmr) == pytest.approx((g_on, g_off), rel=1e-14)


def test_cell_variation_spreads_conductances_by_about_r_p_sigma():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "write_model": "ideal"})
    w = np.ones((64, 16))  # level 7 everywhere: every positive cell on, every negative cell off
    pm = _program(w, cb)
    ratio = pm.g_pos * P.resistance_parallel  # R_P,nominal/R_P,cell = 1/(1 + σz), z clipped at ±4
    sigma = VAR.resistance_parallel_rel
    # exact moments of 1/(1 + σz) over the clipped normal (quadrature), and the sample sd's se
    f = lambda z: 1.0 / (1.0 + sigma * z)  # noqa: E731
    tail = norm.sf(4.0)
    m1 = integrate.quad(lambda z: f(z) * norm.pdf(z), -4, 4)[0] + tail * (f(4.0) + f(-4.0))
    m2 = integrate.quad(lambda z: f(z) ** 2 * norm.pdf(z), -4, 4)[0] + tail * (f(4.0) ** 2 + f(-4.0) ** 2)
    sd = math.sqrt(m2 - m1 * m1)
    n = ratio.size
    assert abs(ratio.mean() - m1) < 4 * sd / math.sqrt(n)
    assert abs(ratio.std() - sd) < 4 * sd / math.sqrt(2 * n)


def _closed_form_ir_factor_sum(rows: int, n: int) -> float:
    """Σ_{j=0}^{rows−1} (1 − (1 − j/n)²) = Σ (2j/n − j²/n²)."""
    return rows * (rows - 1) / n - (rows - 1) * rows * (2 * rows - 1) / (6 * n * n)


@pytest.mark.parametrize("k", [64, 40, 104])
def test_ir_drop_reduces_output_by_closed_form(k):
    n = 64
    cb = _ideal(tile_rows=n, tile_cols=8, ir_drop=True)
    w, x = np.ones((k, 1)), np.ones((1, k))  # every positive cell at G_on, negative at G_off, V = V_read
    pm = _program(w, cb)
    ideal = _program(w, _ideal(tile_rows=n, tile_cols=8)).matmul(x)[0, 0]
    assert ideal == pytest.approx(k, rel=1e-12)
    g_on, g_off = X.cell_conductances(P, cb, P.resistance_parallel, P.tmr)
    v, r_wire = cb.read_voltage, cb.wire_resistance
    lost = 0.0  # I⁺ − I⁻ lost per chunk: c(a⁺)·G_on·V·F − c(a⁻)·G_off·V·F
    for start in range(0, k, n):
        rows = min(n, k - start)
        f = _closed_form_ir_factor_sum(rows, n)
        c_on = naive.ir_drop_coefficient(n * rows * g_on * r_wire)
        c_off = naive.ir_drop_coefficient(n * rows * g_off * r_wire)
        lost += (c_on * g_on - c_off * g_off) * v * f
    expected = k * (1.0 - lost / (k * (g_on - g_off) * v))
    got = pm.matmul(x)[0, 0]
    assert got < ideal
    assert got == pytest.approx(expected, rel=1e-12)


def test_ir_drop_helpers():
    np.testing.assert_allclose(X.ir_drop_position_factor(10, 4), [1 - (1 - j / 10) ** 2 for j in range(4)], rtol=1e-15)
    a = np.array([0.0, 0.3, 1.0, 2.5])
    np.testing.assert_allclose(X.ir_drop_coefficient(a), 0.05 * a**3 - 0.2 * a**2 + 0.5 * a, rtol=1e-14)


def test_ir_drop_never_reverses_a_column_current_at_128_rows():
    # all-on column of a full default-size tile: a ≈ 1.15, c ≈ 0.39; the output stays positive
    cb = _ideal(ir_drop=True)
    y = _program(np.ones((128, 1)), cb).matmul(np.ones((1, 128)))[0, 0]
    assert 0 < y < 128


def test_ir_drop_outside_the_closed_forms_range_is_refused_at_256_rows():
    # a = 256·ΣG/G_wire ≈ 4.6 > 2: the cubic would reverse the current, so program() refuses
    cb = _ideal(ir_drop=True, tile_rows=256)
    with pytest.raises(ParameterError, match="tile_rows=256"):
        _program(np.ones((256, 1)), cb)


def test_adc_clipping_caps_outputs_at_both_ends():
    cb = _ideal(tile_rows=16, tile_cols=16, weight_bits=1, adc_bits=4)
    w = np.stack([np.ones(16), -np.ones(16)], axis=1)  # a +1 column and a −1 column
    pm = _program(w, cb)
    two_hot = np.eye(16) + np.roll(np.eye(16), 1, axis=1)
    pm.calibrate_adc(two_hot, percentile=100.0)  # two rows on: full scale = 2·ΔG·V_read
    np.testing.assert_allclose(pm.adc_range, 2 * pm.delta_g * cb.read_voltage, rtol=1e-12)
    # LSB = FS/8 = 1/4 of one row's current. One row on: code ±4 → exactly ±1 (in range).
    np.testing.assert_allclose(pm.matmul(np.eye(16)[:3]), [[1.0, -1.0]] * 3, rtol=1e-12)
    # 16 rows on (8× the range): top code 2^(b−1) − 1 = 7 → 7/4; bottom code −8 → −2
    np.testing.assert_allclose(pm.matmul(np.ones((1, 16))), [[7 / 4, -2.0]], rtol=1e-12)
    # the calibration peak itself maps to code +8, one above the top code: +7/4, while −8 fits
    np.testing.assert_allclose(pm.matmul(two_hot[:1]), [[7 / 4, -2.0]], rtol=1e-12)


def test_calibrate_adc_lowers_error_for_small_inputs():
    cb = _ideal(weight_bits=6, input_bits=8, adc_bits=6)
    w = _weights(128, 8)
    rng = np.random.default_rng(40)

    def heavy_tailed(b):  # most inputs small next to each row's max: small column currents
        return rng.standard_normal((b, 128)) * np.exp(1.5 * rng.standard_normal((b, 128)))

    x_cal, x_test = heavy_tailed(500), heavy_tailed(200)
    ref = x_test @ w
    pm = _program(w, cb)
    error_analytic = np.linalg.norm(pm.matmul(x_test) - ref) / np.linalg.norm(ref)
    pm.calibrate_adc(x_cal)
    error_calibrated = np.linalg.norm(pm.matmul(x_test) - ref) / np.linalg.norm(ref)
    # measured: 0.195 → 0.077
    assert error_calibrated < 0.5 * error_analytic


def _write_check_matrix():
    return _weights(64, 16, seed=50)  # 4-bit slices: 64 × 64 pairs, 8192 cells


def test_write_errors_with_one_weak_pulse_match_analytic_rate():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "weight_bits": 4, "write_field": 3e3, "write_verify_attempts": 1})
    w = _write_check_matrix()
    pm = _program(w, cb, seed=51)
    twin = naive.program(w, P, VAR, cb, 51)  # knows which cells started wrong and their P_success
    p = twin.p_success[twin.needed_write]
    expected = float(np.sum(1.0 - p))
    sigma = math.sqrt(float(np.sum(p * (1.0 - p))))
    written = pm.write_stats
    assert 0.2 < p.mean() < 0.8  # a weak write: many failures
    assert abs(written.residual_errors - expected) <= 4 * sigma
    assert written.write_pulses == twin.needed_write.sum()  # one pulse per cell that needed a write
    assert written.verify_reads == written.cells + written.write_pulses
    # the residual errors are in the conductances: G_on ≥ 1.67e-4 S > 1.5e-4 S > G_off (±4σ clip)
    on = np.stack([pm.g_pos, pm.g_neg]) > 1.5e-4
    target = np.stack([twin.target_pos, twin.target_neg])
    assert np.sum(on != target) == written.residual_errors


def test_write_errors_without_variation_match_binomial_over_initial_states():
    # no replay of the draws: with identical cells P_success depends on the target only, and each
    # cell is wrong after programming with probability ½·(1 − P_success(target))
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "weight_bits": 4, "write_field": 3e3, "write_verify_attempts": 1, "cell_variation": False})
    w = _write_check_matrix()
    pm = _program(w, cb, seed=52)
    levels, _ = X.quantise_weights(w, 4)
    target = np.concatenate([a.ravel() for a in X.slice_bits(levels, 4)])
    p = X.write_success_probability(P, cb, P.interfacial_anisotropy, P.stray_field, target)
    q = 0.5 * (1.0 - p)
    assert abs(pm.write_stats.residual_errors - q.sum()) <= 4 * math.sqrt(float(np.sum(q * (1 - q))))
    g_on = 1.0 / P.resistance_parallel
    on = np.concatenate([pm.g_pos.ravel(), pm.g_neg.ravel()]) == g_on
    assert np.sum(on != target) == pm.write_stats.residual_errors


def test_write_verify_with_default_field_leaves_no_errors():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "weight_bits": 4})
    assert cb.write_verify_attempts == 4 and cb.write_field == 15e3
    w = _write_check_matrix()
    pm = _program(w, cb, seed=53)
    twin = naive.program(w, P, VAR, cb, 53)
    p = twin.p_success[twin.needed_write]
    assert np.sum((1.0 - p) ** 4) < 0.01  # expected residual errors
    written = pm.write_stats
    assert written.residual_errors == 0
    needed = int(twin.needed_write.sum())
    assert abs(needed - written.cells / 2) <= 4 * math.sqrt(written.cells / 4)  # ½ start wrong
    assert written.write_pulses >= needed
    # pulses per written cell T = min(Geometric(p), 4): P(T = t) = p(1−p)^(t−1) for t < 4, (1−p)³ at 4
    t = np.arange(1, 5)[:, None]
    probs = np.where(t < 4, p * (1 - p) ** (t - 1), (1 - p) ** 3)
    assert np.allclose(probs.sum(axis=0), 1.0)
    mean_t = (probs * t).sum(axis=0)
    mean = float(mean_t.sum())
    var = float(((probs * t**2).sum(axis=0) - mean_t**2).sum())
    assert abs(written.write_pulses - mean) <= 4 * math.sqrt(var)


def test_write_success_probability_directions():
    cb = X.CrossbarParameters()
    p_on = X.write_success_probability(P, cb, P.interfacial_anisotropy, P.stray_field, True)
    p_off = X.write_success_probability(P, cb, P.interfacial_anisotropy, P.stray_field, False)
    assert 0.97 < p_off < p_on < 1.0  # ≈ 0.99 per pulse; the +z stray field helps writing "1"
    zero_field = dataclasses.replace(cb, write_field=0.0)
    p0 = X.write_success_probability(P, zero_field, P.interfacial_anisotropy, P.stray_field, np.array([True, False]))
    assert p0[0] + p0[1] == pytest.approx(1.0, abs=1e-12)  # no write field: one outcome or the other


# --- reproducibility ---------------------------------------------------------------------------


def test_same_seed_same_programming_different_seed_differs():
    cb = X.CrossbarParameters(**DETERMINISTIC)
    w = _weights(30, 5)
    a, b, c = _program(w, cb, seed=7), _program(w, cb, seed=7), _program(w, cb, seed=8)
    np.testing.assert_array_equal(a.g_pos, b.g_pos)
    np.testing.assert_array_equal(a.g_neg, b.g_neg)
    assert a.write_stats == b.write_stats
    assert np.mean(a.g_pos != c.g_pos) > 0.9  # every cell draws its own R_P and TMR


def test_same_rng_same_noisy_output_different_rng_differs():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "read_noise": 0.01, "adc_noise": 0.002})
    pm = _program(_weights(30, 5), cb)
    x = _inputs(6, 30)
    y1 = pm.matmul(x, np.random.default_rng(5))
    y2 = pm.matmul(x, np.random.default_rng(5))
    y3 = pm.matmul(x, np.random.default_rng(6))
    np.testing.assert_array_equal(y1, y2)
    assert np.mean(y1 != y3) > 0.25  # 6-bit ADC: some codes stay put under small noise
    unquantised = _program(_weights(30, 5), dataclasses.replace(cb, adc_bits=0))
    assert np.all(unquantised.matmul(x, np.random.default_rng(5)) != unquantised.matmul(x, np.random.default_rng(6)))


def test_thread_count_does_not_change_results():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "read_noise": 0.05, "adc_noise": 0.01, "input_mode": "bit_serial"})
    pm = _program(_weights(40, 7), cb)
    x = _inputs(64, 40)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = pm.matmul(x, np.random.default_rng(9))
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        parallel = pm.matmul(x, np.random.default_rng(9))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(serial, parallel)


def test_inputs_are_not_mutated():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "read_noise": 0.01})
    w, x = _weights(20, 3), _inputs(4, 20)
    w0, x0 = w.copy(), x.copy()
    pm = _program(w, cb)
    pm.matmul(x, np.random.default_rng(0))
    pm.calibrate_adc(x)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(x, x0)


# --- accounting --------------------------------------------------------------------------------


@pytest.mark.parametrize("adc_bits", [0, 6])
@pytest.mark.parametrize("input_mode", ["amplitude", "bit_serial"])
def test_ledger_counts(input_mode, adc_bits):
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "input_mode": input_mode, "adc_bits": adc_bits})
    batch, k, n = 3, 40, 7
    programming = RecordingLedger()
    pm = _program(_weights(k, n), cb, ledger=programming)
    twin = naive.program(_weights(k, n), P, VAR, cb, 0)
    assert programming.calls == [("programming", {"write_pulses": twin.write_pulses, "write_verify_reads": twin.verify_reads})]
    x = _inputs(batch, k)
    x[1, :5] = 0.0  # zero inputs draw no read energy
    ledger = RecordingLedger()
    pm.matmul(x, ledger=ledger, phase="sampling")
    [(phase, counts)] = ledger.calls
    assert phase == "sampling"
    cycles = cb.input_bits - 1 if input_mode == "bit_serial" else 1
    chunks, pairs = math.ceil(k / cb.tile_rows), n * cb.weight_bits
    conversions = batch * cycles * chunks * pairs
    assert counts["adc_conversions"] == (conversions if adc_bits else 0)
    assert counts["shift_adds"] == conversions
    assert counts["dac_conversions"] == batch * k * cycles
    assert counts["macs"] == batch * k * n
    assert counts["cell_reads"] == batch * cycles * 2 * k * pairs
    assert counts["digital_ops"] == batch * (2 * k + 3 * n)
    assert counts["mvm_latency_s"] == pytest.approx(batch * cycles * (cb.read_time + 8 / 1e9), rel=1e-12)
    assert counts["array_read_energy_j"] == pytest.approx(naive.read_energy(pm, x), rel=1e-12)
    assert counts["array_read_energy_j"] > 0


def test_fake_technology_matches_the_real_defaults():
    # the SimpleNamespace stands in for device.cost.TechnologyParameters: keep the numbers in step
    from device.cost import TechnologyParameters

    real = TechnologyParameters()
    assert (real.adc_column_sharing, real.adc_sample_rate) == (TECH.adc_column_sharing, TECH.adc_sample_rate)


def test_ideal_writes_and_analog_cells_count_no_pulses():
    for changes in ({"write_model": "ideal"}, {"weight_bits": 0}):
        ledger = RecordingLedger()
        pm = _program(_weights(10, 2), X.CrossbarParameters(**{**DETERMINISTIC, **changes}), ledger=ledger)
        assert ledger.calls == [("programming", {"write_pulses": 0, "write_verify_reads": 0})]
        assert pm.write_stats.residual_errors == 0


@pytest.mark.parametrize("k, n, bits, tile", [(40, 7, 3, 16), (300, 70, 1, 128), (5, 1, 6, 8)])
def test_footprint_counts(k, n, bits, tile):
    cb = _ideal(weight_bits=bits, tile_rows=tile, tile_cols=tile)
    pm = _program(_weights(k, n), cb)
    chunks, groups = math.ceil(k / tile), math.ceil(n * bits / (tile // 2))
    assert pm.n_tiles == chunks * groups
    assert pm.footprint_counts() == {
        "n_tiles": chunks * groups,
        "n_cells": 2 * k * n * bits,
        "n_adcs": chunks * groups * math.ceil(tile // 2 / TECH.adc_column_sharing),
        "n_row_drivers": chunks * groups * tile,
    }


# --- input validation ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy_pm():
    return _program(_weights(6, 2), X.CrossbarParameters(**{**DETERMINISTIC, "read_noise": 0.01}))


@pytest.mark.parametrize(
    "x, match",
    [
        (np.ones((2, 5)), "x has 5 features but the programmed matrix expects 6"),
        (np.ones(6), re.escape("x must be 2-D, got shape (6,)")),
        (np.ones((1, 2, 6)), "x must be 2-D"),
        (np.array([[0, 1, 2, 3, 4, np.nan], [0.0] * 6]), r"x has a non-finite value .*nan.* at index \(0, 5\)"),
        (np.array([[0.0] * 6, [1, 1, np.inf, 1, 1, 1]]), r"x has a non-finite value .*inf.* at index \(1, 2\)"),
        (np.ones((2, 6), dtype=complex), "x must be real numbers, got dtype complex128"),
        (np.array([["a"] * 6]), "x must be real numbers"),
        (np.ones((2, 6), dtype=bool), "x must be real numbers, got dtype bool"),
    ],
)
def test_matmul_bad_input_raises(noisy_pm, x, match):
    with pytest.raises(InputError, match=match):
        noisy_pm.matmul(x, np.random.default_rng(0))


def test_matmul_noise_without_rng_raises(noisy_pm):
    with pytest.raises(InputError, match="pass rng"):
        noisy_pm.matmul(np.ones((1, 6)))
    adc_only = _program(_weights(6, 2), X.CrossbarParameters(**{**DETERMINISTIC, "adc_noise": 0.01}))
    with pytest.raises(InputError, match="read or ADC noise"):
        adc_only.matmul(np.ones((1, 6)))


@pytest.mark.parametrize(
    "w, match",
    [
        (np.zeros((0, 3)), re.escape("weights must have at least one row and one column, got shape (0, 3)")),
        (np.zeros((3, 0)), "at least one row and one column"),
        (np.ones(4), "weights must be 2-D"),
        (np.array([[1.0, -np.inf], [0.0, 0.0]]), r"weights has a non-finite value .*-inf.* at index \(0, 1\)"),
        (np.array([[1.0, 2.0], [np.nan, 0.0]]), r"weights has a non-finite value .*nan.* at index \(1, 0\)"),
        (np.ones((2, 2), dtype=np.complex64), "weights must be real numbers, got dtype complex64"),
        (np.array([[None, 1.0]]), "weights must be real numbers, got dtype object"),
    ],
)
def test_program_bad_weights_raise(w, match):
    with pytest.raises(InputError, match=match):
        _program(w, X.CrossbarParameters())


@pytest.mark.parametrize("percentile", [49.9, 100.5, -1.0, math.nan])
def test_calibrate_adc_bad_percentile_raises(noisy_pm, percentile):
    with pytest.raises(InputError, match="percentile must lie in"):
        noisy_pm.calibrate_adc(np.ones((2, 6)), percentile=percentile)


@pytest.mark.parametrize("x, match", [(np.ones(6), "x must be 2-D"), (np.full((1, 6), np.nan), "non-finite")])
def test_calibrate_adc_bad_x_raises(noisy_pm, x, match):
    with pytest.raises(InputError, match=match):
        noisy_pm.calibrate_adc(x)


@pytest.mark.parametrize("features", [5, 9])
def test_calibrate_adc_wrong_feature_count_raises(noisy_pm, features):
    try:
        noisy_pm.calibrate_adc(np.ones((2, features)))
    except InputError as error:
        assert "features" in str(error)
        return
    except ValueError:  # numpy's shape error, not the module's InputError
        pass
    raise AssertionError(f"calibrate_adc accepted or mishandled x with {features} features (expects 6)")


# --- CrossbarParameters validation ---------------------------------------------------------------

FLOAT_FIELDS = [f.name for f in dataclasses.fields(X.CrossbarParameters) if f.type == "float"]
NON_NEGATIVE = {"read_noise", "adc_noise", "write_field"}


def test_float_field_list_is_complete():
    assert set(FLOAT_FIELDS) == {
        "adc_range_sigmas", "read_voltage", "read_time", "read_noise", "adc_noise", "wire_resistance",
        "write_pulse_voltage", "write_pulse_width", "write_field",
    }


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -1e-3, "0.1", True, None])
def test_float_fields_reject_bad_values_naming_the_field(name, value):
    with pytest.raises(ParameterError, match=f"CrossbarParameters.{name} must"):
        X.CrossbarParameters(**{name: value})


@pytest.mark.parametrize("name", FLOAT_FIELDS)
def test_zero_allowed_only_for_noise_and_write_field(name):
    if name in NON_NEGATIVE:
        assert getattr(X.CrossbarParameters(**{name: 0.0}), name) == 0.0
    else:
        with pytest.raises(ParameterError, match=f"{name} must be > 0"):
            X.CrossbarParameters(**{name: 0.0})


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"tile_rows": 4}, r"tile_rows must lie in \[8, 4096\]"),
        ({"tile_rows": 5000}, "tile_rows must lie in"),
        ({"tile_rows": 128.0}, "tile_rows must be an integer"),
        ({"tile_rows": True}, "tile_rows must be an integer"),
        ({"tile_cols": 17}, "tile_cols must be even"),
        ({"tile_cols": 6}, "tile_cols must lie in"),
        ({"weight_bits": 9}, r"weight_bits must lie in \[1, 8\] \(or 0 for ideal\)"),
        ({"weight_bits": -1}, "weight_bits must lie in"),
        ({"input_bits": 1}, "input_bits must lie in"),
        ({"input_bits": 13}, "input_bits must lie in"),
        ({"adc_bits": 1}, "adc_bits must lie in"),
        ({"adc_bits": 15}, "adc_bits must lie in"),
        ({"adc_bits": "8"}, "adc_bits must be an integer"),
        ({"write_verify_attempts": 0}, "write_verify_attempts must lie in"),
        ({"write_verify_attempts": 65}, "write_verify_attempts must lie in"),
        ({"input_mode": "serial"}, "input_mode must be one of"),
        ({"input_mode": "bit_serial", "input_bits": 0}, "'bit_serial' needs input_bits > 0"),
        ({"write_model": "magic"}, "write_model must be one of"),
        ({"ir_drop": 1}, "ir_drop must be true or false"),
        ({"ir_drop": None}, "ir_drop must be true or false"),
        ({"cell_variation": "yes"}, "cell_variation must be true or false"),
    ],
)
def test_parameter_validation_raises_naming_the_field(changes, match):
    with pytest.raises(ParameterError, match=match):
        X.CrossbarParameters(**changes)


def test_valid_edges_accepted():
    cb = X.CrossbarParameters(tile_rows=8, tile_cols=4096, weight_bits=0, input_bits=12, adc_bits=14, write_verify_attempts=64)
    assert cb.pairs_per_tile == 2048 and cb.n_slices == 1 and cb.input_cycles == 1
    assert X.CrossbarParameters(input_mode="bit_serial", input_bits=2).input_cycles == 1
    assert X.CrossbarParameters(input_mode="bit_serial").input_cycles == 7
