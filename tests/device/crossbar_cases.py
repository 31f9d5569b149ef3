"""Shared constants and builders for the crossbar tests (test_crossbar*.py)."""

from __future__ import annotations

import types

import numpy as np

from device import crossbar as X
from device import crossbar_programming as XP
from device import mtj

TECH = types.SimpleNamespace(adc_column_sharing=8, adc_sample_rate=1e9)
P = mtj.MTJParameters()
VAR = mtj.VariationParameters()
IDEAL = dict(
    weight_bits=0,
    input_bits=0,
    adc_bits=0,
    read_noise=0.0,
    adc_noise=0.0,
    ir_drop=False,
    cell_variation=False,
    write_model="ideal",
)
# everything non-ideal except the noise: the deterministic comparison profile
DETERMINISTIC = dict(tile_rows=16, tile_cols=16, weight_bits=3, input_bits=6, adc_bits=6, read_noise=0.0, adc_noise=0.0)


class RecordingLedger:
    """A fake `device.cost.Ledger`: records every ``add(phase, **counts)`` call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def add(self, phase, **counts) -> None:
        self.calls.append((phase, counts))


def _ideal(**changes) -> X.CrossbarParameters:
    return X.CrossbarParameters(**{**IDEAL, **changes})


def _weights(k, n, seed=0):
    return np.random.default_rng(seed).standard_normal((k, n))


def _inputs(b, k, seed=1):
    return np.random.default_rng(seed).standard_normal((b, k))


def _program(w, cb, seed=0, variation=VAR, ledger=None):
    return XP.program(w, P, variation, cb, TECH, seed, ledger=ledger)


def _gross_current(pm, voltages, chunk) -> np.ndarray:
    """Σ_j |V_j|·(G⁺_jc + G⁻_jc), (B, C): the scale of the rounding error of a column sum."""
    return np.abs(voltages[:, chunk]) @ (pm.g_pos[chunk] + pm.g_neg[chunk])
