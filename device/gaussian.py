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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import prange
from scipy.special import ndtri

from device.bernoulli import popcount
from device.errors import InputError, ParameterError
from device.numba_config import njit

_U64 = np.uint64
METHODS = ("inverse_cdf", "clt")
INVERSE_CDF_BITS = (4, 20)  # allowed b: the table has 2**b float64 entries (8 MiB at b = 20)
CLT_BITS = (4, 4096)


@dataclass(frozen=True)
class GaussianMethod:
    """How bits become N(0, 1) samples.

    Attributes:
        name: ``"inverse_cdf"`` or ``"clt"``.
        bits_per_sample: b for inverse-CDF (4–20, default 16), K for CLT (4–4096).
    """

    name: str = "inverse_cdf"
    bits_per_sample: int = 16

    def __post_init__(self) -> None:
        if self.name not in METHODS:
            raise ParameterError(f"GaussianMethod.name must be one of {METHODS}, got {self.name!r}")
        low, high = INVERSE_CDF_BITS if self.name == "inverse_cdf" else CLT_BITS
        b = self.bits_per_sample
        if not isinstance(b, int) or isinstance(b, bool) or not low <= b <= high:
            raise ParameterError(
                f"GaussianMethod.bits_per_sample for {self.name} must be an integer in [{low}, {high}], got {b!r}"
            )

    def words_needed(self, n_samples: int) -> int:
        """64-bit words of the stream that ``n_samples`` samples consume."""
        return math.ceil(n_samples * self.bits_per_sample / 64)


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
