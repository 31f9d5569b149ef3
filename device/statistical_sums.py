"""Fused Numba kernels of the per-plane statistics `device.statistical.derive` accumulates.

`derive` reads every DAC plane's column sums (`device.statistical.ReadSums`, (chunks, B, C) per
field) once and accumulates from them the IR fit's normal equations and the measured ADC error.
In numpy those cost a dozen full-size float64 temporaries per chunk; each kernel here makes one
pass over one chunk's (B, C) arrays, reads them in the dtype the engine produced (float32 from the
torch engine, float64 from `device.statistical.read_sums`) and accumulates in float64. No
randomness is drawn inside: the ADC error takes its N(0, 1) deviates pre-drawn from the caller's
`np.random.Generator`, so the result is the numpy formula's on the same draws. Their plain-numpy
twins are in tests/device/test_statistical.py; the two agree to float64 summation order.
"""

from __future__ import annotations

import numpy as np

from device.errors import InputError
from device.numba_config import njit

#: The five per-row products `ir_moment_sums` sums: P⁺², P⁺P⁻, P⁻², P⁺·d, P⁻·d.
IR_PRODUCTS = 5


@njit
def _ir_moment_sums(p_pos, p_neg, drop, powers, out):
    """out[l, q, c] = Σ_b powers[l, b]·prod_q[b, c], l < 3, prod = (P⁺², P⁺P⁻, P⁻², P⁺·d, P⁻·d), float64.

    Written out for three powers so that the loop over c (contiguous) vectorises.
    """
    n_batch, n_cols = p_pos.shape
    out[:] = 0.0
    for b in range(n_batch):
        w0, w1, w2 = powers[0, b], powers[1, b], powers[2, b]
        pos, neg, dro = p_pos[b], p_neg[b], drop[b]
        for c in range(n_cols):
            pp = np.float64(pos[c])
            pn = np.float64(neg[c])
            d = np.float64(dro[c])
            x0, x1, x2, x3, x4 = pp * pp, pp * pn, pn * pn, pp * d, pn * d
            out[0, 0, c] += w0 * x0
            out[0, 1, c] += w0 * x1
            out[0, 2, c] += w0 * x2
            out[0, 3, c] += w0 * x3
            out[0, 4, c] += w0 * x4
            out[1, 0, c] += w1 * x0
            out[1, 1, c] += w1 * x1
            out[1, 2, c] += w1 * x2
            out[1, 3, c] += w1 * x3
            out[1, 4, c] += w1 * x4
            out[2, 0, c] += w2 * x0
            out[2, 1, c] += w2 * x1
            out[2, 2, c] += w2 * x2
            out[2, 3, c] += w2 * x3
            out[2, 4, c] += w2 * x4


def ir_moment_sums(p_pos: np.ndarray, p_neg: np.ndarray, drop: np.ndarray, powers: np.ndarray) -> np.ndarray:
    """Σ_b μ_b^l·(P⁺², P⁺P⁻, P⁻², P⁺d, P⁻d)_bc of one chunk: (L, 5, C) float64.

    ``p_pos``, ``p_neg``, ``drop``: (B, C) position-weighted currents and F9's drop, A (any float
    dtype; C-contiguous runs fastest); ``powers``: (L, B), L ≤ 3, the row weights μ_b^l. Every
    entry of the IR fit's normal equations is one of these sums (`device.statistical._add_ir_plane`).
    """
    p_pos, p_neg, drop = (np.ascontiguousarray(a) for a in (p_pos, p_neg, drop))
    powers = np.asarray(powers, dtype=np.float64)
    if p_pos.ndim != 2 or p_neg.shape != p_pos.shape or drop.shape != p_pos.shape:
        raise InputError(
            f"p_pos, p_neg and drop must be (B, C) of one shape, got {p_pos.shape}, {p_neg.shape}, {drop.shape}"
        )
    if powers.ndim != 2 or not 1 <= powers.shape[0] <= 3 or powers.shape[1] != p_pos.shape[0]:
        raise InputError(f"powers must be (L, B) with L ≤ 3 and B = {p_pos.shape[0]}, got {powers.shape}")
    padded = np.zeros((3, p_pos.shape[0]))
    padded[: powers.shape[0]] = powers
    out = np.empty((3, IR_PRODUCTS, p_pos.shape[1]))
    _ir_moment_sums(p_pos, p_neg, drop, padded, out)
    return out[: powers.shape[0]]


