"""Tests of device/mtj.py: parameters, variation and the compact switching model against analytics."""

import dataclasses
import math

import numpy as np
import pytest

from device import mtj
from device.errors import ParameterError

P = mtj.MTJParameters()


# --- parameters -------------------------------------------------------------------------------------
def test_default_device_matches_reference_computed_values():
    # physics.md: Δ0 ≈ 20 kT at 300 K, barrier vanishes near V_c ≈ 0.56 V, C·V² ≈ 0.16 fJ at 1.5 V
    assert mtj.thermal_stability(P, 0.0) == pytest.approx(20.0, abs=0.5)
    assert mtj.critical_voltage(P) == pytest.approx(0.56, abs=0.01)
    assert P.capacitance * 1.5**2 == pytest.approx(0.16e-15, rel=0.15)


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(mtj.MTJParameters)])
def test_every_field_rejects_nan_naming_the_field(name):
    with pytest.raises(ParameterError, match=name):
        dataclasses.replace(P, **{name: math.nan})


@pytest.mark.parametrize(
    "name, value",
    [
        ("free_layer_thickness", -1e-9),
        ("oxide_thickness", 0.0),
        ("diameter", -5e-9),
        ("tmr", 0.0),
        ("tmr", -0.5),
        ("resistance_parallel", -1.0),
        ("temperature", 0.0),
        ("damping", 0.0),
        ("damping", 2.0),
        ("demag_z", 1.5),
        ("attempt_rate_scale", 0.0),
    ],
)
def test_non_physical_values_raise_naming_the_field(name, value):
    with pytest.raises(ParameterError, match=name):
        dataclasses.replace(P, **{name: value})


def test_non_numbers_raise():
    with pytest.raises(ParameterError, match="tmr"):
        dataclasses.replace(P, tmr="1.2")
    with pytest.raises(ParameterError, match="stray_field"):
        dataclasses.replace(P, stray_field=True)


def test_demagnetising_factors_must_sum_to_one():
    with pytest.raises(ParameterError, match="demag"):
        dataclasses.replace(P, demag_z=0.9)


def test_parameters_are_frozen_and_hashable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        P.tmr = 2.0
    assert hash(P) == hash(mtj.MTJParameters())


@pytest.mark.parametrize(
    "name", ["interfacial_anisotropy_rel", "resistance_parallel_rel", "tmr_rel", "stray_field_abs"]
)
def test_variation_rejects_negative_and_nan(name):
    with pytest.raises(ParameterError, match=name):
        dataclasses.replace(mtj.VariationParameters(), **{name: -0.1})
    with pytest.raises(ParameterError, match=name):
        dataclasses.replace(mtj.VariationParameters(), **{name: math.nan})


# --- compact model: closed forms -----------------------------------------------------------------
def test_vcma_lowers_anisotropy_linearly():
    # F11: K_i(V) = K_i0 − ξV/t_ox
    assert mtj.interfacial_anisotropy(P, 1.0) == pytest.approx(1.0056e-3 - 75e-15 / 1e-9)
    v = np.array([0.0, 0.2, 0.4])
    delta = mtj.thermal_stability(P, v)
    assert np.allclose(np.diff(delta), np.diff(delta)[0])  # linear in V
    assert mtj.thermal_stability(P, mtj.critical_voltage(P)) == pytest.approx(0.0, abs=1e-9)
    assert mtj.thermal_stability(P, 1.5) < 0


def test_anisotropy_field_is_two_k_over_mu0_ms():
    k = mtj.effective_anisotropy(P, 0.3)
    assert mtj.anisotropy_field(P, 0.3) == pytest.approx(2 * k / (mtj.MU0 * P.saturation_magnetisation))


def test_resistance_limits_and_half_tmr_voltage():
    # F16: R_P at θ = 0, R_P(1 + TMR) at θ = π, and the TMR halves at V = V_h
    assert mtj.resistance(P, 1.0, 0.0) == pytest.approx(P.resistance_parallel)
    assert mtj.resistance(P, -1.0, 0.0) == pytest.approx(P.resistance_parallel * (1 + P.tmr))
    r_ap, r_p = mtj.resistance(P, -1.0, P.tmr_half_voltage), mtj.resistance(P, 1.0, P.tmr_half_voltage)
    assert (r_ap - r_p) / r_p == pytest.approx(P.tmr / 2)


