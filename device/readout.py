"""Column read-out kernel: read noise, ADC input noise, ADC quantisation and accumulation, fused.

One pass over the (batch × column-pair) currents of a tile row, instead of the half-dozen numpy
temporaries the same maths needs. Randomness enters as explicit per-batch-row xoshiro256** streams
(`device.random_streams`), seeded from the caller's `np.random.Generator`, so the result does not
depend on the thread count (house rule 4). Its plain-numpy twin is `read_out_accumulate` in
tests/device/naive_crossbar.py; tests/device/test_readout.py compares the two draw for draw.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from device.errors import InputError
from device.gaussian import inverse_cdf_table
from device.numba_config import njit
from device.random_streams import next_u64

#: Noise deviates are 16-bit inverse-CDF samples: Φ⁻¹((k + ½)/2¹⁶), four per 64-bit stream output.
#: Quantised to 65536 levels and bounded by |z| ≤ 4.32 — irrelevant for read noise, and 4× fewer
#: random words and no transcendental functions against Box–Muller (the kernel's former cost).
NOISE_TABLE_BITS = 16


@njit(parallel=True)
def _read_out_accumulate(current, noise_std, full_scale, adc_noise, adc_bits, weight, states, table, out):
    """out[b, c] += weight · ADC(current[b, c] + σ[b, c]·ξ),  σ² = noise_std[b, c]² + (adc_noise·full_scale[c])².

    Read noise and ADC input noise are independent Gaussians, so their sum is one Gaussian with the
    summed variance: one deviate per element. ``noise_std`` may have zero rows (shape (0, 0)) for
    no read noise. Row b's stream yields 64-bit words; its elements take the words' 16-bit fields
    in order, lowest first, each mapped through ``table`` (Φ⁻¹ of the field's midpoint).
    """
    n_batch, n_cols = current.shape
    has_read_noise = noise_std.shape[0] > 0
    noisy = has_read_noise or adc_noise > 0.0
    half = 2.0 ** (adc_bits - 1) if adc_bits > 0 else 0.0
    mask = np.uint64(0xFFFF)
    shift = np.uint64(16)
    for b in prange(n_batch):
        word = np.uint64(0)
        left = 0
        for c in range(n_cols):
            value = np.float64(current[b, c])
            if noisy:
                if left == 0:
                    word = next_u64(states, b)
                    left = 4
                z = table[word & mask]
                word = word >> shift
                left -= 1
                variance = (adc_noise * full_scale[c]) ** 2
                if has_read_noise:
                    variance += np.float64(noise_std[b, c]) ** 2
                value += np.sqrt(variance) * z
            if adc_bits > 0:
                lsb = full_scale[c] / half
                code = np.rint(value / lsb)
                if code < -half:
                    code = -half
                elif code > half - 1.0:
                    code = half - 1.0
                value = code * lsb
            out[b, c] += weight * value


def read_out_accumulate(current, noise_std, full_scale, adc_noise, adc_bits, weight, states, out) -> None:
    """Validated wrapper of the fused kernel; ``out`` (B, C) float64 is updated in place."""
    if not isinstance(adc_bits, (int, np.integer)) or not (adc_bits == 0 or 2 <= adc_bits <= 14):
        raise InputError(f"adc_bits must be 0 or in [2, 14], got {adc_bits!r}")
    if not (np.isfinite(adc_noise) and adc_noise >= 0):
        raise InputError(f"adc_noise must be a finite number >= 0, got {adc_noise!r}")
    if np.any(~np.isfinite(full_scale)) or np.any(np.asarray(full_scale) <= 0):
        raise InputError("full_scale must be finite and > 0 for every column")
    if current.shape != out.shape or current.dtype not in (np.float32, np.float64) or out.dtype != np.float64:
        raise InputError(
            f"current (float32/64) and out (float64) must have one shape, got {current.dtype}{current.shape}, {out.dtype}{out.shape}"
        )
    if noise_std is None:
        noise_std = np.zeros((0, 0), dtype=current.dtype)
    elif noise_std.shape != current.shape:
        raise InputError(f"noise_std must match current's shape {current.shape}, got {noise_std.shape}")
    if full_scale.shape != (current.shape[1],):
        raise InputError(f"full_scale must have one entry per column ({current.shape[1]}), got {full_scale.shape}")
    if states.shape != (current.shape[0], 4) or states.dtype != np.uint64:
        raise InputError(f"states must be ({current.shape[0]}, 4) uint64, got {states.dtype}{states.shape}")
    _read_out_accumulate(
        np.ascontiguousarray(current),
        np.ascontiguousarray(noise_std),
        np.ascontiguousarray(full_scale, dtype=np.float64),
        float(adc_noise),
        int(adc_bits),
        float(weight),
        states,
        inverse_cdf_table(NOISE_TABLE_BITS),
        out,
    )


def adc_quantise(value, full_scale, adc_bits):
    """Plain-numpy ADC: round to the LSB full_scale/2^(b−1) and clip to [−2^(b−1), 2^(b−1) − 1] codes."""
    if adc_bits == 0:
        return value
    half = 2.0 ** (adc_bits - 1)
    lsb = full_scale / half
    return np.clip(np.rint(value / lsb), -half, half - 1.0) * lsb
