"""VCMA magnetic tunnel junction: parameters, device-to-device variation and the compact switching model.

The default device is the VCMA MTJ of the open-source stochastic MTJ model of Liu, Maicke, Arzate et
al. (github.com/JaredArz/Stochastic_MTJ_Model; IEEE JXCDC 2022; Nanotechnology 35, 2024). The full
text of the seed paper (Cheng et al., Nat. Commun. 16, 5022, 2025) is not available to this project,
so none of its device numbers are used: every default below comes from that published compact model
and is listed, with its source, in docs/formulas.md.

The parameter dataclasses (`MTJParameters`, `VariationParameters`), the physical constants and the
closed-form device quantities (anisotropy, barrier, V_c, relaxation time, resistance) live in
`device.mtj_parameters`, which imports neither numba nor scipy, and are re-exported here.

Conventions used throughout device/:
- The free layer starts every write cycle in the parallel state, magnetisation along +z.
- "Switched" means it ends the cycle in the anti-parallel state (-z): that is a random bit of 1.
- ``field`` is the total out-of-plane field on the free layer in A/m (reference-layer stray field
  plus any bias line); positive favours +z, i.e. it *suppresses* switching.

Two switching regimes (`switching_probability` picks per device by comparing V with V_c):
- Thermal (V < V_c): the VCMA pulse lowers the barrier Δ(V) > 0 and the free layer hops over it
  thermally during the pulse: a two-state Néel–Brown master equation with Brown's attempt rate.
- Hard axis (V > V_c): the barrier is gone, the free layer relaxes to the plane during the pulse
  and falls to ±z when the pulse ends; the outcome is set by the field, not by the pulse voltage's
  distance from a barrier. The published VCMA random-bit device (1.5 V, 30 ns) runs here.
Both are checked against the stochastic LLG macrospin of `device.llg` (docs/physics.md).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from device.errors import ParameterError
from device.mtj_parameters import (  # noqa: F401 - re-exported: the parameters live in the numba-free module
    EPS0,
    GAMMA0,
    K_B,
    MU0,
    NO_VARIATION,
    MTJParameters,
    VariationParameters,
    anisotropy_field,
    critical_voltage,
    effective_anisotropy,
    hard_axis_relaxation_time,
    interfacial_anisotropy,
    resistance,
    thermal_stability,
)
from device.numba_config import njit


class DevicePopulation(NamedTuple):
    """Per-device values of an array of MTJs, each a float64 array of shape (n_devices,)."""

    interfacial_anisotropy: np.ndarray  # K_i0, J/m²
    resistance_parallel: np.ndarray  # R_P, Ω
    tmr: np.ndarray  # ratio
    stray_field: np.ndarray  # A/m

    @property
    def size(self) -> int:
        return int(self.interfacial_anisotropy.shape[0])


def sample_population(
    params: MTJParameters, variation: VariationParameters, n_devices: int, rng: np.random.Generator
) -> DevicePopulation:
    """Draw ``n_devices`` devices with Gaussian spread around the nominal ``params``.

    Relative spreads are truncated at ±4σ so no device gets a negative resistance or TMR. Draw
    order: ``n_devices`` normals each for K_i0, R_P, TMR, then the stray field (`spread_values`).
    """
    if not isinstance(n_devices, (int, np.integer)) or n_devices < 1:
        raise ParameterError(f"n_devices must be a positive integer, got {n_devices!r}")
    k_i0 = spread_values(params.interfacial_anisotropy, variation.interfacial_anisotropy_rel, n_devices, rng)
    r_p = spread_values(params.resistance_parallel, variation.resistance_parallel_rel, n_devices, rng)
    tmr = spread_values(params.tmr, variation.tmr_rel, n_devices, rng)
    stray = spread_values(params.stray_field, variation.stray_field_abs, n_devices, rng, relative=False)
    return DevicePopulation(k_i0, r_p, tmr, stray)


def spread_values(nominal: float, sigma: float, n: int, rng: np.random.Generator, relative: bool = True) -> np.ndarray:
    """``n`` device values around ``nominal``: nominal·(1 + σ·z) (``relative``) or nominal + σ·z.

    z ~ N(0, 1) clipped to ±4 (one ``rng.standard_normal(n)`` draw); computed in place, with the
    same floating-point operations as the plain formula.
    """
    z = rng.standard_normal(int(n))
    np.clip(z, -4.0, 4.0, out=z)
    z *= sigma
    if relative:
        z += 1.0
        z *= nominal
    else:
        z += nominal
    return z


def nominal_population(params: MTJParameters, n_devices: int = 1) -> DevicePopulation:
    """``n_devices`` identical copies of the nominal device."""
    full = lambda v: np.full(n_devices, float(v))  # noqa: E731
    return DevicePopulation(
        full(params.interfacial_anisotropy),
        full(params.resistance_parallel),
        full(params.tmr),
        full(params.stray_field),
    )


# --- compact model -------------------------------------------------------------------------------
# Every function broadcasts over numpy arrays: voltage, field and k_i0 may be scalars or arrays.


def brown_escape_rate(params: MTJParameters, voltage, field, k_i0=None):
    """Néel–Brown escape rates out of the +z and the −z well, 1/s, each shaped like ``voltage``.

    Brown's high-barrier result for a uniaxial particle with the field along the easy axis
    (W. F. Brown, Phys. Rev. 130, 1677, 1963; Coffey & Kalmykov, J. Appl. Phys. 112, 121301, 2012):
        r_± = s·α·γ0·H_k/(1+α²) · sqrt(Δ/π) · (1 − h²)(1 ± h) · exp(−Δ(1 ± h)²),  h = H/H_k,
    with the calibration factor s = ``params.attempt_rate_scale`` (1 is Brown's formula).
    The +z well (parallel) is deepened by a positive field. Valid for Δ(V) > 0 and |h| < 1; with
    |h| ≥ 1 the shallow well has no barrier and its rate is returned as +inf.
    """
    hk = anisotropy_field(params, voltage, k_i0)
    delta = thermal_stability(params, voltage, k_i0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.asarray(field, dtype=float) / hk
    return _brown_rate(params, hk, delta, h, +1.0), _brown_rate(params, hk, delta, h, -1.0)


def switching_probability_thermal(params: MTJParameters, voltage, pulse_width, field, k_i0=None, n_time_steps=256):
    """P(end in −z) after a pulse of ``voltage`` (V) for ``pulse_width`` (s), thermal regime.

    Two-state master equation with Néel–Brown rates (F13 generalised to allow switching back):
        dP/dt = r₊(t)·(1 − P) − r₋·P,  P(0) = 0,
    which for constant rates gives P = r₊/(r₊ + r₋)·(1 − exp(−(r₊ + r₋)·t_p)) and reduces to F13,
    P = 1 − exp(−t_p/τ), when back-switching is negligible.

    Transient (spindiff's addition, needed at the reference device's low damping α = 0.03): when
    the pulse starts, the +z well softens but its population is still as narrow as at zero bias; it
    widens only at the linear damping rate λ = α·γ'·H_k(V)·(1 + h). The escape rate r₊(t) is
    therefore taken at an effective well temperature T_eff(t)/T = 1 + (ρ0 − 1)·exp(−2λt),
    ρ0 = Δ(V)(1 + h_V) / (Δ0(1 + h_0)) (ratio of the harmonic-well variances before and during the
    pulse), i.e. with Δ replaced by Δ/T_eff. Without it the model overestimates P_sw by 3–4× at
    30 ns (docs/physics.md shows both against the macrospin). Both rates carry the calibration
    factor ``params.attempt_rate_scale``. The equation is integrated exactly over ``n_time_steps``
    steps of piecewise-constant rates.

    Validity: Δ(V)·(1 + h)² ≳ 1 (a barrier of at least k_B·T); `thermal_model_valid` tells.
    """
    voltage, field = np.broadcast_arrays(np.asarray(voltage, float), np.asarray(field, float))
    k_i0 = params.interfacial_anisotropy if k_i0 is None else k_i0
    voltage, field, k_i0 = np.broadcast_arrays(voltage, field, np.asarray(k_i0, float))
    hk = anisotropy_field(params, voltage, k_i0)
    hk0 = anisotropy_field(params, 0.0, k_i0)
    delta = np.maximum(thermal_stability(params, voltage, k_i0), 1e-9)
    delta0 = thermal_stability(params, 0.0, k_i0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = field / hk
        stiffness_ratio = np.clip(delta * (1.0 + h) / (delta0 * (1.0 + field / hk0)), 1e-6, None)
        damping_rate = params.damping * GAMMA0 / (1.0 + params.damping**2) * hk * np.clip(1.0 + h, 1e-6, None)
    _, r_minus = brown_escape_rate(params, voltage, field, k_i0)
    dt = pulse_width / n_time_steps
    p = np.zeros(voltage.shape)
    for k in range(n_time_steps):
        t_mid = (k + 0.5) * dt
        t_eff = 1.0 + (stiffness_ratio - 1.0) * np.exp(-2.0 * damping_rate * t_mid)
        r_plus = _brown_rate(params, hk, delta / t_eff, h, +1.0)
        with np.errstate(invalid="ignore", over="ignore"):
            total = r_plus + r_minus
            eq = np.where(np.isinf(r_plus), 1.0, np.where(np.isinf(r_minus), 0.0, r_plus / total))
            eq = np.where(total > 0, eq, 0.0)
            decay = np.where(np.isinf(total), 0.0, np.exp(-total * dt))
        p = eq + (p - eq) * decay
    return np.clip(p, 0.0, 1.0)


def _brown_rate(params: MTJParameters, hk, delta, h, sign: float):
    """r₊ (sign = +1) or r₋ (sign = −1) of `brown_escape_rate` for given H_k, Δ, h arrays.

    The well with no barrier left (1 + sign·h ≤ 0) empties at once: its rate is +inf.
    """
    alpha = params.damping
    with np.errstate(invalid="ignore", over="ignore"):
        prefactor = (
            params.attempt_rate_scale * alpha * GAMMA0 * hk / (1.0 + alpha**2) * np.sqrt(np.maximum(delta, 0.0) / np.pi)
        )
        side = 1.0 + sign * h
        rate = prefactor * np.clip(1.0 - h * h, 0.0, None) * side * np.exp(-delta * side**2)
    return np.where(side <= 0.0, np.inf, rate)


def switching_probability_hard_axis(params: MTJParameters, voltage, field, k_i0=None):
    """P(end in −z) for a pulse above V_c long enough for the free layer to reach the plane.

    During the pulse the energy is |K_eff(V)|·Vol·m_z² − µ0·M_s·H·Vol·m_z, so m_z at the end of the
    pulse is Boltzmann-distributed: mean h_V = H/|H_k(V)|, variance 1/(2|Δ(V)|). When the pulse ends
    the barrier returns (Δ0 = Δ(0)) and m_z falls off the inverted parabola −Δ0·(m_z + h_0)²,
    h_0 = H/H_k(0), whose committor to the −z side from m_z is Φ(−(m_z + h_0)·sqrt(2Δ0)). Averaging
    over the end-of-pulse distribution (derived for spindiff; checked against `device.llg`):
        P = Φ(−(h_V + h_0) / sqrt(1/(2|Δ(V)|) + 1/(2Δ0))).
    Needs t_p ≫ the relaxation time (1+α²)/(α·γ0·|H_k(V)|) (≈ 2 ns for the default device at
    1.5 V, so 30 ns pulses qualify); see `hard_axis_relaxation_time`.
    """
    delta_v = np.abs(thermal_stability(params, voltage, k_i0))
    delta_0 = thermal_stability(params, 0.0, k_i0)
    field = np.asarray(field, dtype=float)
    h_v = field / np.abs(anisotropy_field(params, voltage, k_i0))
    h_0 = field / anisotropy_field(params, 0.0, k_i0)
    spread = np.sqrt(1.0 / (2.0 * delta_v) + 1.0 / (2.0 * delta_0))
    return ndtr(-(h_v + h_0) / spread)


class HardAxisConstants(NamedTuple):
    """The device scalars of `switching_probability_hard_axis` at one pulse voltage (for kernels)."""

    vcma_shift: float  # ξ·V/t_ox, J/m²
    free_layer_thickness: float  # m
    shape_anisotropy: float  # ½µ0·M_s²·(N_z − N_x), J/m³
    volume: float  # m³
    thermal_energy: float  # J
    field_scale: float  # µ0·M_s, T


def hard_axis_constants(params: MTJParameters, voltage: float) -> HardAxisConstants:
    """`HardAxisConstants` of ``params`` for pulses of ``voltage`` (V), for `hard_axis_probability`."""
    return HardAxisConstants(
        float(params.vcma_coefficient * float(voltage) / params.oxide_thickness),
        params.free_layer_thickness,
        0.5 * MU0 * params.saturation_magnetisation**2 * (params.demag_z - params.demag_x),
        params.volume,
        params.thermal_energy,
        MU0 * params.saturation_magnetisation,
    )


@njit(inline="always")
def hard_axis_probability(c, k_i0, field):
    """Scalar `switching_probability_hard_axis` for Numba kernels: P(end in −z) of one device.

    The same formula and floating-point operations as the numpy function (``c`` from
    `hard_axis_constants`), except Φ: cephes' ndtr written with libm's erf/erfc, which may differ
    from scipy's in the last bit.
    """
    k_eff_v = (k_i0 - c.vcma_shift) / c.free_layer_thickness - c.shape_anisotropy
    k_eff_0 = (k_i0 - 0.0) / c.free_layer_thickness - c.shape_anisotropy
    delta_v = abs(k_eff_v * c.volume / c.thermal_energy)
    delta_0 = k_eff_0 * c.volume / c.thermal_energy
    h_v = field / abs(2.0 * k_eff_v / c.field_scale)
    h_0 = field / (2.0 * k_eff_0 / c.field_scale)
    spread = math.sqrt(1.0 / (2.0 * delta_v) + 1.0 / (2.0 * delta_0))
    return _ndtr(-(h_v + h_0) / spread)


@njit(inline="always")
def _ndtr(a):
    """Φ(a), the standard normal CDF, as cephes (scipy.special.ndtr) computes it."""
    x = a * 0.7071067811865476
    z = abs(x)
    if z < 0.7071067811865476:
        return 0.5 + 0.5 * math.erf(x)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if x > 0 else y


def thermal_model_valid(params: MTJParameters, voltage, field, k_i0=None):
    """True where the thermal-regime compact model applies: below V_c with a barrier of ≥ 1 k_B·T."""
    delta = thermal_stability(params, voltage, k_i0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.asarray(field, dtype=float) / anisotropy_field(params, voltage, k_i0)
    return (delta > 0) & (np.abs(h) < 1.0) & (delta * (1.0 + h) ** 2 >= 1.0)


def hard_axis_model_valid(params: MTJParameters, voltage, pulse_width, k_i0=None):
    """True where the hard-axis compact model applies: above V_c, pulse ≥ 8 relaxation times."""
    above = np.asarray(voltage, dtype=float) > critical_voltage(params, k_i0)
    with np.errstate(divide="ignore", invalid="ignore"):
        long_enough = pulse_width >= 8.0 * hard_axis_relaxation_time(params, voltage, k_i0)
    return above & long_enough


def switching_probability(params: MTJParameters, voltage, pulse_width, field, k_i0=None):
    """P(end in −z) for each device, using the regime its own V_c puts it in (see module doc).

    Each regime's model is evaluated only for the devices in it (the thermal master equation costs
    256 steps per device, so a hard-axis array never pays for it); element for element the result
    is that of evaluating both models everywhere and picking one.
    """
    k_i0 = params.interfacial_anisotropy if k_i0 is None else k_i0
    voltage, field, k_i0 = np.broadcast_arrays(
        np.asarray(voltage, dtype=float), np.asarray(field, dtype=float), np.asarray(k_i0, dtype=float)
    )
    above = voltage > critical_voltage(params, k_i0)
    out = np.empty(voltage.shape)
    if above.all():
        out[...] = switching_probability_hard_axis(params, voltage, field, k_i0)
    elif not above.any():
        out[...] = switching_probability_thermal(params, voltage, pulse_width, field, k_i0)
    else:
        below = ~above
        out[above] = switching_probability_hard_axis(params, voltage[above], field[above], k_i0[above])
        out[below] = switching_probability_thermal(params, voltage[below], pulse_width, field[below], k_i0[below])
    return out


def regime(params: MTJParameters, voltage, k_i0=None) -> str:
    """``"hard_axis"`` if ``voltage`` exceeds the device's V_c, else ``"thermal"`` (scalars)."""
    return "hard_axis" if float(voltage) > float(critical_voltage(params, k_i0)) else "thermal"