def test_brown_rates_are_symmetric_without_field_and_obey_detailed_balance():
    r_plus, r_minus = mtj.brown_escape_rate(P, 0.3, 0.0)
    assert r_plus == pytest.approx(r_minus)
    h_field = 3000.0
    r_plus, r_minus = mtj.brown_escape_rate(P, 0.3, h_field)
    delta, h = mtj.thermal_stability(P, 0.3), h_field / mtj.anisotropy_field(P, 0.3)
    # ratio of Brown rates: (1+h)/(1−h)·exp(−4Δh)
    assert r_plus / r_minus == pytest.approx((1 + h) / (1 - h) * math.exp(-4 * delta * h), rel=1e-9)
    assert r_plus < r_minus  # a positive field deepens the +z well


def test_thermal_model_reaches_the_two_state_equilibrium_for_long_pulses():
    voltage, field = 0.35, -2000.0
    r_plus, r_minus = mtj.brown_escape_rate(P, voltage, field)
    p_eq = r_plus / (r_plus + r_minus)
    long_pulse = 200.0 / (r_plus + r_minus)
    assert mtj.switching_probability_thermal(P, voltage, long_pulse, field) == pytest.approx(p_eq, rel=1e-3)


def test_thermal_model_reduces_to_neel_brown_f13_without_transients():
    # no transient: same well before and during the pulse (V = 0); Brown's rate uncalibrated
    params = dataclasses.replace(P, attempt_rate_scale=1.0)
    field, pulse = -0.5 * mtj.anisotropy_field(P, 0.0), 50e-9
    r_plus, r_minus = mtj.brown_escape_rate(params, 0.0, field)
    assert r_minus < 1e-6 * r_plus  # back-switching negligible
    expected = 1.0 - math.exp(-r_plus * pulse)  # F13 with τ = 1/r₊
    assert mtj.switching_probability_thermal(params, 0.0, pulse, field) == pytest.approx(expected, rel=1e-3)


def test_thermal_probability_rises_with_voltage_and_falls_with_field():
    v = np.linspace(0.2, 0.42, 12)  # the model's valid range at this field (barrier ≥ 1 kT)
    assert mtj.thermal_model_valid(P, v, -6000.0).all()
    p = mtj.switching_probability_thermal(P, v, 30e-9, -6000.0)
    assert np.all(np.diff(p) > 0)
    fields = np.array([-8000.0, -6000.0, -4000.0])
    assert np.all(np.diff(mtj.switching_probability_thermal(P, 0.4, 30e-9, fields)) < 0)


def test_hard_axis_model_is_one_half_without_field_and_antisymmetric_in_field():
    assert mtj.switching_probability_hard_axis(P, 1.5, 0.0) == pytest.approx(0.5)
    h = np.array([500.0, 2000.0, 5000.0])
    p_pos = mtj.switching_probability_hard_axis(P, 1.5, h)
    p_neg = mtj.switching_probability_hard_axis(P, 1.5, -h)
    assert np.allclose(p_pos + p_neg, 1.0)
    assert np.all(np.diff(p_pos) < 0)


def test_hard_axis_closed_form():
    field = 2000.0
    dv, d0 = abs(mtj.thermal_stability(P, 1.5)), mtj.thermal_stability(P, 0.0)
    z = (field / abs(mtj.anisotropy_field(P, 1.5)) + field / mtj.anisotropy_field(P, 0.0)) / math.sqrt(
        1 / (2 * dv) + 1 / (2 * d0)
    )
    expected = 0.5 * math.erfc(z / math.sqrt(2))
    assert mtj.switching_probability_hard_axis(P, 1.5, field) == pytest.approx(expected, rel=1e-12)


def test_switching_probability_dispatches_by_each_devices_own_critical_voltage():
    k_i0 = np.array([P.interfacial_anisotropy * 0.99, P.interfacial_anisotropy * 1.01])
    vc = mtj.critical_voltage(P, k_i0)
    voltage = 0.5 * (vc[0] + vc[1])  # above V_c of the first, below that of the second
    p = mtj.switching_probability(P, voltage, 30e-9, 2000.0, k_i0)
    assert p[0] == pytest.approx(mtj.switching_probability_hard_axis(P, voltage, 2000.0, k_i0[0]))
    assert p[1] == pytest.approx(mtj.switching_probability_thermal(P, voltage, 30e-9, 2000.0, k_i0[1]))
    assert mtj.regime(P, 1.5) == "hard_axis" and mtj.regime(P, 0.3) == "thermal"


def test_validity_flags():
    assert mtj.thermal_model_valid(P, 0.3, -6000.0)
    assert not mtj.thermal_model_valid(P, 0.5, -6000.0)  # |h| > 1: no barrier left
    assert mtj.hard_axis_model_valid(P, 1.5, 30e-9)
    assert not mtj.hard_axis_model_valid(P, 1.5, 1e-9)  # pulse shorter than 8 relaxation times
    assert not mtj.hard_axis_model_valid(P, 0.3, 30e-9)  # below V_c


