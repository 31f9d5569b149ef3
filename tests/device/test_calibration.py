"""Tests of device/calibration.py: the successive-approximation loop finds p = 1/2 to DAC and window accuracy."""

import numpy as np
import pytest

from device import calibration
from device.random_streams import new_stream_states


def _logistic(center, scale, increasing):
    sign = 1.0 if increasing else -1.0
    return lambda knob: 1.0 / (1.0 + np.exp(-sign * (knob - center) / scale))


@pytest.mark.parametrize("increasing", [True, False])
def test_finds_the_half_point_of_each_device(increasing):
    n = 64
    centers = np.random.default_rng(0).uniform(-0.5, 0.5, n)
    dac = calibration.DAC(bits=10, center=0.0, span=1.0)
    states = new_stream_states(n, np.random.default_rng(1))
    result = calibration.successive_approximation(
        _logistic(centers, 0.05, increasing), states, dac, increasing, 1 << 16
    )
    # window 65536 → σ(p̂) = 0.002 → knob error ≈ 4·scale·σ = 4e-4 ≪ one DAC step (2e-3); allow 2 steps
    assert np.all(np.abs(result.knob_values - centers) <= 2 * dac.step)
    assert result.cycles == sum(calibration.window_schedule(10, 1 << 16))


def test_window_schedule_is_one_full_window_per_step():
    # shorter windows for coarse bits make wrong, unrecoverable decisions (see calibration.py)
    assert calibration.window_schedule(10, 32768) == [32768] * 12


@pytest.mark.parametrize("n_rounds", [0, 1, 7])
def test_count_window_ones_equals_bernoulli_count_ones_stream_for_stream(n_rounds):
    from device import bernoulli

    p = np.random.default_rng(2).uniform(0, 1, 40)
    p[:5] = [0.0, 1.0, 0.5, 0.25, 1 - 2**-32]
    thresholds = bernoulli.probability_thresholds(p)
    a = new_stream_states(40, np.random.default_rng(4))
    b = a.copy()
    np.testing.assert_array_equal(
        calibration.count_window_ones(a, thresholds, n_rounds), bernoulli.count_ones(b, thresholds, n_rounds)
    )
    np.testing.assert_array_equal(a, b)  # the streams advanced alike


def test_count_window_ones_validates_like_count_ones():
    from device.errors import InputError

    states = new_stream_states(3, np.random.default_rng(0))
    with pytest.raises(InputError, match="thresholds must be a 1-D uint64"):
        calibration.count_window_ones(states, np.zeros(3), 1)
    with pytest.raises(InputError, match="states must be a \\(3, 4\\) uint64"):
        calibration.count_window_ones(states[:2], np.zeros(3, dtype=np.uint64), 1)
    with pytest.raises(InputError, match="n_rounds must be a non-negative integer, got -1"):
        calibration.count_window_ones(states, np.zeros(3, dtype=np.uint64), -1)
