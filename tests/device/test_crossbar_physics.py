"""Tests of device/crossbar.py, physics and statistics: noise in distribution vs the per-cell twin and
the analytic variance, IR drop, ADC clipping and calibration, write errors."""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from device import crossbar as X
from device import crossbar_programming as XP
from device.errors import InputError, ParameterError
from tests.device import naive_crossbar as naive
from tests.device.crossbar_cases import DETERMINISTIC, VAR, P, _ideal, _inputs, _program, _weights

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
        tile_rows=16,
        tile_cols=8,
        weight_bits=3,
        input_bits=5,
        adc_bits=0,
        input_mode=input_mode,
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


# --- physics --------------------------------------------------------------------------------------


@pytest.mark.parametrize("read_voltage", [0.1, 0.25])
def test_nominal_conductances_follow_f16(read_voltage):
    cb = X.CrossbarParameters(
        **{
            **DETERMINISTIC,
            "cell_variation": False,
            "write_model": "ideal",
            "read_voltage": read_voltage,
            "weight_mapping": "sign_magnitude",
        }
    )
    w = _weights(20, 4)
    pm = _program(w, cb)
    bias = (read_voltage / P.tmr_half_voltage) ** 2
    g_on = 1.0 / P.resistance_parallel
    g_off = 1.0 / (P.resistance_parallel * (1.0 + bias + P.tmr) / (1.0 + bias))
    levels, _ = XP.quantise_weights(w, cb.weight_bits)
    pos, neg = naive.slice_bits(levels, cb.weight_bits)
    np.testing.assert_allclose(pm.g_pos, np.where(pos, g_on, g_off), rtol=1e-14)
    np.testing.assert_allclose(pm.g_neg, np.where(neg, g_on, g_off), rtol=1e-14)
    assert pm.delta_g == pytest.approx(g_on - g_off, rel=1e-14)
    assert X.cell_conductances(P, cb, P.resistance_parallel, P.tmr) == pytest.approx((g_on, g_off), rel=1e-14)


def test_cell_variation_spreads_conductances_by_about_r_p_sigma():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "write_model": "ideal", "weight_mapping": "sign_magnitude"})
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
    cb = X.CrossbarParameters(
        **{
            **DETERMINISTIC,
            "weight_bits": 4,
            "write_field": 3e3,
            "write_verify_attempts": 1,
            "cell_variation": False,
            "weight_mapping": "sign_magnitude",
        }
    )
    w = _write_check_matrix()
    pm = _program(w, cb, seed=52)
    levels, _ = XP.quantise_weights(w, 4)
    target = np.concatenate([a.ravel() for a in XP.slice_bits(levels, 4)])
    p = XP.write_success_probability(P, cb, P.interfacial_anisotropy, P.stray_field, target)
    q = 0.5 * (1.0 - p)
    assert abs(pm.write_stats.residual_errors - q.sum()) <= 4 * math.sqrt(float(np.sum(q * (1 - q))))
    g_on = 1.0 / P.resistance_parallel
    on = np.concatenate([pm.g_pos.ravel(), pm.g_neg.ravel()]) == g_on
    assert np.sum(on != target) == pm.write_stats.residual_errors


def _realised_levels(pm):
    """Each weight as the chip holds it, in LSB units: Σ_s 2^s·(G⁺ − G⁻)/ΔG over its slices."""
    k, n, slices = pm.in_features, pm.out_features, pm.n_slices
    per_slice = (pm.g_pos - pm.g_neg).reshape(k, n, slices) / pm.delta_g
    return per_slice @ (2.0 ** np.arange(slices))


def test_closed_loop_mapping_cancels_cell_variation():
    # open loop: every cell's R_P/TMR error lands in the weight, the MSB's scaled by 32; closed loop:
    # the lower slices absorb the measured error of the upper ones, leaving the rounding error plus
    # the LSB slice's own cell error: an RMS of ≈ 0.42 LSB (1.45× the rounding alone) averaged over
    # chips; single chips scatter with σ ≈ 0.03 LSB, so the bound is on the mean of 8 chips
    w = _weights(96, 24, seed=60)
    errors = {}
    for mapping in ("sign_magnitude", "closed_loop"):
        cb = X.CrossbarParameters(
            **{**DETERMINISTIC, "weight_bits": 6, "write_model": "ideal", "weight_mapping": mapping}
        )
        rms = [
            np.sqrt(np.mean((_realised_levels(pm) - w / pm.col_scale) ** 2))
            for pm in (_program(w, cb, seed=s) for s in range(61, 69))
        ]
        errors[mapping] = float(np.mean(rms))
    rounding = 1 / math.sqrt(12)  # RMS of a uniform ±½ LSB rounding error
    assert errors["sign_magnitude"] > 4 * rounding  # 5 % R_P/TMR spread: several LSB
    assert errors["closed_loop"] < 1.7 * rounding
    assert errors["closed_loop"] < errors["sign_magnitude"] / 4


def test_closed_loop_without_variation_is_plain_rounding():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "weight_bits": 5, "write_model": "ideal", "cell_variation": False})
    w = _weights(40, 9, seed=62)
    pm = _program(w, cb, seed=63)
    np.testing.assert_array_less(np.abs(_realised_levels(pm) - w / pm.col_scale), 0.5 + 1e-9)


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
    p_on = XP.write_success_probability(P, cb, P.interfacial_anisotropy, P.stray_field, True)
    p_off = XP.write_success_probability(P, cb, P.interfacial_anisotropy, P.stray_field, False)
    assert 0.97 < p_off < p_on < 1.0  # ≈ 0.99 per pulse; the +z stray field helps writing "1"
    zero_field = dataclasses.replace(cb, write_field=0.0)
    p0 = XP.write_success_probability(P, zero_field, P.interfacial_anisotropy, P.stray_field, np.array([True, False]))
    assert p0[0] + p0[1] == pytest.approx(1.0, abs=1e-12)  # no write field: one outcome or the other