@njit
def _adc_error_sums(linear, drop, read_variance, z, full_scale, adc_noise, adc_bits, out):
    """out[c] = Σ_b e²_bc, e = ADC(v) − v, v = (linear − drop) + σ·z, σ² = (adc_noise·FS_c)² + read_variance; returns #clipped.

    ``drop`` and ``read_variance`` may have zero rows (shape (0, 0)): no IR drop, no read noise.
    ADC: code = clip(rint(v/lsb), −2^(b−1), 2^(b−1) − 1), lsb = FS/2^(b−1); a conversion clips
    when v ≥ FS − lsb/2 or v < −FS − lsb/2 (codes ±2^(b−1)).
    """
    n_batch, n_cols = linear.shape
    has_drop = drop.shape[0] > 0
    has_read_noise = read_variance.shape[0] > 0
    half = 2.0 ** (adc_bits - 1)
    clipped = 0
    out[:] = 0.0
    for b in range(n_batch):
        for c in range(n_cols):
            current = np.float64(linear[b, c])
            if has_drop:
                current = current - np.float64(drop[b, c])
            fs = full_scale[c]
            variance = (adc_noise * fs) ** 2
            if has_read_noise:
                variance = variance + np.float64(read_variance[b, c])
            value = current + np.sqrt(variance) * z[b, c]
            lsb = fs / half
            code = min(max(np.rint(value / lsb), -half), half - 1.0)
            error = code * lsb - value
            out[c] += error * error
            if value >= fs - 0.5 * lsb or value < -fs - 0.5 * lsb:
                clipped += 1
    return clipped


def adc_error_sums(
    linear, drop, read_variance, z, full_scale, adc_noise: float, adc_bits: int
) -> tuple[np.ndarray, int]:
    """(Σ_b e² per column (C,) float64, clipped conversions) of one chunk's ADC on the exact path.

    ``linear`` (B, C) the current without IR drop and ``drop`` (B, C) F9's drop (None: none), A;
    ``read_variance`` (B, C) the read noise's variance, A² (None: none); ``z`` (B, C) N(0, 1)
    deviates (float64); ``full_scale`` (C,) the ADC range, A; ``adc_noise`` relative to it;
    ``adc_bits`` ≥ 1. The formula of `device.statistical.adc_errors`, fused.
    """
    linear = np.ascontiguousarray(linear)
    if linear.ndim != 2:
        raise InputError(f"linear must be (B, C), got shape {linear.shape}")
    empty = np.zeros((0, 0), dtype=linear.dtype)
    drop = empty if drop is None else np.ascontiguousarray(drop)
    read_variance = empty if read_variance is None else np.ascontiguousarray(read_variance)
    z = np.ascontiguousarray(z, dtype=np.float64)
    full_scale = np.ascontiguousarray(full_scale, dtype=np.float64)
    for name, array in (("drop", drop), ("read_variance", read_variance)):
        if array.shape[0] and array.shape != linear.shape:
            raise InputError(f"{name} must have the shape of linear {linear.shape}, got {array.shape}")
    if z.shape != linear.shape or full_scale.shape != (linear.shape[1],):
        raise InputError(
            f"z must be {linear.shape} and full_scale ({linear.shape[1]},), got {z.shape} and {full_scale.shape}"
        )
    if adc_bits < 1:
        raise InputError(f"adc_bits must be ≥ 1, got {adc_bits}")
    out = np.empty(linear.shape[1])
    clipped = _adc_error_sums(linear, drop, read_variance, z, full_scale, float(adc_noise), int(adc_bits), out)
    return out, int(clipped)
