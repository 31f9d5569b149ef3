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
    result = calibration.successive_approximation(_logistic(centers, 0.05, increasing), states, dac, increasing, 1 << 16)
    # window 65536 → σ(p̂) = 0.002 → knob error ≈ 4·scale·σ = 4e-4 ≪ one DAC step (2e-3); allow 2 steps
    assert np.all(np.abs(result.knob_values - centers) <= 2 * dac.step)
    assert result.cycles == sum(calibration.window_schedule(10, 1 << 16))


def test_window_schedule_is_one_full_window_per_step():
    # shorter windows for coarse bits make wrong, unrecoverable decisions (see calibration.py)
    assert calibration.window_schedule(10, 32768) == [32768] * 12
