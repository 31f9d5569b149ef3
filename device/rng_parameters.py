"""The random-bit array's parameters: `RNGParameters` of `device.rng`, frozen and validated.

Kept apart from the source itself (`device.rng.MTJRandomSource`, whose bit streams are Numba
kernels) so that `device.profiles` builds and validates profiles without numba; `device.rng`
re-exports every name. What the array does with these values is described there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from device.errors import ParameterError
from device.gaussian_parameters import GaussianMethod

SOURCES = ("mtj", "ideal")
CALIBRATIONS = ("none", "calibrated", "calibrated_xor")
KNOBS = ("auto", "bias_field", "pulse_voltage")


@dataclass(frozen=True)
class RNGParameters:
    """The random-bit array and its periphery.

    Attributes:
        source: ``"mtj"`` (emulated devices) or ``"ideal"`` (perfect fair bits, no physics).
        n_devices: devices in the array. 1024.
        pulse_voltage: write-pulse amplitude, V. 1.5 V (reference VCMA random-bit device).
        pulse_width: s. 30 ns (reference).
        relax_time: zero-bias wait after the pulse before the read, s. 30 ns (reference).
        read_voltage: V. 0.1 V. read_time: s. 5 ns. (Sensing only; TMR of 120 % makes read errors
            negligible, so reads are taken as exact.)
        bias_field: fixed out-of-plane field from the bias line, A/m, + favours +z. 0 (the knob
            adds to it in the hard-axis regime; the thermal profile uses a write-assist field).
        calibration: ``"none"``, ``"calibrated"`` or ``"calibrated_xor"`` (XOR of cycle pairs).
        knob: ``"auto"`` picks ``"bias_field"`` above the nominal V_c and ``"pulse_voltage"`` below.
        dac_bits: resolution of the knob DAC. 10.
        field_dac_span: half-range of the bias-field DAC, A/m. 4 kA/m (step 7.8 A/m).
        voltage_dac_span: half-range of the pulse-voltage DAC, V. 0.1 V (step 0.2 mV).
        calibration_window: cycles per calibration measurement, multiple of 64. 32768: the
            binomial error of the last SAR decisions, sqrt(¼/window) ≈ 0.003, sets the residual
            per-device bias, which a block-frequency test on 10⁶ bits detects above σ_p ≈ 0.005.
        gaussian_method: ``"inverse_cdf"`` or ``"clt"`` (`device.gaussian`).
        gaussian_bits: bits per Gaussian sample (b or K). 16.
    """

    source: str = "mtj"
    n_devices: int = 1024
    pulse_voltage: float = 1.5
    pulse_width: float = 30e-9
    relax_time: float = 30e-9
    read_voltage: float = 0.1
    read_time: float = 5e-9
    bias_field: float = 0.0
    calibration: str = "calibrated"
    knob: str = "auto"
    dac_bits: int = 10
    field_dac_span: float = 4.0e3
    voltage_dac_span: float = 0.1
    calibration_window: int = 32768
    gaussian_method: str = "inverse_cdf"
    gaussian_bits: int = 16

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name, allowed in (("source", SOURCES), ("calibration", CALIBRATIONS), ("knob", KNOBS)):
            if getattr(self, name) not in allowed:
                raise ParameterError(f"{owner}.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name, low, high in (("n_devices", 1, 1 << 20), ("dac_bits", 1, 16), ("calibration_window", 64, 1 << 24)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ParameterError(f"{owner}.{name} must be an integer in [{low}, {high}], got {value!r}")
        if self.calibration_window % 64:
            raise ParameterError(f"{owner}.calibration_window must be a multiple of 64, got {self.calibration_window}")
        for name in (
            "pulse_voltage",
            "pulse_width",
            "relax_time",
            "read_voltage",
            "read_time",
            "field_dac_span",
            "voltage_dac_span",
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ParameterError(f"{owner}.{name} must be a positive finite number, got {value!r}")
        if not isinstance(self.bias_field, (int, float)) or not math.isfinite(self.bias_field):
            raise ParameterError(f"{owner}.bias_field must be a finite number, got {self.bias_field!r}")
        try:
            _ = self.gaussian  # builds (and so validates) the Gaussian method
        except ParameterError as error:
            raise ParameterError(f"{owner}.gaussian_method / gaussian_bits: {error}") from None

    @property
    def gaussian(self) -> GaussianMethod:
        return GaussianMethod(self.gaussian_method, self.gaussian_bits)

    @property
    def cycle_time(self) -> float:
        """Duration of one write/read/reset cycle, s (reset assumed as long as the write pulse)."""
        return 2.0 * self.pulse_width + self.relax_time + self.read_time

    @property
    def raw_cycles_per_output_bit(self) -> int:
        return 2 if self.calibration == "calibrated_xor" else 1