# --- variation ---------------------------------------------------------------------------------------
def test_population_statistics_match_the_requested_spread():
    variation = mtj.VariationParameters()
    pop = mtj.sample_population(P, variation, 100_000, np.random.default_rng(1))
    assert pop.size == 100_000
    for values, nominal, rel in (
        (pop.interfacial_anisotropy, P.interfacial_anisotropy, variation.interfacial_anisotropy_rel),
        (pop.resistance_parallel, P.resistance_parallel, variation.resistance_parallel_rel),
        (pop.tmr, P.tmr, variation.tmr_rel),
    ):
        assert values.mean() == pytest.approx(nominal, rel=4 * rel / math.sqrt(1e5))
        assert values.std() / nominal == pytest.approx(rel, rel=0.02)
    assert pop.stray_field.std() == pytest.approx(variation.stray_field_abs, rel=0.02)


def test_population_is_reproducible_and_zero_variation_is_uniform():
    a = mtj.sample_population(P, mtj.VariationParameters(), 10, np.random.default_rng(5))
    b = mtj.sample_population(P, mtj.VariationParameters(), 10, np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    flat = mtj.sample_population(P, mtj.NO_VARIATION, 10, np.random.default_rng(5))
    assert np.all(flat.interfacial_anisotropy == P.interfacial_anisotropy)
    with pytest.raises(ParameterError, match="n_devices"):
        mtj.sample_population(P, mtj.NO_VARIATION, 0, np.random.default_rng(5))


def test_each_device_has_its_own_v50_and_the_spread_scales_with_sigma():
    from device.rng import device_v50

    def v50s(rel):
        var = dataclasses.replace(mtj.NO_VARIATION, interfacial_anisotropy_rel=rel)
        pop = mtj.sample_population(P, var, 400, np.random.default_rng(2))
        return device_v50(P, 300e-9, -4000.0, pop.interfacial_anisotropy), pop

    v50, pop = v50s(0.002)
    assert np.isfinite(v50).all()
    # at its own V50 each device switches with probability 1/2
    p = mtj.switching_probability(P, v50, 300e-9, -4000.0, pop.interfacial_anisotropy)
    assert np.allclose(p, 0.5, atol=1e-6)
    assert np.std(v50) > 0.01  # tens of mV spread: why per-device calibration is needed
    assert np.std(v50s(0.001)[0]) == pytest.approx(np.std(v50) / 2, rel=0.1)


def test_switching_probability_picks_each_devices_regime_as_both_models_would():
    # a mixed array: devices on both sides of their own V_c; every element as np.where over both models
    pop = mtj.sample_population(
        P, mtj.VariationParameters(interfacial_anisotropy_rel=0.01), 64, np.random.default_rng(8)
    )
    v_c = mtj.critical_voltage(P, pop.interfacial_anisotropy)
    voltage = np.where(np.arange(64) % 2 == 0, v_c * 0.7, v_c * 1.5)
    field = pop.stray_field - 6e3
    got = mtj.switching_probability(P, voltage, 100e-9, field, pop.interfacial_anisotropy)
    thermal = mtj.switching_probability_thermal(P, voltage, 100e-9, field, pop.interfacial_anisotropy)
    hard = mtj.switching_probability_hard_axis(P, voltage, field, pop.interfacial_anisotropy)
    np.testing.assert_array_equal(got, np.where(voltage > v_c, hard, thermal))
    assert 0 < np.sum(voltage > v_c) < 64
    assert np.shape(mtj.switching_probability(P, 1.5, 30e-9, 2e3)) == ()  # scalars stay 0-d


def test_hard_axis_kernel_equals_the_numpy_model():
    import numba

    @numba.njit
    def evaluate(c, k_i0, field, out):
        for i in range(k_i0.shape[0]):
            out[i] = mtj.hard_axis_probability(c, k_i0[i], field[i])

    rng = np.random.default_rng(3)
    k_i0 = P.interfacial_anisotropy * (1 + 0.008 * rng.standard_normal(2000))
    field = rng.uniform(-30e3, 30e3, 2000)
    for voltage in (1.0, 1.5):
        out = np.empty(2000)
        evaluate(mtj.hard_axis_constants(P, voltage), k_i0, field, out)
        want = mtj.switching_probability_hard_axis(P, voltage, field, k_i0)
        np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-300)  # libm's erf vs cephes': last bits only
