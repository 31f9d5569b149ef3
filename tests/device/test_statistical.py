"""Tests of device/statistical.py: the reduced-order model of a programmed layer against the exact path.

The reference is `ProgrammedMatrix.matmul` (itself held to the per-cell twin in tests/device/
naive_crossbar.py), in float64. Each non-ideality is switched on alone, so a claim is tested where it
must hold exactly, and the statistical claims are tested against measured moments of the exact path
with stated tolerances:

- everything ideal: W_eff = W to 1e-12, no IR map, no noise;
- noise, ADC and IR drop off (cells, variation, DAC and output trims on): the model's mean equals the
  exact read-out to 1e-10 of max |y| — the effective weights are exact, in amplitude and bit-serial
  DAC modes, closed-loop and sign-magnitude mappings;
- IR drop alone: the first-order fit leaves < 10 % of the drop's variance (`ir_residual`, recomputed
  here) and less than half of what a constant fold (refitted without the μ term) leaves, on inputs
  whose L1 norm varies row to row (0.03 against 0.11 when written);
- read noise, ADC input noise (each alone): the model's variance against the sample variance of 400
  exact draws of 4 fixed rows, averaged over the 64 outputs, within 4 standard errors (SE of a
  Gaussian sample variance: σ²·√(2/(n − 1)), averaged over independent outputs: /√64);
- ADC quantisation alone (noise off, so the error is deterministic per input): the mean square error
  pooled over outputs within 10 % on the calibration inputs it was measured on (per output 20 %) and
  15 % on held-out inputs (the low-order slices' error is signal-dependent: 1.08 at 8 bits when
  written);
- everything on (vcma-default, vcma-lowbit, calibrated ADC ranges and gains): the error y − x @ W of
  the model has the exact error's variance within 10 % and its mean within 0.1 σ, pooled and per
  output (0.15 σ), on held-out SiLU activations.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from device import profiles
from device import statistical as S
from device.crossbar import dac_planes
from device.crossbar_programming import program
from device.errors import InputError
from device.readout import adc_quantise

K, N = 288, 16  # three row chunks of 128 (the last one partial), two tile column groups at 6 bits


def _silu(z):
    return z / (1.0 + np.exp(-z))


RNG = np.random.default_rng(20240)
WEIGHTS = RNG.standard_normal((K, N)) / np.sqrt(K)
X_CAL = _silu(RNG.standard_normal((512, K)))
X_TEST = _silu(RNG.standard_normal((512, K)))
# rows of varying density: the L1 norm m_b/s_b (the IR drop's driver) changes row to row
_DENSITY = RNG.uniform(0.1, 1.0, size=(512, 1))
X_SPARSE = _silu(RNG.standard_normal((512, K)) + 0.5) * (RNG.uniform(size=(512, K)) < _DENSITY)

QUIET = dict(read_noise=0.0, adc_noise=0.0, adc_bits=0, ir_drop=False)


def _matrix(name="vcma-default", seed=1, **changes):
    profile = profiles.get_profile(name)
    cb = dataclasses.replace(profile.crossbar, **changes)
    return program(WEIGHTS, profile.mtj, profile.variation, cb, profile.technology, seed)


def _calibrated(x=X_CAL, **kwargs):
    matrix = _matrix(**kwargs)
    matrix.calibrate_adc(x)
    return matrix


# --- exact where it must be -------------------------------------------------------------------------


def test_ideal_profile_model_is_the_weights():
    matrix = _matrix("ideal")
    model = S.derive(matrix, X_CAL)
    np.testing.assert_allclose(model.w_eff, WEIGHTS, rtol=0, atol=1e-12 * np.abs(WEIGHTS).max())
    assert not np.any(model.w_ir) and not np.any(model.ir_coefficients)
    assert not np.any(model.read_var) and not np.any(model.adc_var)
    assert model.clipping_rate == 0.0 and model.ir_residual == 0.0
    x_q, scale = model.quantise_input(X_TEST[:8])
    np.testing.assert_array_equal(x_q, X_TEST[:8])  # no DAC
    assert not np.any(model.variance(x_q, scale))
    np.testing.assert_allclose(
        model.matmul(X_TEST[:8], np.random.default_rng(0)), X_TEST[:8] @ WEIGHTS, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"input_mode": "bit_serial", "input_bits": 5},
        {"input_bits": 0},
        {"weight_mapping": "sign_magnitude", "tile_rows": 64, "tile_cols": 64},
    ],
    ids=["amplitude", "bit_serial", "no_dac", "sign_magnitude_small_tiles"],
)
def test_noise_free_mean_equals_the_exact_read_out(changes):
    """Noise, ADC and IR drop off: the effective weights (cells, variation, slices, trims) are exact."""
    matrix = _matrix(**{**QUIET, **changes})
    matrix.calibrate_output_gain(X_CAL, X_CAL @ WEIGHTS)
    assert np.ptp(matrix.output_gain) > 1e-4  # the trims differ per output, so the test covers them
    model = S.derive(matrix, X_CAL)
    exact = matrix.matmul(X_TEST)
    scale = np.abs(exact).max()
    np.testing.assert_allclose(model.mean(X_TEST), exact, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(S.effective_weights(matrix), model.w_eff, rtol=0, atol=1e-12 * np.abs(model.w_eff).max())
    assert np.abs(model.w_eff - WEIGHTS).max() > 1e-4  # the cells are not ideal: a real comparison
    assert not np.any(model.variance(*model.quantise_input(X_TEST)))


def test_deterministic_readout_is_the_exact_path_without_noise_and_adc():
    matrix = _matrix(read_noise=0.0, adc_noise=0.0, adc_bits=0)  # IR drop on
    exact = matrix.matmul(X_TEST[:64])
    scale = np.abs(exact).max()
    np.testing.assert_allclose(S.deterministic_readout(matrix, X_TEST[:64]), exact, rtol=0, atol=1e-12 * scale)
    no_ir = S.deterministic_readout(matrix, X_TEST[:64], ir_drop=False)
    np.testing.assert_allclose(
        no_ir, S._quantise(X_TEST[:64], 8) @ S.effective_weights(matrix), rtol=0, atol=1e-12 * scale
    )
    assert np.abs(no_ir - exact).max() > 1e-4 * scale  # the IR drop is there to be modelled


@pytest.mark.parametrize("tiles", [128, 64])
def test_first_order_ir_fit_explains_the_drop(tiles):
    matrix = _matrix(read_noise=0.0, adc_noise=0.0, adc_bits=0, tile_rows=tiles, tile_cols=tiles)
    model = S.derive(matrix, X_SPARSE)
    exact = S.deterministic_readout(matrix, X_SPARSE)
    drop = S.deterministic_readout(matrix, X_SPARSE, ir_drop=False) - exact
    residual = np.var(exact - model.mean(X_SPARSE)) / np.var(drop)
    assert model.ir_residual == pytest.approx(residual, rel=1e-9)
    assert residual < 0.10, residual
    # the constant fold: the drop fitted with c⁺, c⁻ only, as derive does with too few rows
    constant = S.fit_ir_coefficients(matrix, X_SPARSE, model.mean_magnitude, first_order=False)
    assert not np.any(constant[:, 2:])
    w_constant = S.effective_weights(matrix) - S.folded_ir_weights(matrix, constant[:, 0], constant[:, 1])
    x_q, _ = model.quantise_input(X_SPARSE)
    residual_constant = np.var(exact - x_q @ w_constant) / np.var(drop)
    assert residual < 0.5 * residual_constant, (residual, residual_constant)
    # and the first-order fit's own β rows carry the magnitude dependence: dropping them is far worse
    c = model.ir_coefficients
    w_no_beta = S.effective_weights(matrix) - S.folded_ir_weights(matrix, c[:, 0], c[:, 1])
    assert np.var(exact - x_q @ w_no_beta) / np.var(drop) > 2 * residual_constant


def test_too_few_calibration_rows_fold_the_drop_at_constant_coefficients():
    matrix = _matrix(read_noise=0.0, adc_noise=0.0, adc_bits=0)
    few = X_SPARSE[: S.FIRST_ORDER_MIN_ROWS - 1]
    model = S.derive(matrix, few)
    assert not np.any(model.w_ir) and not np.any(model.ir_coefficients[:, 2:])
    assert np.any(model.ir_coefficients[:, :2])
    # at μ = 1 with w_ir = 0 the mean is x_q @ W_eff whatever the row's magnitude
    x_q, _ = model.quantise_input(X_TEST[:4])
    np.testing.assert_allclose(model.mean(X_TEST[:4]), x_q @ model.w_eff, rtol=1e-12)


# --- the random part, against measured moments of the exact path ----------------------------------


@pytest.mark.parametrize("mode", ["amplitude", "bit_serial"])
@pytest.mark.parametrize(
    "noise", [dict(read_noise=0.01, adc_noise=0.0), dict(read_noise=0.0, adc_noise=0.01)], ids=["read", "adc_input"]
)
def test_noise_variance_matches_exact_draws(mode, noise):
    changes = dict(adc_bits=0, input_mode=mode, **noise)
    if mode == "bit_serial":
        changes["input_bits"] = 5
    matrix = _calibrated(**changes)
    model = S.derive(matrix, X_CAL)
    x, draws = X_TEST[:4], 400
    y = matrix.matmul(np.repeat(x, draws, axis=0), np.random.default_rng(5)).reshape(4, draws, N)  # one stream per row
    ratio = y.var(axis=1, ddof=1) / model.variance(*model.quantise_input(x))
    se = np.sqrt(2.0 / (draws - 1)) / np.sqrt(ratio.size)
    assert abs(ratio.mean() - 1.0) < 4 * se, (ratio.mean(), se)
    # the noise is zero-mean around the deterministic read-out
    spread = np.sqrt(model.variance(*model.quantise_input(x)) / draws)
    assert np.abs((y.mean(axis=1) - S.deterministic_readout(matrix, x)) / spread).max() < 4.5


@pytest.mark.parametrize("bits", [4, 8])
def test_adc_quantisation_variance_matches_the_exact_error(bits):
    matrix = _calibrated(read_noise=0.0, adc_noise=0.0, adc_bits=bits)
    model = S.derive(matrix, X_CAL)
    for x, pooled, per_output in ((X_CAL, 0.10, 0.20), (X_TEST, 0.15, None)):
        error = matrix.matmul(x) - S.deterministic_readout(matrix, x)
        measured = np.mean(error * error, axis=0)
        predicted = model.variance(*model.quantise_input(x)).mean(axis=0)
        assert abs(measured.sum() / predicted.sum() - 1.0) < pooled, (bits, measured.sum() / predicted.sum())
        if per_output is not None:
            assert np.all(np.abs(measured / predicted - 1.0) < per_output), measured / predicted


def _true_clipping_fraction(matrix, x):
    """Fraction of conversions whose ADC code is limited by the rails (|ADC(I) − I| > LSB/2), noise off."""
    planes, _, _ = dac_planes(x, matrix.cb)
    clipped = total = 0
    for voltages in planes:
        for index, chunk in enumerate(matrix.chunks):
            current = matrix.column_currents(np.ascontiguousarray(voltages[:, chunk]), chunk)
            full_scale = matrix.adc_range[index]
            lsb = full_scale / 2.0 ** (matrix.cb.adc_bits - 1)
            clipped += int(
                np.count_nonzero(
                    np.abs(adc_quantise(current, full_scale, matrix.cb.adc_bits) - current) > 0.5 * lsb * (1 + 1e-9)
                )
            )
            total += current.size
    return clipped / total


def test_clipping_rate_follows_the_adc_range():
    matrix = _calibrated(read_noise=0.0, adc_noise=0.0, adc_bits=4)
    matrix.adc_range = matrix.adc_range * 100.0
    assert S.derive(matrix, X_CAL).clipping_rate == 0.0
    matrix.adc_range = matrix.adc_range / 400.0
    model = S.derive(matrix, X_CAL)
    truth = _true_clipping_fraction(matrix, X_CAL)
    assert truth > 0.05
    assert model.clipping_rate >= truth  # never fewer than the conversions that really clip


def test_clipping_rate_is_the_fraction_of_clipped_codes():
    """adc_errors: `noisy > full_scale − 1.5·lsb` is one LSB below where the top code starts to clip
    (v/lsb > 2^(b−1) − 0.5), while the bottom test `noisy < −full_scale − 0.5·lsb` is where the
    bottom code does: the rate over-counts conversions that land in the top code without error."""
    matrix = _calibrated(read_noise=0.0, adc_noise=0.0, adc_bits=4)
    matrix.adc_range = matrix.adc_range / 4.0
    model = S.derive(matrix, X_CAL)
    assert model.clipping_rate == pytest.approx(_true_clipping_fraction(matrix, X_CAL), rel=1e-12)


@pytest.mark.parametrize("name", ["vcma-default", "vcma-lowbit"])
def test_full_model_error_moments_match_the_exact_path(name):
    """All non-idealities on, ADC ranges and gains calibrated: the error y − x @ W in distribution."""
    matrix = _calibrated(name=name)
    matrix.calibrate_output_gain(X_CAL, X_CAL @ WEIGHTS, np.random.default_rng(3))
    model = S.derive(matrix, X_CAL, seed=2)
    target = X_TEST @ WEIGHTS
    exact = matrix.matmul(X_TEST, np.random.default_rng(7)) - target
    statistical = model.matmul(X_TEST, np.random.default_rng(8)) - target
    sigma = exact.std()
    assert abs(statistical.var() / exact.var() - 1.0) < 0.10, statistical.var() / exact.var()
    assert abs(statistical.mean() - exact.mean()) < 0.1 * sigma
    assert np.abs(statistical.mean(axis=0) - exact.mean(axis=0)).max() < 0.15 * sigma
    # the model's deterministic error is the exact one's (same cells): strongly correlated per sample
    assert np.corrcoef(exact.ravel(), statistical.ravel())[0, 1] > 0.5


def test_matmul_is_seeded_and_leaves_its_input_alone():
    model = S.derive(_calibrated(), X_CAL)
    x = X_TEST[:16].copy()
    a = model.matmul(x, np.random.default_rng(11))
    np.testing.assert_array_equal(a, model.matmul(x, np.random.default_rng(11)))
    assert not np.array_equal(a, model.matmul(x, np.random.default_rng(12)))
    np.testing.assert_array_equal(x, X_TEST[:16])


def test_quantise_input_is_the_dac():
    model = S.derive(_matrix(**QUIET), X_CAL)
    x = np.vstack([X_TEST[:4], np.zeros((1, K))])
    x_q, scale = model.quantise_input(x)
    levels = model.dac_levels
    assert levels == 127
    np.testing.assert_allclose(scale[:4, 0], np.abs(x[:4]).max(axis=1))
    assert scale[4, 0] == 1.0 and not np.any(x_q[4])  # an all-zero row: no division by zero
    codes = x_q / scale * levels
    np.testing.assert_allclose(codes, np.rint(codes), atol=1e-9)
    assert np.all(np.abs(x_q - x) <= scale / (2 * levels) * (1 + 1e-12))


# --- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, match",
    [
        (X_CAL[0], "2-D"),
        (X_CAL[:, :-1], "features"),
        (X_CAL[:0], "at least one row"),
        (np.where(np.arange(K) == 3, np.nan, X_CAL[:9]), "non-finite"),
        (np.where(np.arange(K) == 5, np.inf, X_CAL[:9]), "non-finite"),
        (X_CAL[:9].astype(complex), "real"),
    ],
    ids=["1d", "wrong_k", "no_rows", "nan", "inf", "complex"],
)
def test_derive_rejects_bad_calibration_inputs(x, match):
    with pytest.raises(InputError, match=match):
        S.derive(_matrix(**QUIET), x)


@pytest.mark.parametrize(
    "x, match",
    [
        (X_TEST[0], "2-D"),
        (X_TEST[:4, :-2], "features"),
        (np.where(np.arange(K) == 7, np.nan, X_TEST[:4]), "non-finite"),
    ],
    ids=["1d", "wrong_k", "nan"],
)
def test_matmul_rejects_bad_inputs(x, match):
    model = S.derive(_matrix(**QUIET), X_CAL)
    with pytest.raises(InputError, match=match):
        model.matmul(x, np.random.default_rng(0))


# --- the one-pass derive against the plain per-function reference --------------------------------
# The twins below are the former implementations of fit_ir_coefficients, adc_errors and
# deterministic_readout: per chunk and DAC plane, the exact path's own currents
# (`ProgrammedMatrix.column_currents`), column sums of every regressor product, numpy's ADC.


def _plain_ir_coefficients(matrix, x, mean_magnitude, first_order):
    from device.crossbar import ir_drop_coefficient, ir_drop_position_factor

    planes, plane_weights, x_scale = dac_planes(x, matrix.cb)
    mu = S.input_magnitude(S._quantise(x, matrix.cb.input_bits), x_scale) / mean_magnitude
    n_regressors = 4 if first_order else 2
    coefficients = np.zeros((len(matrix.chunks), 4, matrix.n_columns))
    scale = matrix.cb.tile_rows * matrix.cb.wire_resistance / matrix.cb.read_voltage
    for index, chunk in enumerate(matrix.chunks):
        gram = np.zeros((matrix.n_columns, n_regressors, n_regressors))
        moments = np.zeros((matrix.n_columns, n_regressors))
        for voltages, weight in zip(planes, plane_weights):
            v = voltages[:, chunk]
            weighted = v * ir_drop_position_factor(matrix.cb.tile_rows, chunk.stop - chunk.start)
            p_pos, p_neg = weighted @ matrix.g_pos[chunk], weighted @ matrix.g_neg[chunk]
            a_pos, a_neg = scale * (np.abs(v) @ matrix.g_pos[chunk]), scale * (np.abs(v) @ matrix.g_neg[chunk])
            drop = ir_drop_coefficient(a_pos) * p_pos - ir_drop_coefficient(a_neg) * p_neg
            regressors = [p_pos, -p_neg] + ([mu[:, None] * p_pos, -mu[:, None] * p_neg] if first_order else [])
            for r, left in enumerate(regressors):
                moments[:, r] += weight**2 * np.sum(left * drop, axis=0)
                for q, right in enumerate(regressors):
                    gram[:, r, q] += weight**2 * np.sum(left * right, axis=0)
        coefficients[index, :n_regressors] = S._solve_columns(gram, moments).T
    return coefficients


def _plain_adc_errors(matrix, x, rng):
    cb = matrix.cb
    planes, plane_weights, _ = dac_planes(x, cb)
    errors = np.zeros((len(matrix.chunks), matrix.n_columns))
    half, clipped, total = 2.0 ** (cb.adc_bits - 1), 0, 0
    for voltages, weight in zip(planes, plane_weights):
        for index, chunk in enumerate(matrix.chunks):
            v = np.ascontiguousarray(voltages[:, chunk])
            current = matrix.column_currents(v, chunk).astype(np.float64)
            full_scale = matrix.adc_range[index]
            variance = (cb.adc_noise * full_scale) ** 2 + cb.read_noise**2 * ((v**2) @ matrix.g_squared[chunk])
            noisy = current + np.sqrt(variance) * rng.standard_normal(current.shape)
            error = adc_quantise(noisy, full_scale, cb.adc_bits) - noisy
            errors[index] += weight**2 * np.mean(error * error, axis=0)
            lsb = full_scale / half
            clipped += int(np.count_nonzero((noisy >= full_scale - 0.5 * lsb) | (noisy < -full_scale - 0.5 * lsb)))
            total += noisy.size
    return errors, clipped / total


def _plain_readout(matrix, x, ir_drop=True):
    planes, plane_weights, x_scale = dac_planes(x, matrix.cb)
    total = np.zeros((x.shape[0], matrix.n_columns))
    for voltages, weight in zip(planes, plane_weights):
        for chunk in matrix.chunks:
            v = np.ascontiguousarray(voltages[:, chunk])
            total += weight * (matrix.column_currents(v, chunk) if ir_drop else v @ matrix.difference[chunk])
    return S._fold_slices(total, matrix, 1) * S.descale(matrix) * x_scale


@pytest.mark.parametrize(
    "changes",
    [{}, {"input_mode": "bit_serial", "input_bits": 5}, {"tile_rows": 64, "tile_cols": 64}],
    ids=["amplitude", "bit_serial", "small_tiles"],
)
def test_derive_in_one_pass_equals_the_plain_functions(changes):
    """derive's single pass over `read_sums` = the plain per-function reference, to float64 rounding."""
    matrix = _calibrated(**changes)
    matrix.calibrate_output_gain(X_CAL, X_CAL @ WEIGHTS, np.random.default_rng(3))
    x = X_SPARSE
    model = S.derive(matrix, x, seed=4)
    first_order = matrix.cb.input_mode == "amplitude"
    coefficients = _plain_ir_coefficients(matrix, x, model.mean_magnitude, first_order)
    np.testing.assert_allclose(model.ir_coefficients, coefficients, rtol=1e-9, atol=1e-12 * np.abs(coefficients).max())
    errors, clipping = _plain_adc_errors(matrix, x, np.random.default_rng([4, 31]))
    plane_weights = dac_planes(x[:1], matrix.cb)[1]
    np.testing.assert_allclose(model.adc_var, S.adc_variance(matrix, plane_weights, errors), rtol=1e-9)
    assert model.clipping_rate == clipping
    exact = _plain_readout(matrix, x)
    drop = _plain_readout(matrix, x, ir_drop=False) - exact
    assert model.ir_residual == pytest.approx(np.var(exact - model.mean(x)) / np.var(drop), rel=1e-9)
    # the public functions give the same from the same sums, and sums handed in change nothing
    np.testing.assert_allclose(S.deterministic_readout(matrix, x), exact, rtol=0, atol=1e-12 * np.abs(exact).max())
    np.testing.assert_allclose(
        S.fit_ir_coefficients(matrix, x, model.mean_magnitude, first_order), model.ir_coefficients, rtol=1e-12, atol=0
    )
    planes = dac_planes(x, matrix.cb)[0]
    again = S.derive(matrix, x, seed=4, sums=lambda k: S.read_sums(matrix, planes[k]))
    np.testing.assert_array_equal(again.w_eff, model.w_eff)
    np.testing.assert_array_equal(again.adc_var, model.adc_var)


