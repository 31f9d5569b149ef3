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
from dataclasses import dataclass

import numpy as np

from device.errors import FieldError
from device.parameter_spec import check_declared, field_errors, param, raise_if

MU0 = 4e-7 * math.pi  # vacuum permeability, T·m/A
K_B = 1.380649e-23  # Boltzmann constant, J/K
GAMMA0 = 2.21e5  # gyromagnetic ratio times µ0, m/(A·s) (docs/formulas.md F15)
EPS0 = 8.8541878128e-12  # vacuum permittivity, F/m


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

    LABEL = "MTJ device"
    SUMMARY = "One VCMA magnetic tunnel junction, nominal values: every random-bit device and memory cell is one (each drawing its own spread, below)."
    GROUPS = (
        (
            "geometry",
            "Geometry",
            "The pillar: a circular free layer on an MgO barrier. Its volume sets the barrier Δ, its area the resistance and capacitance.",
        ),
        (
            "magnetics",
            "Anisotropy and dynamics",
            "Interface anisotropy, its voltage control (VCMA) and the shape terms fix the barrier Δ0 ≈ 20 k_BT and the "
            "critical voltage V_c ≈ 0.56 V of the default device (docs/formulas.md F11, F12); damping sets how fast it "
            "relaxes.",
        ),
        (
            "electrical",
            "Resistance and TMR",
            "What a read sees: R_P, the TMR ratio and its fall with bias (F16), and the barrier's capacitance (F17).",
        ),
        (
            "environment",
            "Temperature, stray field, model fit",
            "Temperature sets k_BT; the reference layer's stray field biases the hard-axis regime; one constant calibrates "
            "the thermal-regime model to the LLG macrospin.",
        ),
    )

    diameter: float = param(
        50e-9,
        label="Free-layer diameter",
        unit="m",
        display=("nm", -9),
        low=0.0,
        low_open=True,
        group="geometry",
        description="Diameter of the circular pillar: sets the junction's area and the free layer's volume.",
        source="Stochastic_MTJ_Model (reference VCMA MTJ)",
    )
    free_layer_thickness: float = param(
        1.1e-9,
        label="Free-layer thickness t_f",
        unit="m",
        display=("nm", -9),
        low=0.0,
        low_open=True,
        group="geometry",
        description="CoFeB free-layer thickness; the interface anisotropy acts through K_i/t_f.",
        source="Stochastic_MTJ_Model",
    )
    oxide_thickness: float = param(
        1.0e-9,
        label="Oxide thickness t_ox",
        unit="m",
        display=("nm", -9),
        low=0.0,
        low_open=True,
        group="geometry",
        description="MgO barrier thickness: the VCMA term is ξ·V/t_ox, the capacitance ε0·ε_r·A/t_ox.",
        source="Stochastic_MTJ_Model",
    )
    interfacial_anisotropy: float = param(
        1.0056e-3,
        label="Interface anisotropy K_i0",
        unit="J/m²",
        display=("mJ/m²", -3),
        low=0.0,
        low_open=True,
        group="magnetics",
        description="Interface anisotropy at zero bias (F11); K_eff is a small difference of large terms.",
        source="Stochastic_MTJ_Model",
    )
    vcma_coefficient: float = param(
        75e-15,
        label="VCMA coefficient ξ",
        unit="J/(V·m)",
        display=("fJ/(V·m)", -15),
        low=0.0,
        low_open=True,
        group="magnetics",
        description="Anisotropy lowered per unit electric field across the barrier.",
        source="Stochastic_MTJ_Model (literature 33–290 fJ/(V·m))",
    )
    saturation_magnetisation: float = param(
        1.2e6,
        label="Saturation magnetisation M_s",
        unit="A/m",
        display=("MA/m", 6),
        low=0.0,
        low_open=True,
        group="magnetics",
        description="Sets the shape anisotropy ½µ0·M_s²·(N_z − N_x) and the anisotropy field.",
        source="Stochastic_MTJ_Model",
    )
    damping: float = param(
        0.03,
        label="Gilbert damping α",
        low=1e-4,
        high=1.0,
        group="magnetics",
        description="Relaxation rate of the magnetisation: τ = (1 + α²)/(α·γ0·|H_k|) in the hard-axis regime.",
        source="Stochastic_MTJ_Model",
    )
    demag_x: float = param(
        0.0106,
        label="Demagnetising factor N_x",
        low=0.0,
        high=1.0,
        group="magnetics",
        description="In-plane shape factor; N_x + N_y + N_z must be 1.",
        source="spindiff fit: gives the reference's Δ0 ≈ 20 k_BT and V_c ≈ 0.56 V (docs/formulas.md)",
    )
    demag_y: float = param(
        0.0106,
        label="Demagnetising factor N_y",
        low=0.0,
        high=1.0,
        group="magnetics",
        description="In-plane shape factor; N_x + N_y + N_z must be 1.",
        source="spindiff fit (docs/formulas.md)",
    )
    demag_z: float = param(
        0.9788,
        label="Demagnetising factor N_z",
        low=0.0,
        high=1.0,
        group="magnetics",
        description="Out-of-plane shape factor (an ideal 50 nm × 1.1 nm disc: 0.93); N_x + N_y + N_z must be 1.",
        source="spindiff fit (docs/formulas.md)",
    )
    resistance_parallel: float = param(
        5e3,
        label="Parallel resistance R_P",
        unit="Ω",
        display=("kΩ", 3),
        low=0.0,
        low_open=True,
        group="electrical",
        description="Low-bias resistance of the parallel state; a cell's read current is V/R.",
        source="Stochastic_MTJ_Model",
    )
    tmr: float = param(
        1.2,
        label="TMR ratio",
        display=("%", -2),
        low=0.0,
        low_open=True,
        group="electrical",
        description="(R_AP − R_P)/R_P at zero bias: the read contrast between the two states.",
        source="Stochastic_MTJ_Model",
    )
    tmr_half_voltage: float = param(
        0.5,
        label="TMR half-voltage V_h",
        unit="V",
        low=0.0,
        low_open=True,
        group="electrical",
        description="Bias at which the TMR has halved: TMR(V) = TMR0/(1 + (V/V_h)²).",
        source="docs/formulas.md F16",
    )
    oxide_permittivity: float = param(
        4.0,
        label="MgO relative permittivity ε_r",
        low=0.0,
        low_open=True,
        group="electrical",
        description="Sets the junction capacitance C = ε0·ε_r·A/t_ox, charged by every pulse (F17).",
        source="docs/formulas.md F17",
    )
    temperature: float = param(
        300.0,
        label="Temperature",
        unit="K",
        low=0.0,
        low_open=True,
        group="environment",
        description="Device temperature: k_BT in the barrier Δ and the thermal noise of every read.",
        source="room temperature",
    )
    stray_field: float = param(
        2.0e3,
        label="Stray field",
        unit="A/m",
        display=("kA/m", 3),
        group="environment",
        description="Mean out-of-plane field of the reference layer on the free layer, + favours parallel.",
        source="assumption: a typical pMTJ offset (≈ 25 Oe); not in the reference model",
    )
    attempt_rate_scale: float = param(
        0.8,
        label="Attempt-rate scale",
        low=0.01,
        high=100.0,
        group="environment",
        description="Multiplies Brown's attempt rate in the thermal-regime (Néel–Brown) switching model.",
        source="fitted to device.llg at 300 K, 30–300 ns pulses (docs/physics.md)",
    )

    def __post_init__(self) -> None:
        errors = field_errors(self)
        demag_sum = self.demag_x + self.demag_y + self.demag_z
        if not errors and abs(demag_sum - 1.0) > 1e-3:
            message = f"{type(self).__name__}: demag_x + demag_y + demag_z must be 1, got {demag_sum:.4f}"
            errors.append(FieldError("demag_z", message, ("demag_x", "demag_y")))
        raise_if(errors)

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

    LABEL = "Device-to-device variation"
    SUMMARY = "How much the devices of one chip differ from the nominal MTJ: drawn once per device from the chip seed."
    GROUPS = (
        (
            "spread",
            "Fab spread",
            "Each device of an array draws its own K_i0, R_P, TMR and stray field once, from normal distributions with these σ around the nominal values.",
        ),
    )

    interfacial_anisotropy_rel: float = param(
        0.002,
        label="K_i0 spread (relative σ)",
        display=("%", -2),
        low=0.0,
        high=0.5,
        group="spread",
        description="σ of K_i0 over its nominal value; 0.2 % gives σ(Δ0) ≈ 1 k_BT ≈ 5 % of Δ0.",
        source="spindiff: the reference's 5 % applied to Δ0, not to K_i0 (it would erase half the barriers)",
    )
    resistance_parallel_rel: float = param(
        0.05,
        label="R_P spread (relative σ)",
        display=("%", -2),
        low=0.0,
        high=0.5,
        group="spread",
        description="σ of each device's R_P over the nominal value.",
        source="Stochastic_MTJ_Model (5 %)",
    )
    tmr_rel: float = param(
        0.05,
        label="TMR spread (relative σ)",
        display=("%", -2),
        low=0.0,
        high=0.5,
        group="spread",
        description="σ of each device's TMR over the nominal value.",
        source="Stochastic_MTJ_Model (5 %)",
    )
    stray_field_abs: float = param(
        500.0,
        label="Stray-field spread (σ)",
        unit="A/m",
        low=0.0,
        high=1e6,
        group="spread",
        description="σ of each device's stray field around the mean (≈ 6 Oe).",
        source="assumption of spindiff",
    )

    def __post_init__(self) -> None:
        raise_if(field_errors(self))


NO_VARIATION = VariationParameters(0.0, 0.0, 0.0, 0.0)
check_declared(MTJParameters)
check_declared(VariationParameters)


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
