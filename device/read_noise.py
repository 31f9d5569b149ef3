"""Read noise of an MTJ cell read: derived from the read itself, not a free knob.

A read integrates the cell current I = G·V for t_read. Its white current noise (docs/physics.md,
"Read noise"):

* thermal (Johnson–Nyquist) noise of the conductance, S_th = 4·k_B·T·G  (A²/Hz; Nyquist, Phys. Rev.
  32, 110, 1928);
* shot noise of the tunnelling current, S_sh = 2·q·I  (A²/Hz; Schottky, Ann. Phys. 57, 541, 1918; full
  shot noise in MgO tunnel junctions: Guerrero et al., Appl. Phys. Lett. 91, 132504, 2007);
* everything else in the read path — the sense amplifier's own noise and the junction's 1/f noise
  — as a **noise factor** F ≥ 1 on top (Friis, Proc. IRE 32, 419, 1944: F = total noise power /
  the source's own noise power), ``CrossbarParameters.read_noise_factor``.

over the noise bandwidth of an integrator of length t_read, Δf = 1/(2·t_read) (the equivalent noise
bandwidth of a boxcar average, ∫|sinc(πft)|²df = 1/(2t)). The per-cell relative σ is then

    σ_I/I = sqrt(F·(4·k_B·T·G + 2·q·G·V)·Δf) / (G·V),      Δf = 1/(2·t_read),

so σ ∝ 1/√t_read: a read twice as quiet takes 4× the read time, and with it 4× the array read
energy (F1, E ∝ t_read) and read latency. The sum of thermal and shot noise is the circuit-level
convention; for the junction alone 2·q·I·coth(qV/2k_BT) is exact and ≈ 30 % smaller at 0.1 V,
a difference F absorbs.

The engines (`device.crossbar`, the torch and statistical engines of diffusion/) give every cell
one relative σ, i.e. a noise σ·G_j·V_j per cell. The derived σ is evaluated at one **operating
point**: the parallel ("1") cell, G = 1/R_P (F16: bias-independent in P), at the full-scale read
voltage — the largest cell current, where the per-cell model is exact. Elsewhere it is an
approximation: thermal and shot noise scale as G and G·|V|, not G²V², so anti-parallel cells
(G ≈ G_on/2.15) and small inputs carry more relative noise than the engines give them (up to ≈ 2×
in the white part's variance at uniformly spread inputs). The part of F that is 1/f noise
(S ∝ I², Hooge) scales like the engines do, but is modelled as falling with 1/t_read like the
rest — an assumption, stated in docs/physics.md with the default's value.
"""

from __future__ import annotations

import dataclasses
import math

from device.errors import ParameterError
from device.mtj_parameters import K_B, MTJParameters, resistance

Q_E = 1.602176634e-19  # elementary charge, C (SI 2019, exact)

#: Default noise factor of the read path. Assumption: chosen so that the 1 ns, 0.1 V read of the
#: default 5 kΩ cell keeps the 1 % relative read noise spindiff has always used (its white thermal +
#: shot floor is 0.349 %, so F = (1 %/0.349 %)² ≈ 8.23, a 9.2 dB noise figure for the sense
#: amplifier plus the junction's 1/f noise at that read). docs/physics.md, "Read noise".
DEFAULT_NOISE_FACTOR = 8.23


def noise_bandwidth(read_time: float) -> float:
    """Δf = 1/(2·t_read), Hz: the equivalent noise bandwidth of integrating for ``read_time``."""
    return 0.5 / read_time


def white_noise_density(conductance: float, voltage: float, temperature: float) -> float:
    """4·k_B·T·G + 2·q·G·|V|, A²/Hz: thermal plus shot noise of a cell read at ``voltage``."""
    return 4.0 * K_B * temperature * conductance + 2.0 * Q_E * conductance * abs(voltage)


