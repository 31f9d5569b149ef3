"""Closed-loop calibration of each random-bit MTJ towards p = ½, as on-chip hardware does it.

Every device has its own control knob, set by a DAC of finite resolution: the pulse voltage in the
thermal regime (P rises with V), a bias field from a current line in the hard-axis regime (P falls
as the field favours +z). The loop is a successive-approximation search over the DAC code, one
bit per step from the most significant: set the trial code, run a measurement window of
``window_cycles`` write cycles, count the ones with a counter, keep the bit if the measured
fraction says the set point is still on the low-knob side. SAR ends on the last code *before*
p crosses ½, which would leave every device biased by half a DAC step in the same direction (a
frequency-test failure at 10⁶ bits); so a final step measures that code and the next one and keeps
the one whose fraction is closer to ½. Accuracy is limited by the DAC step and by the binomial
error of the window, sqrt(¼/window) (0.003 at 32768 cycles), the two limits real hardware has.
Every SAR step uses the full window (`window_schedule`): shorter windows for the coarse bits look
attractive (4 windows instead of 12) but a wrong coarse decision is unrecoverable — the search
can then only end at that bit's boundary — so the residual σ(p) becomes the coarse window's noise
(measured: 0.0098 with windows doubling from 1024, against 0.002 with fixed 32768-cycle windows,
and frequency-test failures at 10⁶ bits). Every calibration cycle is counted for the cost ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from device import bernoulli
from device.numba_config import njit
from device.random_streams import xoshiro_step

_U64 = np.uint64


@dataclass(frozen=True)
class DAC:
    """A ``bits``-bit DAC spanning [center − span, center + span) in the knob's own unit."""

    bits: int
    center: float
    span: float

    @property
    def step(self) -> float:
        return 2.0 * self.span / 2**self.bits

    def value(self, codes: np.ndarray) -> np.ndarray:
        return self.center - self.span + np.asarray(codes, dtype=np.float64) * self.step


@dataclass
class CalibrationResult:
    """Per-device outcome (arrays of shape (n_devices,)) and the cycles spent."""

    codes: np.ndarray
    knob_values: np.ndarray
    last_measured_fraction: np.ndarray
    cycles: int  # per device
    ones: int  # switched cycles over all devices (each needs a reset pulse)


def window_schedule(dac_bits: int, window_cycles: int) -> list[int]:
    """Cycles measured per calibration step: one window per DAC bit, then two for the final comparison."""
    return [window_cycles] * (dac_bits + 2)


def successive_approximation(
    probability_at: Callable[[np.ndarray], np.ndarray],
    states: np.ndarray,
    dac: DAC,
    increasing: bool,
    window_cycles: int,
) -> CalibrationResult:
    """Tune every device's DAC code so that its measured switching fraction is closest to ½.

    Args:
        probability_at: knob values (n_devices,) → true switching probabilities (n_devices,);
            the loop never sees these, only bits drawn with them.
        states: the devices' random streams (advanced in place).
        dac: the knob's DAC.
        increasing: True if P rises with the knob (pulse voltage), False if it falls (bias field).
        window_cycles: cycles per measurement, a positive multiple of 64.
    """
    n_devices = states.shape[0]
    schedule = window_schedule(dac.bits, window_cycles)
    total_ones = 0

    def measure(codes: np.ndarray, cycles: int) -> np.ndarray:
        nonlocal total_ones
        p = probability_at(dac.value(codes))
        ones = count_window_ones(states, bernoulli.probability_thresholds(p), cycles // 64)
        total_ones += int(ones.sum())
        return ones / float(cycles)

    codes = np.zeros(n_devices, dtype=np.int64)
    for step, bit in enumerate(reversed(range(dac.bits))):
        trial = codes | (1 << bit)
        fraction = measure(trial, schedule[step])
        keep = fraction < 0.5 if increasing else fraction > 0.5
        codes = np.where(keep, trial, codes)
    # final step: the code SAR ended on, or the next one, whichever measures closer to 1/2
    upper = np.minimum(codes + 1, 2**dac.bits - 1)
    at_code, at_upper = measure(codes, window_cycles), measure(upper, window_cycles)
    take_upper = np.abs(at_upper - 0.5) < np.abs(at_code - 0.5)
    codes = np.where(take_upper, upper, codes)
    fraction = np.where(take_upper, at_upper, at_code)
    return CalibrationResult(codes, dac.value(codes), fraction, sum(schedule), total_ones)


def count_window_ones(states: np.ndarray, thresholds: np.ndarray, n_rounds: int) -> np.ndarray:
    """`device.bernoulli.count_ones`, bit for bit and stream for stream, at about 2.5× its speed.

    The same bit-sliced comparison u < p (`device.bernoulli._bernoulli_word`), with each device's
    xoshiro256** state held in registers for the whole window instead of being stored back to the
    state array after every output; the calibration loop spends most of a chip's RNG set-up here.
    """
    bernoulli._check_arrays(states, thresholds, n_rounds)
    ones = np.empty(thresholds.shape[0], dtype=np.int64)
    _count_window_ones(states, thresholds, int(n_rounds), ones)
    return ones


@njit(parallel=True)
def _count_window_ones(states, thresholds, n_rounds, ones):
    one = _U64(1)
    for i in numba.prange(thresholds.shape[0]):
        s0, s1, s2, s3 = states[i, 0], states[i, 1], states[i, 2], states[i, 3]
        threshold = thresholds[i]
        total = 0
        if threshold >= one << _U64(bernoulli.PROBABILITY_BITS):
            total = 64 * n_rounds  # p = 1: every lane is 1 without drawing
        else:
            for _ in range(n_rounds):
                result = _U64(0)
                undecided = ~_U64(0)
                for k in range(bernoulli.PROBABILITY_BITS):
                    shift = _U64(bernoulli.PROBABILITY_BITS - 1 - k)
                    if threshold & ((one << (shift + one)) - one) == _U64(0):
                        break  # p's remaining digits are zero: undecided lanes have u >= p
                    digits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
                    if (threshold >> shift) & one:
                        result |= undecided & ~digits
                        undecided &= digits
                    else:
                        undecided &= ~digits
                    if undecided == _U64(0):
                        break
                total += bernoulli.popcount(result)
        states[i, 0], states[i, 1], states[i, 2], states[i, 3] = s0, s1, s2, s3
        ones[i] = total
