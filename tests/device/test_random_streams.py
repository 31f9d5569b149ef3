"""Tests for device/random_streams.py against the Python twin in tests/device/naive_bernoulli.py.

Known answers: splitmix64 from seed 1234567 (the published first outputs of Vigna's splitmix64.c)
and xoshiro256** from the state {1, 2, 3, 4} (the reference-implementation vector quoted by e.g.
rand_xoshiro's tests). Moment checks use a fixed seed, n = 10^6 draws and a 4-standard-error margin
derived from the exact distribution (stated next to each check).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from device import random_streams as RS
from tests.device import naive_bernoulli as naive

SPLITMIX_1234567 = [
    6457827717110365317,
    3203168211198807973,
    9817491932198370423,
    4593380528125082431,
    16408922859458223821,
]
XOSHIRO_1234 = [
    11520,
    0,
    1509978240,
    1215971899390074240,
    1216172134540287360,
    607988272756665600,
    16172922978634559625,
    8476171486693032832,
    10595114339597558777,
    2904607092377533576,
]
N_STAT = 10**6


@numba.njit(cache=True)
def _draw_u64(states, n):
    """n outputs of every stream, stream-major: out[i, k] is the k-th output of row i."""
    out = np.empty((states.shape[0], n), dtype=np.uint64)
    for i in range(states.shape[0]):
        for k in range(n):
            out[i, k] = RS.next_u64(states, i)
    return out


@numba.njit(cache=True)
def _draw_u64_interleaved(states, n):
    """Same outputs drawn round-robin over the rows (k outer, i inner)."""
    out = np.empty((states.shape[0], n), dtype=np.uint64)
    for k in range(n):
        for i in range(states.shape[0]):
            out[i, k] = RS.next_u64(states, i)
    return out


@numba.njit(cache=True)
def _draw_uniforms(states, row, n):
    out = np.empty(n, dtype=np.float64)
    for k in range(n):
        out[k] = RS.next_uniform(states, row)
    return out


@numba.njit(cache=True)
def _draw_normal_pairs(states, row, n_pairs):
    out = np.empty((n_pairs, 2), dtype=np.float64)
    for k in range(n_pairs):
        a, b = RS.next_normal_pair(states, row)
        out[k, 0] = a
        out[k, 1] = b
    return out


# --- known answers ------------------------------------------------------------------------------


def test_twin_splitmix64_known_answer():
    assert naive.splitmix64_outputs(1234567, 5) == SPLITMIX_1234567


def test_module_splitmix64_known_answer():
    # Numba boxes the returned state as a Python int; re-wrap it as uint64 before the next call
    # (an int64 argument would compile an int64 specialisation with different wrap-around).
    x = np.uint64(1234567)
    got = []
    for _ in range(5):
        x, z = RS._splitmix64(np.uint64(x))
        got.append(int(z))
    assert got == SPLITMIX_1234567
    # _seed_states fills a row with the first four outputs of its seed
    states = RS._seed_states(np.array([1234567], dtype=np.uint64))
    assert states.tolist() == [SPLITMIX_1234567[:4]]


def test_xoshiro_known_answer_twin_and_module():
    twin = naive.Xoshiro256ss([1, 2, 3, 4])
    assert [twin.next_u64() for _ in range(10)] == XOSHIRO_1234
    states = np.array([[1, 2, 3, 4]], dtype=np.uint64)
    assert _draw_u64(states, 10)[0].tolist() == XOSHIRO_1234
    assert states.tolist() == [twin.state()]


# --- seeding ------------------------------------------------------------------------------------


def test_seeding_reproducible_from_generator():
    a = RS.new_stream_states(16, np.random.default_rng(2024))
    b = RS.new_stream_states(16, np.random.default_rng(2024))
    c = RS.new_stream_states(16, np.random.default_rng(2025))
    assert a.shape == (16, 4) and a.dtype == np.uint64
    np.testing.assert_array_equal(a, b)
    assert not np.any(np.all(a == c, axis=1))  # a different seed changes every row
    assert np.all(np.any(a != 0, axis=1))  # no all-zero (dead) xoshiro state
    assert len({tuple(row) for row in a.tolist()}) == 16  # rows are distinct streams
    np.testing.assert_array_equal(a, naive.new_stream_states(16, np.random.default_rng(2024)))


def test_seed_states_equals_twin_on_edge_seeds():
    seeds = np.array([0, 1, 1234567, 2**63, 2**64 - 1], dtype=np.uint64)
    np.testing.assert_array_equal(RS._seed_states(seeds), naive.seed_states(seeds.tolist()))


# --- kernel outputs equal the twin --------------------------------------------------------------


def test_next_u64_equals_twin_for_several_streams():
    states = RS.new_stream_states(5, np.random.default_rng(7))
    twins = naive.streams_from_array(states)
    n = 2000
    got = _draw_u64(states, n)
    for i, twin in enumerate(twins):
        assert got[i].tolist() == [twin.next_u64() for _ in range(n)]
    np.testing.assert_array_equal(states, naive.streams_to_array(twins))  # same final states


def test_streams_do_not_depend_on_draw_order():
    states = RS.new_stream_states(4, np.random.default_rng(8))
    other = states.copy()
    np.testing.assert_array_equal(_draw_u64(states, 300), _draw_u64_interleaved(other, 300))
    np.testing.assert_array_equal(states, other)


def test_next_uniform_equals_twin_exactly():
    states = RS.new_stream_states(3, np.random.default_rng(9))
    twins = naive.streams_from_array(states)
    for row in range(3):
        got = _draw_uniforms(states, row, 500)
        assert got.tolist() == [twins[row].next_uniform() for _ in range(500)]


def test_next_normal_pair_equals_twin():
    # Box–Muller goes through log/sqrt/cos/sin; Numba and Python's math both call the platform
    # libm, so the results agree; the tolerance (a few ulp) only guards against a libm that
    # rounds differently in the last bit, not against a formula change.
    states = RS.new_stream_states(2, np.random.default_rng(10))
    twins = naive.streams_from_array(states)
    for row in range(2):
        got = _draw_normal_pairs(states, row, 500)
        want = np.array([twins[row].next_normal_pair() for _ in range(500)])
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(states, naive.streams_to_array(twins))


# --- statistics ----------------------------------------------------------------------------------


def test_uniform_range_and_moments():
    u = _draw_uniforms(RS.new_stream_states(1, np.random.default_rng(11)), 0, N_STAT)
    assert u.min() >= 0.0 and u.max() < 1.0
    # mean: E = 1/2, sd of the mean sqrt(1/12 / n)
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / N_STAT)
    # variance: E = 1/12, sd of the sample variance sqrt((mu4 - sigma^4)/n), mu4 = 1/80
    assert abs(u.var() - 1 / 12) < 4 * math.sqrt((1 / 80 - 1 / 144) / N_STAT)


def test_box_muller_moments():
    z = _draw_normal_pairs(RS.new_stream_states(1, np.random.default_rng(12)), 0, N_STAT // 2)
    flat = z.ravel()
    n = flat.size
    assert np.all(np.isfinite(flat))
    # N(0,1): sd of the mean 1/sqrt(n); of the variance sqrt(2/n); of the excess kurtosis sqrt(24/n)
    assert abs(flat.mean()) < 4 / math.sqrt(n)
    assert abs(flat.var() - 1.0) < 4 * math.sqrt(2 / n)
    assert abs(stats.kurtosis(flat)) < 4 * math.sqrt(24 / n)
    # the two members of a pair are independent: correlation 0, sd 1/sqrt(n_pairs)
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 4 / math.sqrt(z.shape[0])


@pytest.mark.parametrize("k", [1, 7, 45, 63])
def test_rotl_equals_twin(k):
    x = 0x0123456789ABCDEF
    assert int(RS._rotl(np.uint64(x), k)) == naive.rotl(x, k)