def test_output_gain_calibration_removes_the_average_ir_drop_loss():
    # IR drop only (no noise, no variation, ideal ADC): the read-out is attenuated by c(a); a
    # per-output gain fitted on one batch must shrink the error on a fresh batch, and the twin
    # must apply the same gains
    cb = X.CrossbarParameters(
        **{
            **DETERMINISTIC,
            "weight_bits": 6,
            "cell_variation": False,
            "adc_bits": 0,
            "input_bits": 0,
            "tile_rows": 64,
            "wire_resistance": 1.0,
        }
    )
    w = _weights(128, 12, seed=70)
    pm = _program(w, cb, seed=71)
    fit, fresh = np.abs(_inputs(64, 128, seed=72)), np.abs(_inputs(64, 128, seed=73))
    before = np.linalg.norm(pm.matmul(fresh) - fresh @ w) / np.linalg.norm(fresh @ w)
    gains = pm.calibrate_output_gain(fit, fit @ w)
    after = np.linalg.norm(pm.matmul(fresh) - fresh @ w) / np.linalg.norm(fresh @ w)
    assert before > 0.02 and after < before / 3, (before, after)
    assert np.all(gains > 1.0) and np.all(gains <= 2.0)  # IR drop only ever loses current
    np.testing.assert_allclose(pm.matmul(fresh), naive.matmul(pm, fresh).y, rtol=1e-10, atol=0)


def test_output_gain_calibration_checks_shapes_and_keeps_silent_outputs_at_one():
    pm = _program(_weights(16, 3, seed=74), X.CrossbarParameters(**DETERMINISTIC))
    x = _inputs(4, 16, seed=75)
    with pytest.raises(InputError, match="target must have shape"):
        pm.calibrate_output_gain(x, np.zeros((4, 2)))
    gains = pm.calibrate_output_gain(np.zeros((4, 16)), np.zeros((4, 3)))
    np.testing.assert_array_equal(gains, np.ones(3))


# --- the programming kernel's random numbers and shortcuts ------------------------------------------


def test_ziggurat_normals_equal_twin_draw_for_draw():
    from device.random_streams import new_stream_states
    from tests.device import naive_bernoulli

    states = new_stream_states(3, np.random.default_rng(5))
    twin = naive.Ziggurat(naive_bernoulli.streams_from_array(states)[2])
    want = [twin.normal() for _ in range(30_000)]  # enough for wedges (~1 %) and tails (~0.03 %)
    np.testing.assert_array_equal(XP.standard_normals(states, 2, 30_000), want)
    np.testing.assert_array_equal(states[2], naive_bernoulli.streams_to_array([twin.stream])[0])


def test_ziggurat_normals_are_standard_normal():
    from scipy import stats

    from device.random_streams import new_stream_states

    z = XP.standard_normals(new_stream_states(1, np.random.default_rng(6)), 0, 1_000_000)
    n = z.size
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs(z.var() - 1) < 4 * math.sqrt(2 / n)
    assert abs(stats.skew(z)) < 4 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 4 * math.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    beyond = np.mean(np.abs(z) > 3.6541528853610088)  # the tail algorithm's share
    assert abs(beyond - 2 * norm.sf(3.6541528853610088)) < 4 * math.sqrt(2 * norm.sf(3.654) / n)


def test_standard_normals_validates():
    from device.random_streams import new_stream_states

    states = new_stream_states(2, np.random.default_rng(0))
    with pytest.raises(InputError, match="row must be an integer in \\[0, 2\\), got 2"):
        XP.standard_normals(states, 2, 5)
    with pytest.raises(InputError, match="n must be a non-negative integer, got -1"):
        XP.standard_normals(states, 0, -1)
    with pytest.raises(InputError, match="states must be an \\(n, 4\\) uint64 array"):
        XP.standard_normals(states.astype(np.int64), 0, 5)


@pytest.mark.parametrize("target_on", [True, False])
def test_success_floor_is_below_every_cells_write_probability(target_on):
    # the kernel skips Φ when a pulse's uniform lies below the floor: it must bound every cell the
    # ±4σ spread can make, corners of the (K_i0, stray field) box included
    cb = X.CrossbarParameters()
    floor = XP._success_floor(P, VAR, cb, target_on)
    z = np.random.default_rng(7).uniform(-4, 4, (2, 200_000))
    z[:, :4] = [[-4, -4, 4, 4], [-4, 4, -4, 4]]
    k_i0 = P.interfacial_anisotropy * (1 + VAR.interfacial_anisotropy_rel * z[0])
    stray = P.stray_field + VAR.stray_field_abs * z[1]
    p = XP.write_success_probability(P, cb, k_i0, stray, target_on)
    assert floor < p.min() < floor + 1e-3


def test_programming_does_not_depend_on_the_thread_count():
    cb = X.CrossbarParameters(**{**DETERMINISTIC, "read_noise": 0.05, "write_field": 3e3})  # many retries and errors
    w = _weights(40, 7)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = _program(w, cb, seed=4)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        parallel = _program(w, cb, seed=4)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(serial.g_pos, parallel.g_pos)
    np.testing.assert_array_equal(serial.g_neg, parallel.g_neg)
    assert serial.write_stats == parallel.write_stats
