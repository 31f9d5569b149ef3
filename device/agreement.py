"""Compact switching model against the stochastic-LLG macrospin, voltage by voltage.

This is the evidence that the fast compact model of `device.mtj` (used for every device of every
array) describes the physics of `device.llg` (slow, used only for checking). `STANDARD_SWEEPS` are
the two sweeps the tests and ``spindiff physics-check`` run: one per switching regime, each over
eight pulse voltages, with Monte-Carlo trials enough that the standard error stays below 0.008.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from device import llg, mtj


@dataclass(frozen=True)
class Sweep:
    """One voltage sweep at fixed pulse width (s) and field (A/m, + favours +z)."""

    name: str
    voltages: tuple[float, ...]
    pulse_width: float
    field: float


@dataclass(frozen=True)
class AgreementRow:
    """One voltage of a sweep: both probabilities of ending in −z and the Monte-Carlo error."""

    sweep: str
    voltage: float
    pulse_width: float
    field: float
    regime: str
    compact: float
    macrospin: float
    standard_error: float
    compact_valid: bool

    @property
    def difference(self) -> float:
        return self.compact - self.macrospin

    def to_dict(self) -> dict:
        return {**asdict(self), "difference": self.difference}


STANDARD_SWEEPS = (
    # Thermal regime: a write-assist field of −6 kA/m (favouring −z) so that P rises with V.
    Sweep("thermal", (0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45), 30e-9, -6.0e3),
    # Hard-axis regime at the reference's 30 ns pulse, stray field only (the RNG's operating regime).
    Sweep("hard_axis", (0.90, 1.05, 1.20, 1.35, 1.50, 1.65, 1.80, 2.00), 30e-9, 2.0e3),
)


def compare(
    params: mtj.MTJParameters,
    sweep: Sweep,
    n_trials: int = 4000,
    seed: int = 2025,
    settings: llg.MacrospinSettings = llg.MacrospinSettings(),
) -> list[AgreementRow]:
    """Run ``sweep`` through both models; the macrospin with ``n_trials`` trials per voltage."""
    rows = []
    for k, voltage in enumerate(sweep.voltages):
        result = llg.simulate_write_cycles(
            params, voltage, sweep.pulse_width, sweep.field, n_trials, seed + k, settings
        )
        compact = float(mtj.switching_probability(params, voltage, sweep.pulse_width, sweep.field))
        regime = mtj.regime(params, voltage)
        if regime == "thermal":
            valid = bool(mtj.thermal_model_valid(params, voltage, sweep.field))
        else:
            valid = bool(mtj.hard_axis_model_valid(params, voltage, sweep.pulse_width))
        rows.append(
            AgreementRow(
                sweep=sweep.name,
                voltage=float(voltage),
                pulse_width=sweep.pulse_width,
                field=sweep.field,
                regime=regime,
                compact=compact,
                macrospin=result.probability,
                standard_error=result.standard_error,
                compact_valid=valid,
            )
        )
    return rows


def worst_difference(rows: list[AgreementRow]) -> float:
    """Largest |compact − macrospin| over ``rows`` (nan for no rows)."""
    return max((abs(r.difference) for r in rows), default=math.nan)


def format_table(rows: list[AgreementRow]) -> str:
    """A plain-text table for docs and the CLI."""
    lines = ["sweep      V (V)  t_p (ns)  H (kA/m)  regime     compact  macrospin  ±SE     diff    valid"]
    for r in rows:
        lines.append(
            f"{r.sweep:<10} {r.voltage:5.2f}  {r.pulse_width * 1e9:8.1f}  {r.field / 1e3:8.2f}  {r.regime:<9}  "
            f"{r.compact:7.3f}  {r.macrospin:9.3f}  {r.standard_error:.3f}  {r.difference:+.3f}  {r.compact_valid}"
        )
    return "\n".join(lines)


def as_arrays(rows: list[AgreementRow]) -> dict[str, np.ndarray]:
    """Columns of ``rows`` as arrays (for plots)."""
    return {
        key: np.array([getattr(r, key) for r in rows]) for key in ("voltage", "compact", "macrospin", "standard_error")
    }
