"""The true-random noise source: an array of N VCMA MTJs cycled write-pulse / read / reset.

One write cycle of one device: a VCMA pulse (``pulse_voltage`` for ``pulse_width``), a read that
senses P or AP, and a reset pulse for the devices that switched. The bit is 1 if the device switched.
Device i switches with its own probability p_i, from the compact model of `device.mtj` evaluated with
its own K_i0 and stray field (fab variation, `device.mtj.sample_population`) and its own knob
setting (`device.calibration`). Bits of all devices are drawn by the Numba kernels of
`device.bernoulli`, from one explicit random stream per device, so a source built with the same chip
seed and reseeded with the same noise seed replays the same bits ("emulated true randomness").

Chip vs request: the population and the calibration depend only on the chip seed (they are the
chip); `reseed(noise_seed)` restarts the bit streams for one request without recalibrating.

`RNGParameters` lives in `device.rng_parameters`, which imports no numba, and is re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from device import bernoulli, calibration, gaussian, mtj
from device.errors import InputError
from device.random_streams import new_stream_states
from device.rng_parameters import CALIBRATIONS, KNOBS, SOURCES, RNGParameters  # noqa: F401 - re-exported
from device.seed_salts import Salt


@dataclass
class RNGCounters:
    """Actions of the random-bit array, for the cost ledger. Cycles = write pulses = reads."""

    cycles: int = 0
    reset_pulses: int = 0
    output_bits: int = 0
    gaussian_samples: int = 0
    calibration_cycles: int = 0
    calibration_reset_pulses: int = 0

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class _Stream:
    states: np.ndarray
    buffer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))


class MTJRandomSource:
    """N emulated MTJs producing bits and Gaussian samples (see module docstring).

    Args:
        mtj_params: nominal device. variation: fab spread. params: the array and its periphery.
        chip_seed: fixes the population, the calibration and, until `reseed`, the bit streams.
    """

    def __init__(
        self,
        mtj_params: mtj.MTJParameters,
        variation: mtj.VariationParameters,
        params: RNGParameters,
        chip_seed: int,
    ) -> None:
        self.mtj = mtj_params
        self.params = params
        self.counters = RNGCounters()
        self.calibration: calibration.CalibrationResult | None = None
        n = params.n_devices
        if params.source == "ideal":
            self.population = mtj.nominal_population(mtj_params, n)
            self.probabilities = np.full(n, 0.5)
            self.knob = "none"
            self.knob_values = np.zeros(n)
        else:
            self.population = mtj.sample_population(
                mtj_params, variation, n, np.random.default_rng([chip_seed, Salt.MTJ_POPULATION])
            )
            self.knob = self._resolve_knob()
            self.probabilities = self._calibrate(np.random.default_rng([chip_seed, Salt.RNG_CALIBRATION]))
        self._thresholds = bernoulli.probability_thresholds(self.probabilities)
        self.reseed(chip_seed)

    @classmethod
    def restore(cls, mtj_params: mtj.MTJParameters, params: RNGParameters, state: dict) -> MTJRandomSource:
        """A source in the state `snapshot` returned, without recalibrating (`device.chip_store`)."""
        self = cls.__new__(cls)
        self.mtj = mtj_params
        self.params = params
        self.counters = RNGCounters(**state["counters"])
        self.population = mtj.DevicePopulation(*(np.array(a, dtype=np.float64) for a in state["population"]))
        self.knob = state["knob"]
        self.knob_values = np.array(state["knob_values"], dtype=np.float64)
        self.probabilities = np.array(state["probabilities"], dtype=np.float64)
        self.calibration = (
            None if state["calibration"] is None else calibration.CalibrationResult(**state["calibration"])
        )
        n = params.n_devices
        for name, value in (
            ("population", self.population.interfacial_anisotropy),
            ("knob_values", self.knob_values),
            ("probabilities", self.probabilities),
        ):
            if value.shape != (n,):
                raise InputError(f"restored RNG {name} must have shape ({n},) for n_devices={n}, got {value.shape}")
        self._thresholds = bernoulli.probability_thresholds(self.probabilities)
        states = np.array(state["stream_states"], dtype=np.uint64)
        if states.shape != (n, 4):
            raise InputError(f"restored RNG stream states must have shape ({n}, 4), got {states.shape}")
        self._stream = _Stream(states, np.array(state["stream_buffer"], dtype=np.uint64))
        return self

    def snapshot(self) -> dict:
        """Everything `restore` needs, as copies: population, knob, probabilities, calibration,
        counters and the bit streams' current state (so the restored source continues identically)."""
        cal = self.calibration
        return {
            "counters": self.counters.as_dict(),
            "population": [np.array(a) for a in self.population],
            "knob": self.knob,
            "knob_values": np.array(self.knob_values),
            "probabilities": np.array(self.probabilities),
            "calibration": None
            if cal is None
            else {
                "codes": np.array(cal.codes),
                "knob_values": np.array(cal.knob_values),
                "last_measured_fraction": np.array(cal.last_measured_fraction),
                "cycles": int(cal.cycles),
                "ones": int(cal.ones),
            },
            "stream_states": np.array(self._stream.states),
            "stream_buffer": np.array(self._stream.buffer),
        }

    # --- physics of the array -------------------------------------------------------------------
    def _resolve_knob(self) -> str:
        if self.params.knob != "auto":
            return self.params.knob
        return "bias_field" if mtj.regime(self.mtj, self.params.pulse_voltage) == "hard_axis" else "pulse_voltage"

    def probability_at(self, knob_values: np.ndarray) -> np.ndarray:
        """Every device's switching probability with its knob at ``knob_values`` (n_devices,)."""
        pop, p = self.population, self.params
        if self.knob == "bias_field":
            voltage, extra_field = p.pulse_voltage, knob_values
        else:
            voltage, extra_field = knob_values, 0.0
        total_field = pop.stray_field + p.bias_field + extra_field
        return mtj.switching_probability(self.mtj, voltage, p.pulse_width, total_field, pop.interfacial_anisotropy)

    def line_field(self) -> float:
        """Mean |H| the devices' bias lines carry during a write pulse, A/m: |bias_field + field knob|.

        What the field lines are charged for (`device.field_line`); the stray field of each device
        comes from its stack and is free.
        """
        knob = self.knob_values if self.knob == "bias_field" else 0.0
        return float(np.mean(np.abs(self.params.bias_field + knob)))

    def _dac(self) -> calibration.DAC:
        p = self.params
        if self.knob == "bias_field":
            return calibration.DAC(p.dac_bits, 0.0, p.field_dac_span)
        return calibration.DAC(p.dac_bits, p.pulse_voltage, p.voltage_dac_span)

    def _nominal_knob(self) -> np.ndarray:
        n = self.params.n_devices
        return np.zeros(n) if self.knob == "bias_field" else np.full(n, self.params.pulse_voltage)

    def _calibrate(self, rng: np.random.Generator) -> np.ndarray:
        if self.params.calibration == "none":
            self.knob_values = self._nominal_knob()
            return self.probability_at(self.knob_values)
        states = new_stream_states(self.params.n_devices, rng)
        result = calibration.successive_approximation(
            self.probability_at, states, self._dac(), self.knob == "pulse_voltage", self.params.calibration_window
        )
        self.calibration = result
        self.knob_values = result.knob_values
        self.counters.calibration_cycles += result.cycles * self.params.n_devices
        self.counters.calibration_reset_pulses += result.ones
        return self.probability_at(self.knob_values)

    # --- bit streams -----------------------------------------------------------------------------
    def reseed(self, noise_seed: int) -> None:
        """Restart every device's bit stream from ``noise_seed`` (keeps population and calibration)."""
        self._stream = _Stream(
            new_stream_states(self.params.n_devices, np.random.default_rng([noise_seed, Salt.RNG_DEVICE_STREAMS]))
        )

    def words(self, n_words: int) -> np.ndarray:
        """The next ``n_words`` 64-bit words of the output stream (uint64, shape (n_words,))."""
        if not isinstance(n_words, (int, np.integer)) or n_words < 0:
            raise InputError(f"n_words must be a non-negative integer, got {n_words!r}")
        stream = self._stream
        missing = n_words - stream.buffer.shape[0]
        if missing > 0:
            rounds = math.ceil(missing / self.params.n_devices)
            xor = self.params.calibration == "calibrated_xor"
            new, ones = bernoulli.draw_words(stream.states, self._thresholds, rounds, xor)
            self.counters.cycles += rounds * self.params.n_devices * 64 * self.params.raw_cycles_per_output_bit
            self.counters.reset_pulses += int(ones.sum())
            stream.buffer = np.concatenate([stream.buffer, new.ravel()])
        out, stream.buffer = stream.buffer[:n_words], stream.buffer[n_words:]
        self.counters.output_bits += 64 * int(n_words)
        return out

    def bits(self, n_bits: int) -> np.ndarray:
        """The next ``n_bits`` output bits as a uint8 array of 0/1 (whole words are consumed)."""
        if not isinstance(n_bits, (int, np.integer)) or n_bits < 0:
            raise InputError(f"n_bits must be a non-negative integer, got {n_bits!r}")
        return bernoulli.words_to_bits(self.words(math.ceil(n_bits / 64)))[:n_bits]

    def gaussian(self, shape, dtype=np.float32) -> np.ndarray:
        """N(0, 1) samples of ``shape`` made by ``params.gaussian_method`` from the next bits."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if any((not isinstance(s, (int, np.integer))) or s < 0 for s in shape):
            raise InputError(f"shape must be non-negative integers, got {shape!r}")
        n = int(np.prod(shape, dtype=np.int64))
        method = self.params.gaussian
        samples = gaussian.samples_from_words(self.words(method.words_needed(n)), method, n, dtype)
        self.counters.gaussian_samples += n
        return samples.reshape(shape)

    # --- summaries -------------------------------------------------------------------------------
    @property
    def bits_per_sample(self) -> int:
        """Raw device cycles (bits) one Gaussian sample costs, XOR pairs included."""
        return self.params.gaussian_bits * self.params.raw_cycles_per_output_bit

    @property
    def hardware_bit_rate(self) -> float:
        """Output bits per second of the emulated array: N devices / cycle time (/2 with XOR)."""
        p = self.params
        return p.n_devices / p.cycle_time / p.raw_cycles_per_output_bit

    def v50(self) -> np.ndarray:
        """Each device's pulse voltage for p = ½ at its calibrated field, V (thermal regime only)."""
        pop, p = self.population, self.params
        fld = pop.stray_field + p.bias_field + (self.knob_values if self.knob == "bias_field" else 0.0)
        return device_v50(self.mtj, p.pulse_width, fld, pop.interfacial_anisotropy)

    def summary(self) -> dict:
        """JSON-ready description of the array's state after calibration."""
        p = self.probabilities
        return {
            "source": self.params.source,
            "knob": self.knob,
            "regime": mtj.regime(self.mtj, self.params.pulse_voltage) if self.params.source == "mtj" else "ideal",
            "n_devices": self.params.n_devices,
            "device_probability_mean": float(p.mean()),
            "device_probability_std": float(p.std()),
            "device_probability_min": float(p.min()),
            "device_probability_max": float(p.max()),
            "expected_output_bias": float(self.expected_output_probability() - 0.5),
            "bits_per_gaussian_sample": self.bits_per_sample,
            "hardware_bit_rate": self.hardware_bit_rate,
        }

    def expected_output_probability(self) -> float:
        """Mean P(output bit = 1) over devices, XOR included: ½ − 2(p − ½)² per device with XOR."""
        p = self.probabilities
        if self.params.calibration == "calibrated_xor":
            p = 2.0 * p * (1.0 - p)
        return float(p.mean())


def device_v50(params: mtj.MTJParameters, pulse_width: float, field, k_i0, low=0.0, high=None) -> np.ndarray:
    """Pulse voltage with P_sw = ½ for each device (bisection on the compact model), V.

    Devices that never reach ½ below ``high`` (default: their V_c) get nan: above V_c the outcome
    is set by the field, not the voltage (hard-axis regime).
    """
    k_i0 = np.asarray(k_i0, dtype=float)
    field = np.broadcast_to(np.asarray(field, dtype=float), k_i0.shape)
    hi = mtj.critical_voltage(params, k_i0) * 0.999 if high is None else np.full(k_i0.shape, high)
    lo = np.full(k_i0.shape, low)
    p_hi = mtj.switching_probability(params, hi, pulse_width, field, k_i0)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        above = mtj.switching_probability(params, mid, pulse_width, field, k_i0) > 0.5
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return np.where(p_hi >= 0.5, 0.5 * (lo + hi), np.nan)
