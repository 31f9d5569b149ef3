"""The ledger: counts of every emulated action, per phase, for the cost model of `device.cost`.

The emulator's parts add what they do (`Ledger.add`): the crossbars their cell reads (with the
actual read energy Σ V²·G·t), ADC and DAC conversions, shift-adds and MVM latency; the chip its
write pulses and verify reads; the random source its cycles, resets and calibration (`add_rng`);
the network's digital layers their ops. ``"programming"`` happens once per chip, ``"inference"``
per request; `device.cost.cost_report` turns a ledger into joules, µm² and seconds.
"""

from __future__ import annotations

import math

import numpy as np

from device.errors import InputError

PHASES = ("programming", "inference")
COUNTERS: dict[str, type] = {
    "array_read_energy_j": float,
    "cell_reads": int,
    "adc_conversions": int,
    "dac_conversions": int,
    "shift_adds": int,
    "digital_ops": int,
    "macs": int,
    "write_pulses": int,
    "write_verify_reads": int,
    "rng_cycles": int,
    "rng_reset_pulses": int,
    "rng_output_bits": int,
    "gaussian_samples": int,
    "rng_calibration_cycles": int,
    "rng_calibration_reset_pulses": int,
    "mvm_latency_s": float,
    "digital_latency_s": float,
}
RNG_COUNTER_MAP = {
    "cycles": "rng_cycles",
    "reset_pulses": "rng_reset_pulses",
    "output_bits": "rng_output_bits",
    "gaussian_samples": "gaussian_samples",
    "calibration_cycles": "rng_calibration_cycles",
    "calibration_reset_pulses": "rng_calibration_reset_pulses",
}


def check_phase(phase) -> None:
    if phase not in PHASES:
        raise InputError(f"unknown ledger phase {phase!r}; phases are {PHASES}")


def _check_count(name: str, value):
    if name not in COUNTERS:
        raise InputError(f"unknown ledger counter {name!r}; counters are {', '.join(COUNTERS)}")
    kind = COUNTERS[name]
    allowed = (int, np.integer) if kind is int else (int, float, np.integer, np.floating)
    if not isinstance(value, allowed) or isinstance(value, (bool, np.bool_)) or not math.isfinite(value):
        raise InputError(f"ledger counter {name} must be a finite {kind.__name__}, got {value!r}")
    if value < 0:
        raise InputError(f"ledger counter {name} must be >= 0, got {value!r}")
    return kind(value)


class Ledger:
    """Counts of emulated actions per phase: ``"programming"`` (once per chip) and ``"inference"``.

    Counters are `COUNTERS` (ints, except the energy and latency accumulators). Every method
    validates fully before it changes anything.
    """

    def __init__(self) -> None:
        self._counts = {p: {k: t(0) for k, t in COUNTERS.items()} for p in PHASES}

    def add(self, phase: str, **counts) -> None:
        """Add non-negative ``counts`` (counter name → amount) to ``phase``."""
        check_phase(phase)
        checked = {name: _check_count(name, value) for name, value in counts.items()}
        for name, value in checked.items():
            self._counts[phase][name] += value

    def add_rng(self, phase: str, rng_counters_delta: dict) -> None:
        """Add a change of `device.rng.RNGCounters` (field → amount, e.g. from `rng_counters_delta`)."""
        if not isinstance(rng_counters_delta, dict):
            raise InputError(f"rng_counters_delta must be a dict, got {type(rng_counters_delta).__name__}")
        unknown = sorted(set(rng_counters_delta) - set(RNG_COUNTER_MAP))
        if unknown:
            raise InputError(f"unknown RNG counter {unknown[0]!r}; known: {', '.join(RNG_COUNTER_MAP)}")
        self.add(phase, **{RNG_COUNTER_MAP[k]: v for k, v in rng_counters_delta.items()})

    def counts(self, phase: str) -> dict:
        """A copy of ``phase``'s counters."""
        check_phase(phase)
        return dict(self._counts[phase])

    def merge(self, other: Ledger) -> None:
        """Add every count of ``other`` into this ledger (in place)."""
        if not isinstance(other, Ledger):
            raise InputError(f"can only merge a Ledger, got {type(other).__name__}")
        for phase in PHASES:
            self.add(phase, **other._counts[phase])

    def copy(self) -> Ledger:
        new = Ledger()
        new.merge(self)
        return new

    @staticmethod
    def diff(after: Ledger, before: Ledger) -> Ledger:
        """The actions between two snapshots: ``after − before``; every count must not decrease."""
        if not isinstance(after, Ledger) or not isinstance(before, Ledger):
            raise InputError("Ledger.diff needs two Ledger objects")
        out = Ledger()
        for phase in PHASES:
            for name in COUNTERS:
                delta = after._counts[phase][name] - before._counts[phase][name]
                if delta < 0:
                    raise InputError(
                        f"Ledger.diff: {phase}.{name} decreased ({before._counts[phase][name]} → "
                        f"{after._counts[phase][name]}); 'before' is not an earlier state of 'after'"
                    )
                out._counts[phase][name] = delta
        return out

    def to_dict(self) -> dict:
        return {p: dict(c) for p, c in self._counts.items()}

    def __eq__(self, other) -> bool:
        return isinstance(other, Ledger) and self._counts == other._counts


def rng_counters_delta(after, before) -> dict:
    """Field-wise ``after − before`` of two `RNGCounters` (or their ``as_dict()``), for `Ledger.add_rng`."""
    a = after.as_dict() if hasattr(after, "as_dict") else dict(after)
    b = before.as_dict() if hasattr(before, "as_dict") else dict(before)
    return {k: a[k] - b.get(k, 0) for k in a}
