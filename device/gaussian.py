"""Gaussian noise for the diffusion sampler, made from MTJ random bits.

Two methods, both reading consecutive, non-overlapping chunks of the bit stream (bit 0 of each
64-bit word first, words in stream order), so every sample has a fixed cost in device bits:

- ``inverse_cdf`` (default): a b-bit word k is mapped to z = Φ⁻¹((k + ½)/2ᵇ). With calibrated bits
  the output is N(0, 1) quantised to 2ᵇ levels; the largest |z| is Φ⁻¹(1 − 2⁻⁽ᵇ⁺¹⁾) (4.32 at
  b = 16). Φ⁻¹ is tabulated once per b (`scipy.special.ndtri`). Cost: b bits per sample.
- ``clt``: the standardised sum of K bits, z = (Σ bits − K/2)/sqrt(K/4) (central-limit theorem;
  the hardware cannot know each device's true p, so it standardises with p = ½). It is discrete
  (K + 1 levels) with excess kurtosis −2/K, so a KS test at 10⁶ samples rejects it for any
  practical K; spindiff offers it because it is the cheapest circuit (a counter). Cost: K bits.

`GaussianMethod` (which method, how many bits) lives in `device.gaussian_parameters`, which imports
neither numba nor scipy, and is re-exported here.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import prange
from scipy.special import ndtri

from device.bernoulli import popcount
from device.errors import InputError
from device.gaussian_parameters import (  # noqa: F401 - re-exported: the parameters live in the numba-free module
    CLT_BITS,
    INVERSE_CDF_BITS,
    METHODS,
    GaussianMethod,
)
from device.numba_config import njit

_U64 = np.uint64


@lru_cache(maxsize=8)
def inverse_cdf_table(bits: int, dtype: str = "float64") -> np.ndarray:
    """Φ⁻¹((k + ½)/2ᵇ) for k = 0 … 2ᵇ − 1, computed in float64, stored as ``dtype`` (read-only)."""
    table = ndtri((np.arange(2**bits, dtype=np.float64) + 0.5) / 2.0**bits).astype(dtype)
    table.flags.writeable = False
    return table


@njit
def _read_bits(words, start, n_bits):
    """Integer value of stream bits [start, start + n_bits), bit ``start`` least significant (n_bits ≤ 64)."""
    index = start // 64
    offset = start % 64
    value = words[index] >> _U64(offset)
    taken = 64 - offset
    if taken < n_bits:
        value |= words[index + 1] << _U64(taken)
    if n_bits < 64:
        value &= (_U64(1) << _U64(n_bits)) - _U64(1)
    return value


@njit(parallel=True)
def _inverse_cdf(words, bits, table, out):
    for s in prange(out.shape[0]):
        out[s] = table[_read_bits(words, s * bits, bits)]


@njit(parallel=True)
def _clt(words, bits, out):
    mean = bits / 2.0
    scale = 1.0 / math.sqrt(bits / 4.0)
    for s in prange(out.shape[0]):
        start = s * bits
        total = 0
        done = 0
        while done < bits:
            take = min(64, bits - done)
            total += popcount(_read_bits(words, start + done, take))
            done += take
        out[s] = (total - mean) * scale


def samples_from_words(words: np.ndarray, method: GaussianMethod, n_samples: int, dtype="float64") -> np.ndarray:
    """``n_samples`` N(0, 1) samples from the stream held in ``words`` (flattened).

    ``dtype`` is float64 or float32; float32 uses a float32 table (half the cache footprint) and
    gives exactly the float64 result rounded to float32.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
        raise InputError(f"n_samples must be a non-negative integer, got {n_samples!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InputError(f"dtype must be float32 or float64, got {dtype}")
    flat = np.ascontiguousarray(words, dtype=np.uint64).ravel()
    needed = method.words_needed(n_samples)
    if flat.shape[0] < needed:
        raise InputError(f"{n_samples} samples need {needed} words of bits, got {flat.shape[0]}")
    # one spare word so _read_bits may look one word ahead without a bounds check
    padded = np.concatenate([flat[:needed], np.zeros(1, dtype=np.uint64)])
    out = np.empty(n_samples, dtype=dtype)
    if method.name == "inverse_cdf":
        _inverse_cdf(padded, method.bits_per_sample, inverse_cdf_table(method.bits_per_sample, dtype.name), out)
    else:
        _clt(padded, method.bits_per_sample, out)
    return out