def relative_read_noise(conductance, voltage, read_time, temperature, noise_factor) -> float:
    """σ_I/I = sqrt(F·(4k_BTG + 2qG|V|)/(2·t_read)) / (G·|V|) of one cell read (module docstring)."""
    variance = noise_factor * white_noise_density(conductance, voltage, temperature) * noise_bandwidth(read_time)
    return math.sqrt(variance) / (conductance * abs(voltage))


def read_time_for(target: float, conductance, voltage, temperature, noise_factor) -> float:
    """The read time whose relative noise is ``target`` (the inverse of `relative_read_noise`), s."""
    density = noise_factor * white_noise_density(conductance, voltage, temperature)
    return 0.5 * density / (target * conductance * abs(voltage)) ** 2


def operating_conductance(params: MTJParameters, read_voltage: float) -> float:
    """G of the parallel cell at ``read_voltage`` (F16), S: the operating point of the derived σ."""
    return 1.0 / float(resistance(params, 1.0, read_voltage))


def derived_read_noise(params: MTJParameters, cb) -> float:
    """The relative read noise the physics gives ``cb``'s read (``read_voltage``, ``read_time``,
    ``read_noise_factor``) of a cell of device ``params`` (R_P, temperature) at the operating point."""
    g = operating_conductance(params, cb.read_voltage)
    return relative_read_noise(g, cb.read_voltage, cb.read_time, params.temperature, cb.read_noise_factor)


def effective_read_noise(params: MTJParameters, cb) -> float:
    """The σ the engines use: ``cb.read_noise`` where it is set (an explicit override), else derived."""
    return derived_read_noise(params, cb) if cb.read_noise is None else float(cb.read_noise)


def resolve(params: MTJParameters, cb):
    """``cb`` with ``read_noise`` set to its effective value (unchanged when it is already set).

    `device.crossbar_programming.program` and `device.crossbar.ProgrammedMatrix` call it, so every
    engine of a programmed matrix reads one number, ``matrix.cb.read_noise``.
    """
    if cb.read_noise is not None:
        return cb
    return dataclasses.replace(cb, read_noise=derived_read_noise(params, cb))


def read_noise_summary(params: MTJParameters, cb) -> dict:
    """What the report states about the read noise: effective and derived σ, and their basis."""
    derived = derived_read_noise(params, cb)
    effective = effective_read_noise(params, cb)
    g = operating_conductance(params, cb.read_voltage)
    white = relative_read_noise(g, cb.read_voltage, cb.read_time, params.temperature, 1.0)
    summary = {
        "effective": effective,
        "derived": derived,
        "white_floor": white,
        "source": "derived" if cb.read_noise is None else "override",
        "model": (
            f"σ/I = sqrt(F·(4kTG + 2qGV)/(2·t_read))/(GV) at the parallel cell: G = {g:.4g} S, V = {cb.read_voltage} V, "
            f"t_read = {cb.read_time} s, T = {params.temperature} K, F = {cb.read_noise_factor} (noise factor of the read "
            "path: sense amplifier and 1/f noise; assumption)"
        ),
    }
    if cb.read_noise is not None and not math.isclose(effective, derived, rel_tol=1e-6):
        needed = (
            read_time_for(effective, g, cb.read_voltage, params.temperature, cb.read_noise_factor)
            if effective > 0
            else None
        )
        summary["warning"] = (
            f"crossbar.read_noise = {effective} is set directly (an override, not physics): the read as specified gives "
            f"{derived:.4g}"
            + (
                f"; reaching {effective} would take read_time = {needed:.3g} s (or a lower read_noise_factor, ≥ 1)"
                if needed
                else ""
            )
        )
    return summary


def check_noise_factor(owner: str, value) -> None:
    """F must be a finite number ≥ 1: a read path cannot be quieter than the cell's own noise."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ParameterError(f"{owner}.read_noise_factor must be a finite number, got {value!r}")
    if value < 1.0:
        raise ParameterError(
            f"{owner}.read_noise_factor must be >= 1 (1 = a noiseless sense amplifier: only the cell's thermal and "
            f"shot noise), got {value!r}; for quieter reads raise read_time (σ ∝ 1/√t_read) or read_voltage"
        )
