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

import numba
import numpy as np
import pytest

from device import crossbar as X
from device import crossbar_programming as XP
from device.errors import InputError, ParameterError
from tests.device import naive_crossbar as naive
from tests.device.crossbar_cases import (
    DETERMINISTIC,
    TECH,
    VAR,
    P,
    RecordingLedger,
    _gross_current,
    _ideal,
    _inputs,
    _program,
    _weights,
)

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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0), (4, 6), (7, 8)])
def test_all_finite_agrees_with_isfinite_all(dtype, bad, where):
    x = (np.random.default_rng(3).standard_normal((8, 9)) * 1e30).astype(dtype)
    if bad is not None:
        x[where] = bad
    assert X.all_finite(x) == bool(np.isfinite(x).all())


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
        twin.write_pulses,
        twin.verify_reads,
        twin.residual_errors,
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


# --- quantisation ------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 5, 8])
def test_quantise_weights_levels_and_half_lsb(bits):
    w = _weights(30, 6, seed=bits)
    w[:, 3] = 0.0
    levels, scale = XP.quantise_weights(w, bits)
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
    levels, scale = XP.quantise_weights(w, 0)
    assert np.abs(levels).max(axis=0).tolist() == [1.0] * 4
    np.testing.assert_allclose(levels * scale, w, rtol=1e-15)


@pytest.mark.parametrize("bits", [1, 3, 8])
def test_slice_bits_recombine_with_signs(bits):
    levels, _ = XP.quantise_weights(_weights(12, 5, seed=bits), bits)
    pos, neg = XP.slice_bits(levels, bits)
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
    [
        ("amplitude", 0),
        ("amplitude", 2),
        ("amplitude", 6),
        ("amplitude", 12),
        ("bit_serial", 2),
        ("bit_serial", 6),
        ("bit_serial", 12),
    ],
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
    assert programming.calls == [
        ("programming", {"write_pulses": twin.write_pulses, "write_verify_reads": twin.verify_reads})
    ]
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


@pytest.mark.parametrize(
    "changes, reads",
    [
        ({"write_model": "ideal", "weight_mapping": "sign_magnitude"}, 0),
        ({"write_model": "ideal"}, 2 * 10 * 2 * 6),  # closed loop still reads every cell once to measure it
        ({"weight_bits": 0}, 0),
    ],
)
def test_ideal_writes_and_analog_cells_count_no_pulses(changes, reads):
    ledger = RecordingLedger()
    pm = _program(
        _weights(10, 2), X.CrossbarParameters(**{**DETERMINISTIC, "weight_bits": 6, **changes}), ledger=ledger
    )
    assert ledger.calls == [("programming", {"write_pulses": 0, "write_verify_reads": reads})]
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

FLOAT_FIELDS = [f.name for f in dataclasses.fields(X.CrossbarParameters) if f.type in ("float", "float | None")]
NON_NEGATIVE = {"read_noise", "adc_noise", "write_field"}


def test_float_field_list_is_complete():
    assert set(FLOAT_FIELDS) == {
        "adc_range_sigmas",
        "read_voltage",
        "read_time",
        "read_noise",
        "read_noise_factor",
        "adc_noise",
        "wire_resistance",
        "write_pulse_voltage",
        "write_pulse_width",
        "write_field",
    }


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -1e-3, "0.1", True, None])
def test_float_fields_reject_bad_values_naming_the_field(name, value):
    if name == "read_noise" and value is None:  # None: derived from the read (device.read_noise)
        assert X.CrossbarParameters(read_noise=None).read_noise is None
        return
    with pytest.raises(ParameterError, match=f"CrossbarParameters.{name} must"):
        X.CrossbarParameters(**{name: value})


@pytest.mark.parametrize("name", FLOAT_FIELDS)
def test_zero_allowed_only_for_noise_and_write_field(name):
    if name == "read_noise_factor":  # F ≥ 1: no read path is quieter than the cell itself
        with pytest.raises(ParameterError, match="read_noise_factor must be >= 1"):
            X.CrossbarParameters(read_noise_factor=0.0)
        return
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
    cb = X.CrossbarParameters(
        tile_rows=8, tile_cols=4096, weight_bits=0, input_bits=12, adc_bits=14, write_verify_attempts=64
    )
    assert cb.pairs_per_tile == 2048 and cb.n_slices == 1 and cb.input_cycles == 1
    assert X.CrossbarParameters(input_mode="bit_serial", input_bits=2).input_cycles == 1
    assert X.CrossbarParameters(input_mode="bit_serial").input_cycles == 7


def test_float32_compute_path_agrees_with_float64():
    # the chip backend runs the analog path in float32; outputs stay within a few ADC LSBs of float64
    cb = X.CrossbarParameters(tile_rows=32, tile_cols=32)
    w, x = _weights(70, 20), _inputs(16, 70)
    pm64 = XP.program(w, P, VAR, cb, TECH, seed=4)
    pm32 = XP.program(w, P, VAR, cb, TECH, seed=4, compute_dtype=np.float32)
    np.testing.assert_array_equal(pm64.g_pos, pm32.g_pos)  # same chip, only the arithmetic differs
    y64 = pm64.matmul(x, np.random.default_rng(3))
    y32 = pm32.matmul(x, np.random.default_rng(3))
    assert y32.dtype == np.float64
    assert np.linalg.norm(y32 - y64) / np.linalg.norm(y64) < 1e-3
    with pytest.raises(InputError, match="compute_dtype"):
        XP.program(w, P, VAR, cb, TECH, seed=4, compute_dtype=np.int32)
