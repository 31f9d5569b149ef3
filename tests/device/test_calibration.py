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
    assert result.cycles == (10 + 2) * (1 << 16)  # 10 SAR steps and the final two-code comparison
    assert result.knob_values.shape == (n,)


def test_short_windows_leave_residual_error_of_the_binomial_size():
    n = 512
    centers = np.zeros(n)
    dac = calibration.DAC(bits=12, center=0.0, span=1.0)
    states = new_stream_states(n, np.random.default_rng(2))
    scale = 0.05
    result = calibration.successive_approximation(_logistic(centers, scale, True), states, dac, True, 256)
    p = _logistic(centers, scale, True)(result.knob_values)
    residual = np.std(p - 0.5)
    # the last decisions are made on noise of σ = sqrt(1/4/256) = 0.031: residual of that order
    assert 0.005 < residual < 0.06


def test_dac_values():
    dac = calibration.DAC(bits=3, center=1.0, span=0.4)
    assert dac.step == pytest.approx(0.1)
    assert np.allclose(dac.value(np.array([0, 4, 7])), [0.6, 1.0, 1.3])
