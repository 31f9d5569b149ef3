"""Tests of device/llg.py: the macrospin reproduces Boltzmann statistics, is replayable, validates input."""

import math

import numba
import numpy as np
import pytest

from device import llg, mtj
from device.errors import ParameterError

P = mtj.MTJParameters()


def test_hard_axis_end_of_pulse_distribution_is_boltzmann():
    # During a 1.5 V pulse the energy is |K_eff|Vol·m_z² − µ0·Ms·H·Vol·m_z: m_z is Gaussian with
    # mean H/|H_k(V)| and variance 1/(2|Δ(V)|). This checks the thermal field amplitude (F15).
    field = 2000.0
    result = llg.simulate_write_cycles(P, 1.5, 30e-9, field, 3000, seed=11)
    mz = result.mz_pulse_end
    var_expected = 1.0 / (2.0 * abs(mtj.thermal_stability(P, 1.5)))
    mean_expected = field / abs(mtj.anisotropy_field(P, 1.5))
    assert mz.var() == pytest.approx(var_expected, rel=0.08)  # σ of a variance estimate at n=3000: 2.6 %
    assert mz.mean() == pytest.approx(mean_expected, abs=4 * math.sqrt(var_expected / 3000))


def test_zero_bias_well_has_the_boltzmann_width():
    # At V = 0 the +z well: 1 − m_z is exponential with mean 1/(2Δ0(1 + h0)) to leading order.
    field = 0.0
    result = llg.simulate_write_cycles(P, 0.0, 10e-9, field, 3000, seed=3)
    expected = 1.0 / (2.0 * mtj.thermal_stability(P, 0.0))
    assert np.mean(1.0 - result.mz_pulse_end) == pytest.approx(expected, rel=0.1)
    assert not result.switched.any()  # a 20 kT barrier does not switch in 40 ns


def test_no_field_hard_axis_is_a_fair_coin():
    result = llg.simulate_write_cycles(P, 1.5, 30e-9, 0.0, 3000, seed=5)
    assert abs(result.probability - 0.5) < 4 * result.standard_error


def test_same_seed_same_result_and_thread_count_does_not_matter():
    a = llg.simulate_write_cycles(P, 1.2, 10e-9, 1000.0, 64, seed=9)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        b = llg.simulate_write_cycles(P, 1.2, 10e-9, 1000.0, 64, seed=9)
    finally:
        numba.set_num_threads(threads)
    assert np.array_equal(a.switched, b.switched)
    assert np.array_equal(a.mz_pulse_end, b.mz_pulse_end)
    c = llg.simulate_write_cycles(P, 1.2, 10e-9, 1000.0, 64, seed=10)
    assert not np.array_equal(a.mz_pulse_end, c.mz_pulse_end)


@pytest.mark.parametrize(
    "kwargs, field_name",
    [
        ({"voltage": math.nan}, "voltage"),
        ({"field": math.inf}, "field"),
        ({"pulse_width": 0.0}, "pulse_width"),
        ({"pulse_width": -1e-9}, "pulse_width"),
        ({"n_trials": 0}, "n_trials"),
        ({"n_trials": 2.5}, "n_trials"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, field_name):
    args = {"params": P, "voltage": 1.5, "pulse_width": 30e-9, "field": 0.0, "n_trials": 10, "seed": 0, **kwargs}
    with pytest.raises(ParameterError, match=field_name):
        llg.simulate_write_cycles(**args)


def test_too_coarse_time_step_is_rejected():
    with pytest.raises(ParameterError, match="time_step"):
        llg.simulate_write_cycles(P, 1.5, 30e-9, 0.0, 10, 0, llg.MacrospinSettings(time_step=40e-12))
    with pytest.raises(ParameterError, match="settle_mz"):
        llg.MacrospinSettings(settle_mz=1.0)
    with pytest.raises(ParameterError, match="relax_time"):
        llg.MacrospinSettings(relax_time=-1.0)
