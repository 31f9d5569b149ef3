"""Numba kernels of the statistical model's convolution form on the CPU (float32 numpy arrays).

`diffusion.chip.crossbar_statistical.StatisticalCrossbar.conv_moments` applies a layer's
`device.statistical.StatisticalModel` to a convolution's input in torch; around its one native
convolution that form needs a dozen elementwise passes over the input and the output (DAC
quantisation, the channel sums that give μ and the read-noise variance, the IR gain, the noise
draw, the square root of the variance). On the CPU these kernels fuse them into three passes, with
the Gaussian deviates drawn in the same pass (`device.random_streams.gaussian_table`: ~0.8 ns
each, against ~4 ns for torch's ``normal_``):

* `channel_abs_max` — max_c |x_bcp| per pixel (the DAC scale's ingredient), and
  `window_reduce` — its max (or a map's sum) over every patch;
* `quantise_pixels` — x_q = round(x/s_bp·L)·(s_bp/L) with every pixel's scale s_bp, x_q², and the
  per-pixel channel sums Σ_c |x_q| and Σ_c x_q²;
* `noisy_readout` — in place, y ← (y − (μ_bp − 1)·slope_bnp + σ_bnp·ξ)·g_n + o_n with
  μ = Σ_patch |x_q|/(s·m̄), σ² = s_bp²·A_n + S_bp·R̄_n and ξ ~ N(0, 1) from per-row streams
  seeded by one 64-bit word.

Every kernel writes into arrays the caller passes (``out`` …): on these virtual machines a fresh
multi-megabyte buffer costs more in page faults (measured: 3–13 ns per float32) than the kernel's
arithmetic (0.5 ns), so the caller keeps one workspace per shape and reuses it.

Shapes: inputs (B, C, P) and outputs (B, N, P) with P = H·W flattened; per-pixel maps (B, P) or
(B, H, W); per-output vectors (N,). The arithmetic is the torch form's, operation for operation, so the mean
agrees with it to float32 rounding (tests/device/test_statistical_kernels.py); the noise is drawn
from a different generator and agrees in distribution.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from device.numba_config import njit
from device.random_streams import gaussian_table, seeded_state, xoshiro_step

_U64 = np.uint64
_MASK16 = np.uint64(0xFFFF)

#: The N(0, 1) table the noise is drawn from (2^16 cells, float32).
GAUSSIAN_TABLE = gaussian_table()


@njit(parallel=True)
def channel_abs_max(x, out):
    """out[b, p] = max_c |x[b, c, p]| for x (B, C, P) float32; out (B, P)."""
    batch, channels, pixels = x.shape
    for b in prange(batch):
        row = out[b]
        row[:] = 0.0
        for c in range(channels):
            plane = x[b, c]
            for p in range(pixels):
                a = abs(plane[p])
                row[p] = a if a > row[p] else row[p]
    return out


@njit(parallel=True)
def ones_for_zeros(a):
    """In place: a zero DAC scale (an all-zero patch) becomes 1, as the torch form's ``where(s > 0, s, 1)``."""
    flat = a.reshape(-1)
    for i in prange(flat.size):
        if flat[i] == 0.0:
            flat[i] = 1.0
    return a


@njit(parallel=True)
def quantise_pixels(x, pixel_scale, levels, x_q, squares, abs_sum, square_sum):
    """Fill x_q, x_q² (B, C, P) and the channel sums Σ_c |x_q|, Σ_c x_q² (B, P) for x (B, C, P) float32.

    ``pixel_scale`` (B, P) > 0; ``levels`` L = 2^(b−1) − 1 (0: no rounding, x_q = x).
    x_q = round(x/s·L)·(s/L), rounding half to even as ``torch.round`` does.
    """
    batch, channels, pixels = x.shape
    lv = np.float32(levels)
    for b in prange(batch):
        scale = pixel_scale[b]
        step = np.empty(pixels, dtype=np.float32)
        for p in range(pixels):
            step[p] = scale[p] / lv if levels else np.float32(1.0)
        a_row = abs_sum[b]
        s_row = square_sum[b]
        a_row[:] = 0.0
        s_row[:] = 0.0
        for c in range(channels):
            source = x[b, c]
            target = x_q[b, c]
            square = squares[b, c]
            for p in range(pixels):
                v = source[p]
                if levels:
                    v = np.float32(np.round(v / scale[p] * lv)) * step[p]
                target[p] = v
                v2 = v * v
                square[p] = v2
                a_row[p] += abs(v)
                s_row[p] += v2
    return x_q