def test_read_sums_current_is_the_exact_column_current():
    matrix = _matrix()  # float64 compute, IR drop and read noise on
    voltages = dac_planes(X_TEST[:32], matrix.cb)[0][0]
    sums = S.read_sums(matrix, voltages)
    for index, chunk in enumerate(matrix.chunks):
        want = matrix.column_currents(voltages[:, chunk], chunk)
        np.testing.assert_allclose(sums.current()[index], want, rtol=0, atol=1e-13 * np.abs(want).max())
        noise = matrix.cb.read_noise**2 * ((voltages[:, chunk] ** 2) @ matrix.g_squared[chunk])
        np.testing.assert_allclose(sums.read_variance[index], noise, rtol=1e-13)


# --- device/statistical_sums.py: the fused kernels against their plain-numpy twins -------------------


def test_ir_moment_sums_equal_numpy():
    from device.statistical_sums import ir_moment_sums

    rng = np.random.default_rng(5)
    p_pos, p_neg, drop = (rng.standard_normal((300, 17)).astype(np.float32) for _ in range(3))
    mu = rng.uniform(0.5, 1.5, 300)
    for powers in (np.stack([np.ones(300), mu, mu * mu]), np.ones((1, 300))):
        got = ir_moment_sums(p_pos[:, ::1], p_neg, drop, powers)
        a, b, d = (np.asarray(v, dtype=np.float64) for v in (p_pos, p_neg, drop))
        want = np.stack([np.stack([w @ (a * a), w @ (a * b), w @ (b * b), w @ (a * d), w @ (b * d)]) for w in powers])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    strided = np.concatenate([p_pos, p_neg], axis=1)[:, :17]  # a non-contiguous view: copied, same result
    np.testing.assert_array_equal(
        ir_moment_sums(strided, p_neg, drop, powers), ir_moment_sums(p_pos, p_neg, drop, powers)
    )
    with pytest.raises(InputError, match=r"p_pos, p_neg and drop must be \(B, C\) of one shape"):
        ir_moment_sums(p_pos, p_neg[:10], drop, powers)
    with pytest.raises(InputError, match=r"powers must be \(L, B\) with L ≤ 3 and B = 300, got \(4, 300\)"):
        ir_moment_sums(p_pos, p_neg, drop, np.ones((4, 300)))


