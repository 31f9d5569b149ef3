"""Stochastic Landau–Lifshitz–Gilbert macrospin: the physical ground truth for the compact model.

Each Monte-Carlo trial is one free layer, treated as a single macrospin m (|m| = 1), driven through
one write cycle: a VCMA pulse of ``voltage`` for ``pulse_width`` followed by ``relax_time`` at zero
bias, then read out as the sign of m_z. Trials run in parallel (numba ``prange``), each with its own
explicit random stream, so parallel and serial runs agree exactly.

Equation (Landau–Lifshitz form of the Gilbert equation, integrated with Heun's method — the
Stratonovich-consistent predictor–corrector — and renormalised every step):
    dm/dt = −γ'·[m × H + α·m × (m × H)],   γ' = γ0/(1 + α²),   γ0 = 2.21e5 m/(A·s)
    H = H_k,i(V)·m_z·ẑ − M_s·(N_x m_x, N_y m_y, N_z m_z) + H_z·ẑ + H_th
    H_k,i(V) = 2·K_i(V)/(µ0·M_s·t_f),   K_i(V) = K_i0 − ξ·V/t_ox            (docs/formulas.md F11)
    H_th ~ N(0, σ²) per component per step, σ = sqrt(2α·k_B·T/(µ0·γ'·M_s·Vol·Δt))   (F15)
Pulse edges are ideal steps. The initial state is drawn from the Boltzmann distribution of the +z
well at zero bias (1 − m_z exponential with rate 2Δ0(1 + h0), uniform azimuth), its leading-order
form for Δ0 ≫ 1. Once the pulse is over, a trial whose |m_z| exceeds ``settle_mz`` is decided
(going back over a 20 kT barrier within the remaining nanoseconds has probability ~e⁻²⁰).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import prange

from device import mtj
from device.errors import ParameterError
from device.numba_config import njit
from device.random_streams import new_stream_states, next_normal_pair, next_uniform


class _MacrospinConstants(NamedTuple):
    """Everything the kernel needs, in SI units (house rule 12: one NamedTuple, not 20 arguments)."""

    gamma_prime: float  # γ0/(1+α²), m/(A·s)
    alpha: float
    hk_pulse: float  # interfacial anisotropy field during the pulse, A/m
    hk_rest: float  # interfacial anisotropy field at zero bias, A/m
    ms: float
    nx: float
    ny: float
    nz: float
    field_z: float  # applied/stray field along z, A/m
    thermal_sigma: float  # σ of each thermal-field component per step, A/m
    dt: float  # s
    pulse_steps: int
    relax_steps: int
    init_rate: float  # rate of the exponential law of 1 − m_z in the initial state
    settle_mz: float


@dataclass(frozen=True)
class MacrospinSettings:
    """Integration settings. Defaults resolve the fastest precession of the default device
    (≈ 3 GHz at 1.5 V) with ≈ 60 steps per period; ``time_step`` 40 ps (the reference model's
    default) is too coarse for that and is rejected below 20 steps per period.

    Attributes:
        time_step: Δt, s. 5 ps.
        relax_time: zero-bias time after the pulse before readout, s. 30 ns (docs/formulas.md, default device).
        settle_mz: |m_z| after the pulse above which a trial counts as decided. 0.9.
    """

    time_step: float = 5e-12
    relax_time: float = 30e-9
    settle_mz: float = 0.9

    def __post_init__(self) -> None:
        for name in ("time_step", "relax_time"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ParameterError(f"MacrospinSettings.{name} must be a positive finite number, got {value!r}")
        if not 0.5 <= self.settle_mz < 1.0:
            raise ParameterError(f"MacrospinSettings.settle_mz must lie in [0.5, 1), got {self.settle_mz!r}")


class MacrospinResult(NamedTuple):
    """Outcome of `simulate_write_cycles`; arrays have shape (n_trials,)."""

    switched: np.ndarray  # bool, ended in −z
    mz_pulse_end: np.ndarray  # m_z at the end of the pulse

    @property
    def probability(self) -> float:
        return float(self.switched.mean())

    @property
    def standard_error(self) -> float:
        p = self.probability
        return math.sqrt(max(p * (1.0 - p), 1e-12) / self.switched.shape[0])


def _constants(params, voltage, pulse_width, field, settings) -> _MacrospinConstants:
    ms = params.saturation_magnetisation
    to_field = 2.0 / (mtj.MU0 * ms * params.free_layer_thickness)
    gamma_prime = mtj.GAMMA0 / (1.0 + params.damping**2)
    sigma = math.sqrt(
        2.0 * params.damping * params.thermal_energy / (mtj.MU0 * gamma_prime * ms * params.volume * settings.time_step)
    )
    fastest = max(
        abs(float(mtj.anisotropy_field(params, voltage))), abs(float(mtj.anisotropy_field(params, 0.0)))
    ) + abs(field)
    steps_per_period = 2.0 * math.pi / (mtj.GAMMA0 * fastest * settings.time_step)
    if steps_per_period < 20:
        raise ParameterError(
            f"MacrospinSettings.time_step={settings.time_step:g} s gives {steps_per_period:.1f} steps per "
            "precession period; use a step of at most 1/20 period"
        )
    delta0 = float(mtj.thermal_stability(params, 0.0))
    h0 = field / float(mtj.anisotropy_field(params, 0.0))
    return _MacrospinConstants(
        gamma_prime=gamma_prime,
        alpha=params.damping,
        hk_pulse=float(mtj.interfacial_anisotropy(params, voltage)) * to_field,
        hk_rest=float(mtj.interfacial_anisotropy(params, 0.0)) * to_field,
        ms=ms,
        nx=params.demag_x,
        ny=params.demag_y,
        nz=params.demag_z,
        field_z=float(field),
        thermal_sigma=sigma,
        dt=settings.time_step,
        pulse_steps=int(round(pulse_width / settings.time_step)),
        relax_steps=int(round(settings.relax_time / settings.time_step)),
        init_rate=2.0 * delta0 * max(1.0 + h0, 0.05),
        settle_mz=settings.settle_mz,
    )


@njit
def _torque(mx, my, mz, hx, hy, hz, gamma_prime, alpha):
    """dm/dt of the LL form: −γ'[m×H + α m×(m×H)]."""
    cx = my * hz - mz * hy
    cy = mz * hx - mx * hz
    cz = mx * hy - my * hx
    dx = my * cz - mz * cy
    dy = mz * cx - mx * cz
    dz = mx * cy - my * cx
    return -gamma_prime * (cx + alpha * dx), -gamma_prime * (cy + alpha * dy), -gamma_prime * (cz + alpha * dz)


