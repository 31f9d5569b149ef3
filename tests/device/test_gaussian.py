"""Tests for device/gaussian.py against the bit-by-bit twin in tests/device/naive_bernoulli.py.

Exactness: `samples_from_words` equals the twin exactly in float64, and its float32 output is the
float64 output rounded to float32, for inverse-CDF b in {8, 12, 16, 20} (12 and 20 do not divide
64, so samples straddle word boundaries) and CLT K in {8, 64, 100, 256} (100 straddles words and
needs two 64-bit reads per sample).

Statistics, from fair words (uniform 64-bit integers of a seeded Generator), n = 10^6 samples,
4-standard-error margins computed from the exact discrete law (uniform over the 2ᵇ table entries
for inverse-CDF; standardised Binomial(K, ½) for CLT):
- inverse-CDF b = 16: mean 0; variance = the table's exact second moment, which is within 3e-5
  of 1 (quantisation and the cut tails); KS p > 0.01; max |z| = Φ⁻¹(1 − 2⁻¹⁷) = 4.3249.
- CLT K = 64: excess kurtosis −2/K = −0.03125 (sd ≈ sqrt(24/n) = 0.0049); KS rejects (p < 1e-6),
  which is why inverse-CDF is the default.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from device import gaussian as G
from device.errors import InputError, ParameterError
from tests.device import naive_bernoulli as naive

N_STAT = 10**6


def _fair_words(n_words: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64, size=n_words, dtype=np.uint64, endpoint=False)


# --- exact agreement with the twin ---------------------------------------------------------------


@pytest.mark.parametrize("bits", [8, 12, 16, 20])
def test_inverse_cdf_equals_twin(bits):
    method = G.GaussianMethod("inverse_cdf", bits)
    n = 300
    words = _fair_words(method.words_needed(n) + 2, seed=bits).reshape(-1, 1)  # 2-D, extra words
    got = G.samples_from_words(words, method, n)
    want = naive.inverse_cdf_samples(words, bits, n)
    assert got.dtype == np.float64 and got.shape == (n,)
    np.testing.assert_array_equal(got, want)
    got32 = G.samples_from_words(words, method, n, dtype="float32")
    assert got32.dtype == np.float32
    np.testing.assert_array_equal(got32, got.astype(np.float32))
    np.testing.assert_array_equal(got32, want.astype(np.float32))


@pytest.mark.parametrize("bits", [8, 64, 100, 256])
def test_clt_equals_twin(bits):
    method = G.GaussianMethod("clt", bits)
    n = 300
    words = _fair_words(method.words_needed(n), seed=1000 + bits)  # exactly the words needed
    got = G.samples_from_words(words, method, n)
    want = naive.clt_samples(words, bits, n)
    np.testing.assert_array_equal(got, want)
    got32 = G.samples_from_words(words, method, np.int64(n), dtype=np.float32)
    assert got32.dtype == np.float32
    np.testing.assert_array_equal(got32, got.astype(np.float32))


def test_samples_straddling_words_read_low_bits_first():
    # b = 12: sample 5 takes bits 60..71, i.e. the top 4 bits of word 0 (low part) and the
    # bottom 8 bits of word 1 (high part).
    words = np.array([0xA << 60, 0x5B], dtype=np.uint64)
    z = G.samples_from_words(words, G.GaussianMethod("inverse_cdf", 12), 10)
    k = 0xA | (0x5B << 4)
    assert z[5] == ndtri((k + 0.5) / 2**12)
    assert np.all(z[:5] == ndtri(0.5 / 2**12))


def test_clt_levels_of_all_zero_and_all_one_words():
    method = G.GaussianMethod("clt", 100)
    zeros = G.samples_from_words(np.zeros(4, dtype=np.uint64), method, 2)
    ones = G.samples_from_words(np.full(4, 2**64 - 1, dtype=np.uint64), method, 2)
    np.testing.assert_allclose(zeros, -10.0, rtol=1e-15)  # (0 − 50)/5
    np.testing.assert_allclose(ones, 10.0, rtol=1e-15)


def test_samples_from_words_does_not_mutate_words_and_handles_zero_samples():
    words = _fair_words(8, seed=3)
    before = words.copy()
    G.samples_from_words(words, G.GaussianMethod(), 32)
    np.testing.assert_array_equal(words, before)
    assert G.samples_from_words(words, G.GaussianMethod(), 0).shape == (0,)


def test_inverse_cdf_table():
    table = G.inverse_cdf_table(8)
    np.testing.assert_array_equal(table, ndtri((np.arange(256) + 0.5) / 256))
    assert not table.flags.writeable
    assert G.inverse_cdf_table(8, "float32").dtype == np.float32
    np.testing.assert_array_equal(G.inverse_cdf_table(8, "float32"), table.astype(np.float32))


# --- statistics ----------------------------------------------------------------------------------


def test_inverse_cdf_b16_is_normal():
    method = G.GaussianMethod()  # the default: inverse_cdf, b = 16
    assert (method.name, method.bits_per_sample) == ("inverse_cdf", 16)
    z = G.samples_from_words(_fair_words(method.words_needed(N_STAT), seed=16), method, N_STAT)
    table = G.inverse_cdf_table(16)
    var_t = float(np.mean(table**2))  # exact variance of the quantised law (its mean is 0)
    mu4_t = float(np.mean(table**4))
    assert abs(var_t - 1.0) < 3e-5
    assert abs(z.mean()) < 4 * math.sqrt(var_t / N_STAT)
    assert abs(z.var() - var_t) < 4 * math.sqrt((mu4_t - var_t**2) / N_STAT)
    assert abs(z.var() - 1.0) < 4 * math.sqrt(2 / N_STAT) + 3e-5  # the stated tolerance vs N(0,1)
    assert stats.kstest(z, "norm").pvalue > 0.01
    z_max = ndtri(1 - 2.0**-17)
    assert round(float(z_max), 2) == 4.32
    assert table.max() == z_max and table.min() == -z_max
    # 2^-16 per sample per extreme level: both extremes are hit (P(miss) ~ e^-15) and never passed
    assert np.abs(z).max() == z_max
    assert np.abs(z).max() <= 4.42


def test_clt_k64_has_negative_kurtosis_and_fails_ks():
    k = 64
    method = G.GaussianMethod("clt", k)
    z = G.samples_from_words(_fair_words(method.words_needed(N_STAT), seed=64), method, N_STAT)
    # standardised Binomial(64, ½): mean 0, variance 1, excess kurtosis −2/K exactly
    assert abs(z.mean()) < 4 / math.sqrt(N_STAT)
    assert abs(z.var() - 1.0) < 4 * math.sqrt((3 - 2 / k - 1) / N_STAT)
    tol = 4 * math.sqrt(24 / N_STAT)  # 0.0196 < 2/K = 0.03125, so a Gaussian value 0 would fail
    assert abs(stats.kurtosis(z) - (-2 / k)) < tol
    # K + 1 lattice levels (Σ − 32)/4
    levels = z * 4 + 32  # exact: the scale 1/sqrt(16) = 0.25 is a power of two
    assert np.all(levels == np.round(levels)) and levels.min() >= 0 and levels.max() <= k
    assert stats.kstest(z, "norm").pvalue < 1e-6


# --- GaussianMethod -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "bits", "n_samples", "words"),
    [
        ("inverse_cdf", 16, 0, 0),
        ("inverse_cdf", 16, 4, 1),
        ("inverse_cdf", 16, 5, 2),
        ("inverse_cdf", 12, 16, 3),  # 192 bits
        ("inverse_cdf", 12, 17, 4),  # 204 bits
        ("inverse_cdf", 20, 16, 5),  # 320 bits
        ("inverse_cdf", 20, 1, 1),
        ("clt", 100, 1, 2),
        ("clt", 100, 16, 25),  # 1600 bits
        ("clt", 64, 7, 7),
        ("clt", 4096, 3, 192),
    ],
)
def test_words_needed(name, bits, n_samples, words):
    assert G.GaussianMethod(name, bits).words_needed(n_samples) == words


@pytest.mark.parametrize(("name", "bits"), [("inverse_cdf", 4), ("inverse_cdf", 20), ("clt", 4), ("clt", 4096)])
def test_gaussian_method_accepts_bounds(name, bits):
    assert G.GaussianMethod(name, bits).bits_per_sample == bits


def test_gaussian_method_rejects_unknown_name():
    with pytest.raises(ParameterError, match="box_muller"):
        G.GaussianMethod("box_muller")


@pytest.mark.parametrize(
    ("name", "bits"),
    [
        ("inverse_cdf", 3),
        ("inverse_cdf", 21),
        ("inverse_cdf", 64),
        ("clt", 3),
        ("clt", 4097),
        ("clt", -8),
        ("inverse_cdf", 16.0),
        ("inverse_cdf", True),
        ("clt", "64"),
    ],
)
def test_gaussian_method_rejects_bad_bits(name, bits):
    with pytest.raises(ParameterError, match="bits_per_sample"):
        G.GaussianMethod(name, bits)


def test_samples_from_words_rejects_too_few_words():
    method = G.GaussianMethod("inverse_cdf", 16)
    with pytest.raises(InputError, match="5 samples need 2 words"):
        G.samples_from_words(np.zeros(1, dtype=np.uint64), method, 5)
    with pytest.raises(InputError, match="need"):
        G.samples_from_words(np.zeros((0,), dtype=np.uint64), G.GaussianMethod("clt", 8), 1)


@pytest.mark.parametrize("dtype", ["int32", "float16", "complex128", np.int64])
def test_samples_from_words_rejects_unsupported_dtype(dtype):
    with pytest.raises(InputError, match="dtype"):
        G.samples_from_words(np.zeros(4, dtype=np.uint64), G.GaussianMethod(), 4, dtype=dtype)
