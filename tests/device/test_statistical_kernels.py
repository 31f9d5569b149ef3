"""Tests of device/statistical_kernels.py and the Gaussian table of device/random_streams.py.

Each kernel is checked against a plain numpy or torch reference of the same arithmetic:
- `channel_abs_max`, `window_reduce` (max), `ones_for_zeros`: exact (a maximum has no rounding);
- `window_reduce` (sum) against ``k²·avg_pool2d``: float32 rounding, rtol 1e-5;
- `quantise_pixels`: bit-for-bit the numpy expression in float32 (round half to even);
- `noisy_readout` without noise: the numpy expression to float32 rounding (rtol 1e-5);
- its noise: the predicted variance and a normal law (KS and kurtosis at n = 10⁶, p > 10⁻³),
  replayable from its seed, the same in any thread count.
- the table: ascending, symmetric, mean 0, variance 1 to 1e-9, tails at 4.39σ.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from device import statistical_kernels as K
from device.random_streams import GAUSSIAN_TABLE_BITS, gaussian_table
from device.randomness import normality_checks


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_gaussian_table_is_a_unit_normal():
    table = gaussian_table().astype(np.float64)
    assert table.shape == (2**GAUSSIAN_TABLE_BITS,)
    assert np.all(np.diff(table) > 0)
    np.testing.assert_allclose(table, -table[::-1], atol=1e-6)
    assert abs(table.mean()) < 1e-7
    assert abs(np.mean(table**2) - 1.0) < 1e-7  # float32 storage of a table rescaled to exactly 1
    assert 4.3 < table[-1] < 4.5


def test_channel_abs_max_and_ones_for_zeros():
    x = _rng(1).standard_normal((3, 5, 17)).astype(np.float32)
    x[1, :, 4] = 0.0
    out = K.channel_abs_max(x, np.empty((3, 17), np.float32))
    np.testing.assert_array_equal(out, np.abs(x).max(axis=1))
    K.ones_for_zeros(out)
    assert out[1, 4] == 1.0 and np.all(out > 0)


@pytest.mark.parametrize(
    "kernel, stride, padding, size",
    [(3, 1, 1, (7, 9)), (3, 2, 1, (8, 8)), (3, 2, 0, (9, 7)), (5, 1, 2, (6, 6)), (1, 2, 0, (5, 5))],
)
def test_window_reduce_is_pooling(kernel, stride, padding, size):
    maps = np.abs(_rng(2).standard_normal((2, *size))).astype(np.float32)
    t = torch.from_numpy(maps)[:, None]
    h = (size[0] + 2 * padding - kernel) // stride + 1
    w = (size[1] + 2 * padding - kernel) // stride + 1
    got_max = K.window_reduce(
        maps, kernel, kernel, stride, stride, padding, padding, True, np.empty((2, h, w), np.float32)
    )
    got_sum = K.window_reduce(
        maps, kernel, kernel, stride, stride, padding, padding, False, np.empty((2, h, w), np.float32)
    )
    np.testing.assert_array_equal(got_max, F.max_pool2d(t, kernel, stride, padding)[:, 0].numpy())
    reference = kernel * kernel * F.avg_pool2d(t.double(), kernel, stride, padding)[:, 0].numpy()
    np.testing.assert_allclose(got_sum, reference, rtol=1e-5)


@pytest.mark.parametrize("levels", [127, 0])
def test_quantise_pixels_is_the_dac_rounding(levels):
    x = _rng(3).standard_normal((2, 4, 11)).astype(np.float32)
    scale = (np.abs(x).max(axis=1) * 1.3 + 0.1).astype(np.float32)
    x_q, squares = np.empty_like(x), np.empty_like(x)
    abs_sum, square_sum = np.empty((2, 11), np.float32), np.empty((2, 11), np.float32)
    K.quantise_pixels(x, scale, levels, x_q, squares, abs_sum, square_sum)
    lv = np.float32(levels)
    expected = (np.round(x / scale[:, None] * lv) * (scale[:, None] / lv)).astype(np.float32) if levels else x
    np.testing.assert_array_equal(x_q, expected)
    np.testing.assert_array_equal(squares, x_q * x_q)
    np.testing.assert_allclose(abs_sum, np.abs(x_q).sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(square_sum, (x_q * x_q).sum(axis=1), rtol=1e-6)


def _readout_inputs(batch=4, outputs=6, pixels=50, seed=4):
    r = _rng(seed)
    y = r.standard_normal((batch, outputs, pixels)).astype(np.float32)
    slope = (0.05 * r.standard_normal((batch, outputs, pixels))).astype(np.float32)
    scale = (0.5 + r.random((batch, pixels))).astype(np.float32)
    abs_sum = (scale * (5 + r.random((batch, pixels)))).astype(np.float32)
    squares = (scale * scale * (2 + r.random((batch, pixels)))).astype(np.float32)
    per_output = [r.random(outputs).astype(np.float32) * f for f in (1e-3, 1e-3, 1.0, 0.1)]
    per_output[2] += 0.5  # gains around 1
    return (y, slope), abs_sum, scale, squares, per_output


def _readout(y_slope, abs_sum, scale, squares, per_output, seed, noisy, inverse_m=0.17):
    y, slope = y_slope
    adc, read, gain, offset = per_output
    out = y.copy()
    K.noisy_readout(
        out,
        slope,
        abs_sum,
        scale,
        squares,
        inverse_m,
        adc,
        read,
        gain,
        offset,
        K.GAUSSIAN_TABLE,
        np.uint64(seed),
        noisy,
    )
    return out


def test_noisy_readout_mean_is_the_formula():
    (y, slope), abs_sum, scale, squares, per_output = _readout_inputs()
    _, _, gain, offset = per_output
    mu = abs_sum / scale * np.float32(0.17)
    expected = (y - (mu[:, None] - 1) * slope) * gain[None, :, None] + offset[None, :, None]
    np.testing.assert_allclose(
        _readout((y, slope), abs_sum, scale, squares, per_output, 0, False), expected, rtol=1e-5, atol=1e-6
    )
    no_slope = np.zeros((0, 0, 0), dtype=np.float32)  # a layer without IR drop
    expected = y * gain[None, :, None] + offset[None, :, None]
    np.testing.assert_allclose(
        _readout((y, no_slope), abs_sum, scale, squares, per_output, 0, False), expected, rtol=1e-5, atol=1e-6
    )


def test_noisy_readout_noise_has_the_predicted_law_and_replays():
    batch, outputs, pixels = 40, 50, 500  # 10⁶ deviates
    y, abs_sum, scale, squares, per_output = _readout_inputs(batch, outputs, pixels, seed=5)
    adc, read, gain, _ = per_output
    mean = _readout(y, abs_sum, scale, squares, per_output, 0, False)
    noisy = _readout(y, abs_sum, scale, squares, per_output, 11, True)
    sigma = (
        np.sqrt(scale[:, None] ** 2 * adc[None, :, None] + squares[:, None] * read[None, :, None]) * gain[None, :, None]
    )
    z = (noisy - mean) / sigma
    check = normality_checks(z)
    assert check.ks_p > 1e-3 and check.kurtosis_p > 1e-3, check
    assert abs(check.mean) < 4 / np.sqrt(z.size) and abs(check.std - 1.0) < 4 / np.sqrt(2 * z.size), check
    np.testing.assert_array_equal(noisy, _readout(y, abs_sum, scale, squares, per_output, 11, True))
    assert not np.array_equal(noisy, _readout(y, abs_sum, scale, squares, per_output, 12, True))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
def test_noisy_readout_is_the_same_in_any_thread_count():
    inputs = _readout_inputs(8, 16, 64, seed=6)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _readout(*inputs, 3, True)
        numba.set_num_threads(2)
        two = _readout(*inputs, 3, True)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
