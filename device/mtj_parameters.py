"""The VCMA MTJ's parameters, its device-to-device variation and the closed-form quantities they fix.

The parameter dataclasses of `device.mtj` (house rule 1), with the physical constants and the
deterministic device quantities that follow from them alone — anisotropy, barrier, critical
voltage, hard-axis relaxation time, resistance (docs/formulas.md F11, F12, F16). No switching
statistics, no kernels: this module imports only the standard library and numpy, so that
`device.profiles` (and with it the API process) can build and validate profiles without numba or
scipy (tests/service/test_health_metrics.py holds it in a fresh process). `device.mtj` re-exports
every name; the compact switching model, the population sampling and the kernels stay there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from device.errors import ParameterError

MU0 = 4e-7 * math.pi  # vacuum permeability, T·m/A
K_B = 1.380649e-23  # Boltzmann constant, J/K
GAMMA0 = 2.21e5  # gyromagnetic ratio times µ0, m/(A·s) (docs/formulas.md F15)
EPS0 = 8.8541878128e-12  # vacuum permittivity, F/m


def _check_positive_finite(owner: str, name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ParameterError(f"{owner}.{name} must be a finite number, got {value!r}")
    if value <= 0:
        raise ParameterError(f"{owner}.{name} must be > 0, got {value!r}")


def _check_finite(owner: str, name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ParameterError(f"{owner}.{name} must be a finite number, got {value!r}")


def _check_range(owner: str, name: str, value: float, low: float, high: float) -> None:
    _check_finite(owner, name, value)
    if not low <= value <= high:
        raise ParameterError(f"{owner}.{name} must lie in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class MTJParameters:
    """One VCMA MTJ, nominal values (SI units). Defaults: Stochastic_MTJ_Model (`device.mtj`'s module doc).

    Attributes:
        diameter: free-layer diameter, m (circular pillar). 50 nm.
        free_layer_thickness: t_f, m. 1.1 nm.
        oxide_thickness: MgO thickness t_ox, m. 1.0 nm.
        interfacial_anisotropy: K_i0 at zero bias, J/m². 1.0056e-3.
        vcma_coefficient: ξ, J/(V·m). 75 fJ/(V·m) (literature 33–290).
        saturation_magnetisation: M_s, A/m. 1.2e6.
        damping: Gilbert α. 0.03.
        demag_x, demag_y, demag_z: demagnetising factors (sum to 1). Chosen as 0.0106, 0.0106,
            0.9788 so that the default device has the reference's computed Δ0 ≈ 20 kT and
            V_c ≈ 0.56 V (docs/formulas.md); an ideal 50 nm × 1.1 nm disc would have N_z ≈ 0.93.
        resistance_parallel: R_P at low bias, Ω. 5 kΩ.
        tmr: tunnelling magnetoresistance ratio at zero bias, (R_AP - R_P)/R_P. 1.2 (120 %).
        tmr_half_voltage: V_h, the bias at which TMR halves, V. 0.5 V (F16).
        oxide_permittivity: relative permittivity of MgO. 4.
        temperature: K. 300.
        stray_field: mean out-of-plane stray field of the reference layer on the free layer, A/m,
            positive along +z (favours the parallel state). 2 kA/m ≈ 25 Oe, a typical offset of
            perpendicular MTJs; an assumption of spindiff, not in the reference model. It is the
            symmetry-breaking term that biases the hard-axis regime.
        attempt_rate_scale: calibration constant of the thermal-regime compact model: Brown's
            attempt rate is multiplied by it (equivalently the attempt time τ0 is divided by it).
            0.8, fitted to `device.llg` at 300 K over 30, 100 and 300 ns pulses and fields of −4 to
            −10 kA/m (docs/physics.md); Brown's asymptotic prefactor overestimates the rate at the
            2–6 k_B·T barriers a 30–300 ns pulse probes.
    """

    diameter: float = 50e-9
    free_layer_thickness: float = 1.1e-9
    oxide_thickness: float = 1.0e-9
    interfacial_anisotropy: float = 1.0056e-3
    vcma_coefficient: float = 75e-15
    saturation_magnetisation: float = 1.2e6
    damping: float = 0.03
    demag_x: float = 0.0106
    demag_y: float = 0.0106
    demag_z: float = 0.9788
    resistance_parallel: float = 5e3
    tmr: float = 1.2
    tmr_half_voltage: float = 0.5
    oxide_permittivity: float = 4.0
    temperature: float = 300.0
    stray_field: float = 2.0e3
    attempt_rate_scale: float = 0.8

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "stray_field":
                _check_finite(owner, f.name, value)
            elif f.name.startswith("demag_"):
                _check_range(owner, f.name, value, 0.0, 1.0)
            elif f.name == "attempt_rate_scale":
                _check_range(owner, f.name, value, 0.01, 100.0)
            elif f.name == "damping":
                _check_range(owner, f.name, value, 1e-4, 1.0)
            else:
                _check_positive_finite(owner, f.name, value)
        demag_sum = self.demag_x + self.demag_y + self.demag_z
        if abs(demag_sum - 1.0) > 1e-3:
            raise ParameterError(f"{owner}: demag_x + demag_y + demag_z must be 1, got {demag_sum:.4f}")

    @property
    def area(self) -> float:
        """Junction area, m²."""
        return math.pi * (self.diameter / 2.0) ** 2

    @property
    def volume(self) -> float:
        """Free-layer volume, m³."""
        return self.area * self.free_layer_thickness

    @property
    def thermal_energy(self) -> float:
        """k_B·T, J."""
        return K_B * self.temperature

    @property
    def capacitance(self) -> float:
        """Junction capacitance C = ε0·ε_MgO·A/t_ox, F (docs/formulas.md F17)."""
        return EPS0 * self.oxide_permittivity * self.area / self.oxide_thickness


@dataclass(frozen=True)
class VariationParameters:
    """Device-to-device spread: each device of an array draws its own values once (fab variation).

    Attributes:
        interfacial_anisotropy_rel: relative σ of K_i0. 0.2 %. The reference model quotes 5 % σ
            "on K_i, R_P, TMR"; applied to K_i0 that would be σ(Δ0) ≈ 24 kT for a device whose
            Δ0 is 20 kT (K_eff is a small difference of two large terms), i.e. half the devices
            would have no barrier at all. spindiff therefore applies 0.2 % to K_i0, which gives
            σ(Δ0) ≈ 1 kT ≈ 5 % of Δ0 — the reference's 5 % on the barrier that matters.
        resistance_parallel_rel: relative σ of R_P. 5 %.
        tmr_rel: relative σ of TMR. 5 %.
        stray_field_abs: σ of the stray field, A/m. 500 A/m (≈ 6 Oe); spindiff's assumption.
    """

    interfacial_anisotropy_rel: float = 0.002
    resistance_parallel_rel: float = 0.05
    tmr_rel: float = 0.05
    stray_field_abs: float = 500.0

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name in ("interfacial_anisotropy_rel", "resistance_parallel_rel", "tmr_rel"):
            _check_range(owner, name, getattr(self, name), 0.0, 0.5)
        _check_range(owner, "stray_field_abs", self.stray_field_abs, 0.0, 1e6)


NO_VARIATION = VariationParameters(0.0, 0.0, 0.0, 0.0)


# --- closed-form device quantities --------------------------------------------------------------
# Every function broadcasts over numpy arrays: voltage, field and k_i0 may be scalars or arrays.


def interfacial_anisotropy(params: MTJParameters, voltage, k_i0=None):
    """K_i(V) = K_i0 − ξ·V/t_ox, J/m² (docs/formulas.md F11; Stochastic_MTJ_Model)."""
    k_i0 = params.interfacial_anisotropy if k_i0 is None else k_i0
    return k_i0 - params.vcma_coefficient * np.asarray(voltage, dtype=float) / params.oxide_thickness


def effective_anisotropy(params: MTJParameters, voltage, k_i0=None):
    """K_eff(V) = K_i(V)/t_f − ½µ0·M_s²·(N_z − N_x), J/m³ (F12). Negative means in-plane easy."""
    shape = 0.5 * MU0 * params.saturation_magnetisation**2 * (params.demag_z - params.demag_x)
    return interfacial_anisotropy(params, voltage, k_i0) / params.free_layer_thickness - shape


def anisotropy_field(params: MTJParameters, voltage, k_i0=None):
    """H_k,eff(V) = 2·K_eff(V)/(µ0·M_s), A/m (F11)."""
    return 2.0 * effective_anisotropy(params, voltage, k_i0) / (MU0 * params.saturation_magnetisation)


def thermal_stability(params: MTJParameters, voltage, k_i0=None):
    """Δ(V) = K_eff(V)·Vol/(k_B·T), dimensionless (F12); negative above V_c."""
    return effective_anisotropy(params, voltage, k_i0) * params.volume / params.thermal_energy


def critical_voltage(params: MTJParameters, k_i0=None):
    """V_c where K_eff(V_c) = 0 and the barrier vanishes, V."""
    k_eff0 = effective_anisotropy(params, 0.0, k_i0)
    return k_eff0 * params.free_layer_thickness * params.oxide_thickness / params.vcma_coefficient


def hard_axis_relaxation_time(params: MTJParameters, voltage, k_i0=None):
    """Damping time towards the plane during a pulse above V_c, (1+α²)/(α·γ0·|H_k(V)|), s."""
    hk = np.abs(anisotropy_field(params, voltage, k_i0))
    return (1.0 + params.damping**2) / (params.damping * GAMMA0 * hk)


def resistance(params: MTJParameters, cos_theta, voltage, r_p=None, tmr=None):
    """Bias-dependent MTJ resistance, Ω (F16; Stochastic_MTJ_Model):
    R(θ, V) = R_P·(1 + (V/V_h)² + TMR) / (1 + (V/V_h)² + TMR·(1 + cos θ)/2).
    cos θ = +1 is parallel (R = R_P at V = 0), −1 anti-parallel (R = R_P·(1 + TMR) at V = 0).
    """
    r_p = params.resistance_parallel if r_p is None else r_p
    tmr = params.tmr if tmr is None else tmr
    bias = (np.asarray(voltage, dtype=float) / params.tmr_half_voltage) ** 2
    return r_p * (1.0 + bias + tmr) / (1.0 + bias + tmr * (1.0 + np.asarray(cos_theta)) / 2.0)