@njit(parallel=True)
def noisy_readout(
    y, slope, abs_sum, scale, squares, inverse_mean_magnitude, adc_var, mean_read, gain, offset, table, seed, noisy
):
    """In place on y (B, N, P): y ← (y − (μ − 1)·slope + √(s²·A_n + S·R̄_n)·ξ)·g_n + o_n.

    ``slope`` (B, N, P): x_q @ W_ir per patch (the IR drop's first-order term), or an empty
    (0, 0, 0) array when the layer has no IR drop. Per patch (B, P) maps: ``abs_sum`` Σ|x_q|,
    ``scale`` s, ``squares`` S = Σ x_q²; μ = Σ|x_q|/s·``inverse_mean_magnitude``. ``adc_var`` A,
    ``mean_read`` R̄, ``gain`` g, ``offset`` o: (N,). ξ = ``table``[16-bit index], four indices per
    xoshiro256** word, stream b·N + n seeded from ``seed`` (`seeded_state`), so the draws do not
    depend on the thread schedule. ``noisy`` False skips the noise (σ = 0).
    """
    batch, outputs, pixels = y.shape
    has_slope = slope.shape[0] > 0
    one = np.float32(1.0)
    zero = np.float32(0.0)
    inverse_m = np.float32(inverse_mean_magnitude)
    for b in prange(batch):
        a_map = abs_sum[b]
        s_map = scale[b]
        sq = squares[b]
        z = np.zeros(pixels + 3, dtype=np.float32)  # one row's deviates, drawn first so the loops below vectorise
        drop = np.zeros(pixels, dtype=np.float32)  # μ − 1 per patch
        for p in range(pixels):
            drop[p] = a_map[p] / s_map[p] * inverse_m - one
        for n in range(outputs):
            values = y[b, n]
            g_out = gain[n]
            o_out = offset[n]
            if has_slope:
                ir = slope[b, n]
                for p in range(pixels):
                    values[p] -= drop[p] * ir[p]
            if not noisy:
                for p in range(pixels):
                    values[p] = values[p] * g_out + o_out
                continue
            s0, s1, s2, s3 = seeded_state(seed, b * outputs + n)
            for start in range(0, pixels, 4):
                word, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
                z[start] = table[word & _MASK16]
                z[start + 1] = table[(word >> _U64(16)) & _MASK16]
                z[start + 2] = table[(word >> _U64(32)) & _MASK16]
                z[start + 3] = table[word >> _U64(48)]
            a_n = adc_var[n]
            r_n = mean_read[n]
            for p in range(pixels):
                s_p = s_map[p]
                variance = s_p * s_p * a_n + sq[p] * r_n
                sigma = np.sqrt(variance if variance > zero else zero)
                values[p] = (values[p] + sigma * z[p]) * g_out + o_out
    return y


@njit(parallel=True)
def window_reduce(maps, kh, kw, stride_h, stride_w, pad_h, pad_w, maximum, out):
    """Max (``maximum``) or sum of non-negative per-pixel ``maps`` (B, H, W) over every k×k patch → out (B, H', W').

    The patches are `F.conv2d`'s with that stride and zero padding; padding adds 0, which for the
    maximum of magnitudes |x| ≥ 0 is max pooling's −∞ padding.
    """
    batch, height, width = maps.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for b in prange(batch):  # separable: along rows into ``across``, then down the columns
        plane = maps[b]
        across = np.zeros((height, out_w), dtype=np.float32)
        for j in range(out_w):
            left = j * stride_w - pad_w
            for kj in range(max(0, -left), min(kw, width - left)):
                column = left + kj
                for i in range(height):
                    across[i, j] = max(across[i, j], plane[i, column]) if maximum else across[i, j] + plane[i, column]
        target = out[b]
        target[:, :] = 0.0
        for i in range(out_h):
            top = i * stride_h - pad_h
            for ki in range(max(0, -top), min(kh, height - top)):
                source = across[top + ki]
                for j in range(out_w):
                    target[i, j] = max(target[i, j], source[j]) if maximum else target[i, j] + source[j]
    return out