@pytest.mark.parametrize("with_drop, with_noise", [(True, True), (False, True), (True, False)])
def test_adc_error_sums_equal_numpy(with_drop, with_noise):
    from device.statistical_sums import adc_error_sums

    rng = np.random.default_rng(6)
    linear = rng.standard_normal((400, 9)).astype(np.float32)
    drop = (0.1 * rng.standard_normal((400, 9))).astype(np.float32) if with_drop else None
    variance = (0.01 * rng.uniform(size=(400, 9))) if with_noise else None
    z = rng.standard_normal((400, 9))
    full_scale = rng.uniform(1.0, 3.0, 9)
    got, clipped = adc_error_sums(linear, drop, variance, z, full_scale, 0.002, 4)
    current = linear.astype(np.float64) - (0.0 if drop is None else drop.astype(np.float64))
    noisy = current + np.sqrt((0.002 * full_scale) ** 2 + (0.0 if variance is None else variance)) * z
    error = adc_quantise(noisy, full_scale, 4) - noisy
    lsb = full_scale / 8
    np.testing.assert_allclose(got, np.sum(error * error, axis=0), rtol=1e-12)
    assert clipped == np.count_nonzero((noisy >= full_scale - 0.5 * lsb) | (noisy < -full_scale - 0.5 * lsb)) > 0
    with pytest.raises(InputError, match=r"z must be \(400, 9\) and full_scale \(9,\), got \(5, 9\)"):
        adc_error_sums(linear, drop, variance, z[:5], full_scale, 0.002, 4)