@njit
def _heun_step(mx, my, mz, hk, c, tx, ty, tz):
    """One Heun step with a fixed thermal field (tx, ty, tz); returns the renormalised m."""
    hx = -c.ms * c.nx * mx + tx
    hy = -c.ms * c.ny * my + ty
    hz = (hk - c.ms * c.nz) * mz + c.field_z + tz
    ax, ay, az = _torque(mx, my, mz, hx, hy, hz, c.gamma_prime, c.alpha)
    px = mx + ax * c.dt
    py = my + ay * c.dt
    pz = mz + az * c.dt
    hx = -c.ms * c.nx * px + tx
    hy = -c.ms * c.ny * py + ty
    hz = (hk - c.ms * c.nz) * pz + c.field_z + tz
    bx, by, bz = _torque(px, py, pz, hx, hy, hz, c.gamma_prime, c.alpha)
    mx = mx + 0.5 * (ax + bx) * c.dt
    my = my + 0.5 * (ay + by) * c.dt
    mz = mz + 0.5 * (az + bz) * c.dt
    norm = math.sqrt(mx * mx + my * my + mz * mz)
    return mx / norm, my / norm, mz / norm


@njit
def _one_trial(c, states, row):
    one_minus_mz = min(-math.log(1.0 - next_uniform(states, row)) / c.init_rate, 1.0)
    mz = 1.0 - one_minus_mz
    phi = 2.0 * math.pi * next_uniform(states, row)
    st = math.sqrt(max(0.0, 1.0 - mz * mz))
    mx = st * math.cos(phi)
    my = st * math.sin(phi)
    for _ in range(c.pulse_steps):
        t1, t2 = next_normal_pair(states, row)
        t3, _unused = next_normal_pair(states, row)
        s = c.thermal_sigma
        mx, my, mz = _heun_step(mx, my, mz, c.hk_pulse, c, s * t1, s * t2, s * t3)
    mz_pulse_end = mz
    for _ in range(c.relax_steps):
        if abs(mz) > c.settle_mz:
            break
        t1, t2 = next_normal_pair(states, row)
        t3, _unused = next_normal_pair(states, row)
        s = c.thermal_sigma
        mx, my, mz = _heun_step(mx, my, mz, c.hk_rest, c, s * t1, s * t2, s * t3)
    return mz < 0.0, mz_pulse_end


@njit(parallel=True)
def _simulate(c, states, switched, mz_end):
    for row in prange(states.shape[0]):
        s, m = _one_trial(c, states, row)
        switched[row] = s
        mz_end[row] = m


def simulate_write_cycles(
    params: mtj.MTJParameters,
    voltage: float,
    pulse_width: float,
    field: float,
    n_trials: int,
    seed: int,
    settings: MacrospinSettings = MacrospinSettings(),
) -> MacrospinResult:
    """Monte-Carlo P_sw of the nominal device: ``n_trials`` independent write cycles.

    Args:
        voltage: pulse amplitude, V (finite).
        pulse_width: s, > 0.
        field: total out-of-plane field on the free layer, A/m, + favours +z.
        n_trials: number of independent devices/cycles (≥ 1).
        seed: seeds the per-trial random streams; the same seed gives the same result.
    """
    for name, value in (("voltage", voltage), ("field", field)):
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ParameterError(f"{name} must be a finite number, got {value!r}")
    if not (isinstance(pulse_width, (int, float)) and math.isfinite(pulse_width) and pulse_width > 0):
        raise ParameterError(f"pulse_width must be a positive finite number of seconds, got {pulse_width!r}")
    if not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ParameterError(f"n_trials must be a positive integer, got {n_trials!r}")
    constants = _constants(params, float(voltage), float(pulse_width), float(field), settings)
    states = new_stream_states(int(n_trials), np.random.default_rng(seed))
    switched = np.empty(n_trials, dtype=np.bool_)
    mz_end = np.empty(n_trials, dtype=np.float64)
    _simulate(constants, states, switched, mz_end)
    return MacrospinResult(switched, mz_end)
