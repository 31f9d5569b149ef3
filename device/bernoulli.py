"""Bit-level kernels of the MTJ random source: Bernoulli(p_i) cycles of N devices, 64 at a time.

Each device i switches in a write cycle with its own probability p_i (from the compact model of
`device.mtj`). The emulator draws the outcome of 64 consecutive cycles of one device at once, as one
uint64 word whose bit j is cycle j, by a *bit-sliced comparison* u < p over 64 lanes: the binary
digits of 64 uniform numbers u are drawn most-significant first, one random word per digit, and a
lane is decided at its first digit that differs from p's. Lanes still undecided when the remaining
digits of p are all zero are 0 (u ≥ p). This gives exactly P(bit = 1) = floor(p·2³²)/2³² with on
average about 8 random words per 64 bits instead of 64 (and 1 word when p = 1/2 exactly), and it is
bit-identical to the per-lane comparison in tests/device/naive_bernoulli.py.

Random streams: one xoshiro256** stream per device (`device.random_streams`), so results do not
depend on the thread count. Output layout: ``words[r, i]`` is round r of device i, and the bit stream is ``words.ravel()`` with
bit 0 of each word first: the devices are interleaved word by word, as a parallel read of the whole
array interleaves them. (Device-major order would put 64·n_rounds consecutive bits of one device
together, and its residual calibration bias then shows up as drift in the cumulative-sums test.)
The kernel writes each device's words contiguously, which keeps the parallel writes
cache-friendly, and the wrapper transposes.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from device.errors import InputError
from device.numba_config import njit
from device.random_streams import next_u64

_U64 = np.uint64
PROBABILITY_BITS = 32  # fixed-point resolution of p
_SCALE = float(2**PROBABILITY_BITS)


def probability_thresholds(probabilities: np.ndarray) -> np.ndarray:
    """p in [0, 1] → uint64 fixed-point thresholds floor(p·2³²), clipped to [0, 2³²]."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 1:
        raise InputError(f"probabilities must be 1-D (one per device), got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        bad = p[~(np.isfinite(p) & (p >= 0) & (p <= 1))][0]
        raise InputError(f"switching probabilities must lie in [0, 1], got {bad!r}")
    return np.floor(p * _SCALE).astype(np.uint64)


@njit
def _bernoulli_word(states, row, threshold):
    """64 Bernoulli(threshold/2³²) lanes from stream ``row``: the bit-sliced comparison u < p."""
    if threshold >= _U64(1) << _U64(PROBABILITY_BITS):
        return ~_U64(0)
    result = _U64(0)
    undecided = ~_U64(0)
    for k in range(PROBABILITY_BITS):
        shift = _U64(PROBABILITY_BITS - 1 - k)
        remaining = threshold & ((_U64(1) << (shift + _U64(1))) - _U64(1))
        if remaining == _U64(0):
            break  # p's remaining digits are zero: undecided lanes have u >= p
        digits = next_u64(states, row)
        if (threshold >> shift) & _U64(1):
            result |= undecided & ~digits
            undecided &= digits
        else:
            undecided &= ~digits
        if undecided == _U64(0):
            break
    return result


@njit(parallel=True)
def _fill_words(states, thresholds, xor_pairs, words, ones):
    n_devices, n_rounds = words.shape
    for i in prange(n_devices):
        count = 0
        for r in range(n_rounds):
            w = _bernoulli_word(states, i, thresholds[i])
            count += popcount(w)
            if xor_pairs:
                w2 = _bernoulli_word(states, i, thresholds[i])
                count += popcount(w2)
                w ^= w2
            words[i, r] = w
        ones[i] = count


@njit(parallel=True)
def _count_ones(states, thresholds, n_rounds, ones):
    for i in prange(thresholds.shape[0]):
        count = 0
        for _ in range(n_rounds):
            count += popcount(_bernoulli_word(states, i, thresholds[i]))
        ones[i] = count


@njit
def popcount(x):
    """Number of set bits of a uint64 (SWAR popcount)."""
    x = x - ((x >> _U64(1)) & _U64(0x5555555555555555))
    x = (x & _U64(0x3333333333333333)) + ((x >> _U64(2)) & _U64(0x3333333333333333))
    x = (x + (x >> _U64(4))) & _U64(0x0F0F0F0F0F0F0F0F)
    return int((x * _U64(0x0101010101010101)) >> _U64(56))


def _check_arrays(states: np.ndarray, thresholds: np.ndarray, n_rounds) -> None:
    if not isinstance(thresholds, np.ndarray) or thresholds.dtype != np.uint64 or thresholds.ndim != 1:
        raise InputError(
            "thresholds must be a 1-D uint64 array from probability_thresholds(), got "
            f"{getattr(thresholds, 'dtype', type(thresholds).__name__)} {getattr(thresholds, 'shape', '')}"
        )
    n_devices = thresholds.shape[0]
    if not isinstance(states, np.ndarray) or states.dtype != np.uint64 or states.shape != (n_devices, 4):
        raise InputError(
            f"states must be a ({n_devices}, 4) uint64 array, got "
            f"{getattr(states, 'dtype', type(states).__name__)} {getattr(states, 'shape', '')}"
        )
    if not isinstance(n_rounds, (int, np.integer)) or n_rounds < 0:
        raise InputError(f"n_rounds must be a non-negative integer, got {n_rounds!r}")


def draw_words(states: np.ndarray, thresholds: np.ndarray, n_rounds: int, xor_pairs: bool = False):
    """``n_rounds`` words of 64 cycles from every device; advances ``states`` in place.

    Returns ``(words, raw_ones)``: words of shape (n_rounds, n_devices) uint64 and, per device, the
    number of raw cycles that switched (before XOR), which the cost ledger charges reset pulses for.
    With ``xor_pairs`` each output word is the XOR of two raw words (von Neumann-free whitening that
    shrinks a bias ε to 2ε², at twice the cycles).
    """
    _check_arrays(states, thresholds, n_rounds)
    words = np.empty((thresholds.shape[0], n_rounds), dtype=np.uint64)
    ones = np.empty(thresholds.shape[0], dtype=np.int64)
    _fill_words(states, thresholds, bool(xor_pairs), words, ones)
    return np.ascontiguousarray(words.T), ones


def count_ones(states: np.ndarray, thresholds: np.ndarray, n_rounds: int) -> np.ndarray:
    """Per-device number of switched cycles in ``64·n_rounds`` raw cycles (a calibration window)."""
    _check_arrays(states, thresholds, n_rounds)
    ones = np.empty(thresholds.shape[0], dtype=np.int64)
    _count_ones(states, thresholds, int(n_rounds), ones)
    return ones


def words_to_bits(words: np.ndarray) -> np.ndarray:
    """Flatten words (any shape, uint64) into the bit stream, bit 0 of each word first (uint8 0/1)."""
    flat = np.ascontiguousarray(words, dtype=np.uint64).ravel()
    return np.unpackbits(flat.view(np.uint8), bitorder="little")
