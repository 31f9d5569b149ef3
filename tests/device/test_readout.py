"""Tests for device/readout.py: the fused read-out kernel against its twin, draw for draw.

The twin (`tests.device.naive_crossbar.read_out_accumulate`) walks the batch rows and columns in
order with the pure-Python xoshiro256** streams of tests/device/naive_bernoulli.py: one deviate per
element when any noise is on (successive elements take the four 16-bit fields of a stream output,
each mapped through Φ⁻¹), scaled by sqrt(read σ² + (adc_noise·full_scale)²), then the ADC code
clip(rint(I/LSB), −2^(b−1), 2^(b−1) − 1), LSB = full_scale/2^(b−1).

Tolerances: stream states must be equal exactly (the same number of draws). Outputs: both map the
same 16-bit fields through the same Φ⁻¹ table, so the deviates are equal; the assertions allow
1e-13 of the value scale only for the different order of the floating-point products (one ulp moves
a code only if it sits within an ulp of a rounding boundary).
Moment checks use 4 standard errors.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from device import readout as R
from device.errors import InputError
from device.random_streams import new_stream_states
from tests.device import naive_crossbar as naive


def _case(n_batch, n_cols, seed):
    """Currents spanning ±1.6 full scales (both ADC ends clip), positive noise σ and full scales."""
    rng = np.random.default_rng(seed)
    full_scale = rng.uniform(0.5, 2.0, n_cols)
    current = rng.uniform(-1.6, 1.6, (n_batch, n_cols)) * full_scale
    noise_std = rng.uniform(0.0, 0.2, (n_batch, n_cols))
    out = rng.standard_normal((n_batch, n_cols))  # accumulation onto existing values
    states = new_stream_states(n_batch, rng)
    return current, noise_std, full_scale, out, states


def _run_both(current, noise_std, full_scale, adc_noise, adc_bits, weight, out, states):
    want_out, want_states = naive.read_out_accumulate(
        current, noise_std, full_scale, adc_noise, adc_bits, weight, states, out
    )
    got_out, got_states = out.copy(), states.copy()
    R.read_out_accumulate(current, noise_std, full_scale, adc_noise, adc_bits, weight, got_states, got_out)
    return got_out, got_states, want_out, want_states


@pytest.mark.parametrize("adc_bits", [0, 2, 3, 8, 14])
@pytest.mark.parametrize("read_noise, adc_noise", [(False, 0.0), (True, 0.0), (False, 0.05), (True, 0.05)])
@pytest.mark.parametrize("weight", [1.0, 0.015625])
def test_kernel_equals_twin_draw_for_draw(adc_bits, read_noise, adc_noise, weight):
    current, noise_std, full_scale, out, states = _case(7, 11, seed=adc_bits)
    got_out, got_states, want_out, want_states = _run_both(
        current, noise_std if read_noise else None, full_scale, adc_noise, adc_bits, weight, out, states
    )
    np.testing.assert_array_equal(got_states, want_states)
    np.testing.assert_allclose(got_out, want_out, rtol=0, atol=1e-13 * np.abs(want_out).max())
    if not read_noise and adc_noise == 0.0:
        np.testing.assert_array_equal(got_states, states)  # no noise: no draws
    else:
        assert np.all(np.any(got_states != states, axis=1))  # every row's stream advanced


def test_kernel_matches_twin_bit_for_bit_on_this_platform():
    # the measured agreement: identical to the last bit with both noises and quantisation on
    current, noise_std, full_scale, out, states = _case(16, 9, seed=21)
    got_out, _, want_out, _ = _run_both(current, noise_std, full_scale, 0.01, 6, 0.5, out, states)
    np.testing.assert_array_equal(got_out, want_out)


def test_zero_noise_std_still_draws_and_changes_nothing():
    current, noise_std, full_scale, out, states = _case(4, 5, seed=22)
    got_out, got_states, want_out, want_states = _run_both(
        current, np.zeros_like(noise_std), full_scale, 0.0, 0, 1.0, out, states
    )
    np.testing.assert_array_equal(got_out, out + current)
    np.testing.assert_array_equal(got_states, want_states)
    assert np.all(got_states != states)


@pytest.mark.parametrize("adc_bits", [2, 5, 14])
def test_clipping_at_both_ends(adc_bits):
    full_scale = np.array([1.0, 0.5, 2.0])
    half = 2.0 ** (adc_bits - 1)
    lsb = full_scale / half
    just_under = full_scale - lsb / 4  # rounds to code 2^(b−1), one above the top code
    current = np.array([[-10.0, -0.51, 1e9], [10.0, 0.51, -1e9], [just_under[0], -0.5, just_under[2]]])
    out = np.zeros_like(current)
    states = new_stream_states(3, np.random.default_rng(0))
    R.read_out_accumulate(current, None, full_scale, 0.0, adc_bits, 1.0, states, out)
    low, high = -half * lsb, (half - 1) * lsb
    np.testing.assert_array_equal(out[0], [low[0], low[1], high[2]])
    np.testing.assert_array_equal(out[1], [high[0], high[1], low[2]])
    # just inside the range: −FS is a code (−2^(b−1)); just under +FS rounds to +2^(b−1), which clips
    assert out[2, 1] == low[1]
    assert out[2, 0] == high[0] and out[2, 2] == high[2]
    np.testing.assert_array_equal(out, R.adc_quantise(current, full_scale, adc_bits))
    want, _ = naive.read_out_accumulate(current, None, full_scale, 0.0, adc_bits, 1.0, states, np.zeros_like(current))
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("adc_bits", [2, 4, 8])
def test_adc_quantise_equals_twin_codes_and_rounds_ties_to_even(adc_bits):
    rng = np.random.default_rng(adc_bits)
    full_scale = rng.uniform(0.5, 2.0, 6)
    value = rng.uniform(-1.5, 1.5, (50, 6)) * full_scale
    half = 2.0 ** (adc_bits - 1)
    lsb = full_scale / half
    want = np.stack([naive.adc_code(value[:, c], full_scale[c], adc_bits) * lsb[c] for c in range(6)], axis=1)
    np.testing.assert_array_equal(R.adc_quantise(value, full_scale, adc_bits), want)
    error = np.abs(R.adc_quantise(value, full_scale, adc_bits) - value)
    inside = np.abs(value) < full_scale - lsb
    assert np.all(error[inside] <= np.broadcast_to(lsb / 2, value.shape)[inside])
    assert np.all(error[~inside] <= np.broadcast_to(0.5 * full_scale + lsb, value.shape)[~inside])
    # exact ties (power-of-two full scale): rint rounds half to even, the kernel as adc_quantise
    ties = np.array([[0.5, 1.5, -0.5, -1.5, 2.5]]) * (1.0 / half)
    fs = np.ones(5)
    np.testing.assert_array_equal(
        R.adc_quantise(ties, fs, adc_bits), np.clip([[0.0, 2.0, -0.0, -2.0, 2.0]], -half, half - 1) / half
    )
    out = np.zeros_like(ties)
    R.read_out_accumulate(ties, None, fs, 0.0, adc_bits, 1.0, new_stream_states(1, rng), out)
    np.testing.assert_array_equal(out, R.adc_quantise(ties, fs, adc_bits))


def test_adc_quantise_zero_bits_is_identity():
    value = np.array([[1e9, -3.3]])
    assert R.adc_quantise(value, np.ones(2), 0) is value


def test_noise_moments():
    # adc_bits = 0: out − current = σ_read·ξ1 + adc_noise·FS·ξ2 ~ N(0, σ_read² + (adc_noise·FS)²)
    n_batch = 20000
    current = np.zeros((n_batch, 2))
    noise_std = np.tile([0.3, 0.0], (n_batch, 1))
    full_scale = np.array([1.0, 2.0])
    out = np.zeros_like(current)
    R.read_out_accumulate(
        current, noise_std, full_scale, 0.1, 0, 1.0, new_stream_states(n_batch, np.random.default_rng(3)), out
    )
    var = np.array([0.3**2 + 0.1**2, 0.2**2])
    assert np.all(np.abs(out.mean(axis=0)) <= 4 * np.sqrt(var / n_batch))
    assert np.all(np.abs(out.var(axis=0, ddof=1) - var) <= 4 * var * math.sqrt(2 / (n_batch - 1)))
    assert abs(np.corrcoef(out[:, 0], out[:, 1])[0, 1]) < 4 / math.sqrt(n_batch)


def test_parallel_and_serial_runs_agree():
    current, noise_std, full_scale, out, states = _case(256, 33, seed=23)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            o, s = out.copy(), states.copy()
            R.read_out_accumulate(current, noise_std, full_scale, 0.02, 8, 0.25, s, o)
            results.append((o, s))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_strided_arguments():
    # a transposed current and a strided out view: out is updated in place through the view
    current, noise_std, full_scale, _, states = _case(6, 4, seed=24)
    current_t = np.asfortranarray(current)
    big = np.zeros((6, 8))
    view = big[:, ::2]
    want, _ = naive.read_out_accumulate(current, noise_std, full_scale, 0.01, 6, 1.0, states, np.zeros((6, 4)))
    R.read_out_accumulate(current_t, noise_std, full_scale, 0.01, 6, 1.0, states.copy(), view)
    np.testing.assert_allclose(big[:, ::2], want, rtol=0, atol=1e-13 * np.abs(want).max())
    assert np.all(big[:, 1::2] == 0.0)


def _valid():
    current, noise_std, full_scale, out, states = _case(3, 4, seed=25)
    return dict(
        current=current,
        noise_std=noise_std,
        full_scale=full_scale,
        adc_noise=0.0,
        adc_bits=4,
        weight=1.0,
        states=states,
        out=out,
    )


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: a.update(out=np.zeros((3, 5))), "must have one shape"),
        (lambda a: a.update(current=a["current"].astype(np.int64)), "current \\(float32/64\\)"),
        (lambda a: a.update(out=a["out"].astype(np.float32)), "out \\(float64\\)"),
        (lambda a: a.update(noise_std=np.zeros((3, 3))), r"noise_std must match current's shape \(3, 4\)"),
        (lambda a: a.update(full_scale=np.ones(5)), r"full_scale must have one entry per column \(4\)"),
        (lambda a: a.update(full_scale=np.ones((1, 4))), "full_scale must have one entry per column"),
        (lambda a: a.update(states=a["states"][:2]), r"states must be \(3, 4\) uint64"),
        (lambda a: a.update(states=a["states"].astype(np.int64)), r"states must be \(3, 4\) uint64, got int64"),
    ],
)
def test_wrapper_validation_raises(change, match):
    args = _valid()
    change(args)
    with pytest.raises(InputError, match=match):
        R.read_out_accumulate(**args)


def test_valid_call_leaves_inputs_alone():
    args = _valid()
    current, noise_std, full_scale = args["current"].copy(), args["noise_std"].copy(), args["full_scale"].copy()
    R.read_out_accumulate(**args)
    np.testing.assert_array_equal(args["current"], current)
    np.testing.assert_array_equal(args["noise_std"], noise_std)
    np.testing.assert_array_equal(args["full_scale"], full_scale)
