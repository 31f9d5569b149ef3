"""Plain-Python twins of the random-source kernels (house rule 4), slow on purpose and easy to read.

- `splitmix64`, `seed_states`, `Xoshiro256ss`: xoshiro256** streams seeded by splitmix64
  (Blackman & Vigna, ACM TOMS 47, 2021), written with Python ints masked to 64 bits; twins of
  `device.random_streams._seed_states`, `next_u64`, `next_uniform`, `new_stream_states`.
- `bernoulli_word`: the comparison u < p made lane by lane. Each of the 64 lanes owns a uniform u
  whose binary digits are the lane's bits of successive stream outputs (most significant digit
  first); the lane's bit is 1 iff its drawn prefix of u is below p's prefix of the same length.
  Digits are drawn only while some lane still agrees with p on every digit so far *and* p has a
  nonzero digit left, which are the kernel's two early exits (they decide how many stream outputs
  a word consumes). Twin of `device.bernoulli._bernoulli_word`.
- `draw_words`: twin of `device.bernoulli.draw_words` (with ``xor_pairs``).
- `read_bits`, `inverse_cdf_samples`, `clt_samples`: twins of `device.gaussian`'s conversion,
  reading the bit stream one bit at a time (bit 0 of each word first).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy.special import ndtri

MASK64 = (1 << 64) - 1
PROBABILITY_BITS = 32


# ----------------------------------------------------------------------------------------------
# splitmix64 + xoshiro256**
# ----------------------------------------------------------------------------------------------


def splitmix64(x: int) -> tuple[int, int]:
    """One splitmix64 step: returns (new state, output)."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return x, z ^ (z >> 31)


def splitmix64_outputs(seed: int, n: int) -> list[int]:
    """The first ``n`` outputs of splitmix64 started at ``seed``."""
    out = []
    x = seed & MASK64
    for _ in range(n):
        x, z = splitmix64(x)
        out.append(z)
    return out


def seed_states(seeds) -> np.ndarray:
    """(n, 4) uint64 xoshiro states: row i is the first four splitmix64 outputs of seeds[i]."""
    rows = [splitmix64_outputs(int(s), 4) for s in seeds]
    return np.array(rows, dtype=np.uint64).reshape(len(rows), 4)


def new_stream_states(n_streams: int, rng: np.random.Generator) -> np.ndarray:
    """Same draws from ``rng`` as `device.random_streams.new_stream_states`, then `seed_states`."""
    seeds = rng.integers(0, np.iinfo(np.uint64).max, size=n_streams, dtype=np.uint64, endpoint=True)
    return seed_states(seeds)


def rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class Xoshiro256ss:
    """One xoshiro256** stream over Python ints."""

    def __init__(self, state) -> None:
        self.s = [int(v) & MASK64 for v in state]

    def next_u64(self) -> int:
        s = self.s
        result = (rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def next_uniform(self) -> float:
        """Top 53 bits of the next output, scaled to [0, 1)."""
        return (self.next_u64() >> 11) / 2.0**53

    def next_normal_pair(self) -> tuple[float, float]:
        """Box–Muller with u1 in (0, 1] (math module: libm, as Numba calls)."""
        u1 = 1.0 - self.next_uniform()
        u2 = self.next_uniform()
        radius = math.sqrt(-2.0 * math.log(u1))
        return radius * math.cos(2.0 * math.pi * u2), radius * math.sin(2.0 * math.pi * u2)

    def state(self) -> list[int]:
        return list(self.s)


def streams_from_array(states: np.ndarray) -> list[Xoshiro256ss]:
    """One `Xoshiro256ss` per row of a (n, 4) uint64 state array (the array is not touched)."""
    return [Xoshiro256ss(row) for row in np.asarray(states, dtype=np.uint64).tolist()]


def streams_to_array(streams: list[Xoshiro256ss]) -> np.ndarray:
    return np.array([g.state() for g in streams], dtype=np.uint64).reshape(len(streams), 4)


# ----------------------------------------------------------------------------------------------
# Bernoulli words
# ----------------------------------------------------------------------------------------------


def threshold_of(p: float) -> int:
    """floor(p·2³²) with exact integer arithmetic on the float's value (p in [0, 1])."""
    return math.floor(Fraction(p) * 2**PROBABILITY_BITS)


def bernoulli_word(stream: Xoshiro256ss, threshold: int) -> int:
    """64 lanes of "u < p", p = threshold/2³², decided one lane at a time.

    After d digits lane j holds ``prefix[j]``, the integer formed by u_j's first d binary digits;
    p's first d digits are ``threshold >> (32 - d)``. A lane is still undecided while the two
    prefixes are equal.
    """
    threshold = int(threshold)
    if threshold >= 2**PROBABILITY_BITS:
        return MASK64  # p = 1: every cycle switches, no stream output is used
    prefix = [0] * 64
    drawn = 0
    while drawn < PROBABILITY_BITS:
        p_prefix = threshold >> (PROBABILITY_BITS - drawn)
        p_rest = threshold & ((1 << (PROBABILITY_BITS - drawn)) - 1)
        if p_rest == 0:
            break  # p's remaining digits are all zero: an equal lane already has u >= p
        if drawn > 0 and all(prefix[j] != p_prefix for j in range(64)):
            break  # every lane is decided
        digits = stream.next_u64()
        for j in range(64):
            prefix[j] = 2 * prefix[j] + ((digits >> j) & 1)
        drawn += 1
    p_prefix = threshold >> (PROBABILITY_BITS - drawn)
    word = 0
    for j in range(64):
        if prefix[j] < p_prefix:  # equal prefixes mean u >= p
            word |= 1 << j
    return word


def popcount(x: int) -> int:
    return bin(int(x)).count("1")


def draw_words(states: np.ndarray, thresholds, n_rounds: int, xor_pairs: bool = False):
    """Twin of `device.bernoulli.draw_words`; returns ``(words, raw_ones, final_states)``.

    Unlike the kernel it leaves ``states`` untouched and returns the advanced states instead.
    """
    streams = streams_from_array(states)
    n_devices = len(streams)
    words = np.zeros((n_rounds, n_devices), dtype=np.uint64)  # (round, device), as the kernel
    ones = np.zeros(n_devices, dtype=np.int64)
    for i in range(n_devices):
        for r in range(n_rounds):
            w = bernoulli_word(streams[i], int(thresholds[i]))
            ones[i] += popcount(w)
            if xor_pairs:
                w2 = bernoulli_word(streams[i], int(thresholds[i]))
                ones[i] += popcount(w2)
                w ^= w2
            words[r, i] = w
    return words, ones, streams_to_array(streams)


def words_to_bits(words) -> list[int]:
    """The bit stream: words in row-major order, bit 0 of each word first."""
    bits = []
    for w in np.asarray(words, dtype=np.uint64).ravel().tolist():
        bits.extend((w >> j) & 1 for j in range(64))
    return bits


# ----------------------------------------------------------------------------------------------
# Gaussian conversion
# ----------------------------------------------------------------------------------------------


def read_bits(bits: list[int], start: int, n_bits: int) -> int:
    """Integer value of stream bits [start, start + n_bits), bit ``start`` least significant."""
    return sum(bits[start + i] << i for i in range(n_bits))


def inverse_cdf_samples(words, bits_per_sample: int, n_samples: int) -> np.ndarray:
    """z_s = Φ⁻¹((k_s + ½)/2ᵇ) where k_s is the b-bit chunk s of the stream (float64)."""
    stream = words_to_bits(words)
    out = np.empty(n_samples, dtype=np.float64)
    for s in range(n_samples):
        k = read_bits(stream, s * bits_per_sample, bits_per_sample)
        out[s] = ndtri((k + 0.5) / 2.0**bits_per_sample)
    return out


def clt_samples(words, bits_per_sample: int, n_samples: int) -> np.ndarray:
    """z_s = (popcount of K-bit chunk s − K/2)·(1/sqrt(K/4)) (float64).

    The product by the reciprocal (rather than a division) is the kernel's own rounding order, so
    the twin agrees to the last bit.
    """
    stream = words_to_bits(words)
    k = bits_per_sample
    scale = 1.0 / math.sqrt(k / 4.0)
    out = np.empty(n_samples, dtype=np.float64)
    for s in range(n_samples):
        total = popcount(read_bits(stream, s * k, k))
        out[s] = (total - k / 2.0) * scale
    return out
