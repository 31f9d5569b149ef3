"""The random-bit array's parameters: `RNGParameters` of `device.rng`, frozen and validated.

Kept apart from the source itself (`device.rng.MTJRandomSource`, whose bit streams are Numba
kernels) so that `device.profiles` builds and validates profiles without numba; `device.rng`
re-exports every name. What the array does with these values is described there.
"""

from __future__ import annotations

from dataclasses import dataclass

from device.errors import FieldError, ParameterError
from device.gaussian_parameters import METHODS, GaussianMethod
from device.parameter_spec import check_declared, field_errors, param, raise_if

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

    LABEL = "Random-bit array"
    SUMMARY = "The true-random source whose bits become the sampler's noise (with the noise source 'mtj', and for the chip's energy either way)."
    GROUPS = (
        (
            "source",
            "Source",
            "Where the sampler's random bits come from: an array of VCMA MTJs switched stochastically by a pulse, or ideal fair bits.",
        ),
        (
            "cycle",
            "Pulse, relax and read",
            "One bit per device per cycle: a write pulse, a zero-bias wait while the free layer settles, a read. The bit rate is 1/(2·pulse + relax + read).",
        ),
        (
            "calibration",
            "Calibration",
            "Each device is tuned to P(1) = 1/2 by successive approximation of a DAC on one knob (bias field or pulse "
            "voltage), measured over a window of cycles.",
        ),
        (
            "gaussian",
            "Gaussian samples",
            "How bits become the N(0, 1) samples of the sampler's noise (device.gaussian).",
        ),
    )

    source: str = param(
        "mtj",
        label="Bit source",
        choices=SOURCES,
        group="source",
        description="mtj: the emulated devices; ideal: perfect fair bits with no physics (and no cost model).",
        source="spindiff design choice",
    )
    n_devices: int = param(
        1024,
        label="Random-bit devices",
        low=1,
        high=1 << 20,
        group="source",
        description="Devices in the array, all pulsed and read in parallel each cycle.",
        source="spindiff design choice",
    )
    pulse_voltage: float = param(
        1.5,
        label="Pulse voltage",
        unit="V",
        low=0.0,
        low_open=True,
        group="cycle",
        description="Write-pulse amplitude; above V_c ≈ 0.56 V the device is in the hard-axis regime.",
        source="reference VCMA random-bit device (Stochastic_MTJ_Model)",
    )
    pulse_width: float = param(
        30e-9,
        label="Pulse width",
        unit="s",
        display=("ns", -9),
        low=0.0,
        low_open=True,
        group="cycle",
        description="Duration of the write pulse.",
        source="reference VCMA random-bit device",
    )
    relax_time: float = param(
        30e-9,
        label="Relax time",
        unit="s",
        display=("ns", -9),
        low=0.0,
        low_open=True,
        group="cycle",
        description="Zero-bias wait after the pulse before the read; at least 8 relaxation times of the free layer.",
        source="reference VCMA random-bit device",
    )
    read_voltage: float = param(
        0.1,
        label="Read voltage",
        unit="V",
        low=0.0,
        low_open=True,
        group="cycle",
        description="Sensing voltage of the bit read (reads are taken as exact; the profile checks they are).",
        source="spindiff design choice",
    )
    read_time: float = param(
        5e-9,
        label="Read time",
        unit="s",
        display=("ns", -9),
        low=0.0,
        low_open=True,
        group="cycle",
        description="Duration of the bit read; shorter reads are noisier (misread probability ≤ 1e-6 is required).",
        source="spindiff design choice",
    )
    bias_field: float = param(
        0.0,
        label="Bias field",
        unit="A/m",
        display=("kA/m", 3),
        group="cycle",
        description="Fixed out-of-plane field of the bias line, + favours +z; the calibration knob adds to it.",
        source="spindiff (vcma-thermal uses −6 kA/m of write assist)",
    )
    calibration: str = param(
        "calibrated",
        label="Calibration",
        choices=CALIBRATIONS,
        group="calibration",
        description="none: raw devices; calibrated: each tuned to p = 1/2; calibrated_xor: plus XOR of cycle pairs (bias ε → 2ε², 2 cycles per bit).",
        source="spindiff design choice",
    )
    knob: str = param(
        "auto",
        label="Calibration knob",
        choices=KNOBS,
        group="calibration",
        description="What the DAC tunes; auto: the bias field above the nominal V_c, the pulse voltage below it.",
        source="spindiff design choice",
    )
    dac_bits: int = param(
        10,
        label="Knob DAC bits",
        low=1,
        high=16,
        group="calibration",
        description="Resolution of the calibration DAC (step = 2·span/2^bits).",
        source="spindiff design choice",
    )
    field_dac_span: float = param(
        4.0e3,
        label="Field DAC half-range",
        unit="A/m",
        display=("kA/m", 3),
        low=0.0,
        low_open=True,
        group="calibration",
        description="Half-range of the bias-field DAC (7.8 A/m steps at 10 bits).",
        source="spindiff design choice",
    )
    voltage_dac_span: float = param(
        0.1,
        label="Voltage DAC half-range",
        unit="V",
        display=("mV", -3),
        low=0.0,
        low_open=True,
        group="calibration",
        description="Half-range of the pulse-voltage DAC (0.2 mV steps at 10 bits).",
        source="spindiff design choice",
    )
    calibration_window: int = param(
        32768,
        label="Calibration window",
        unit="cycles",
        low=64,
        high=1 << 24,
        multiple_of=64,
        group="calibration",
        description="Cycles per calibration measurement; its binomial error sqrt(¼/window) sets the residual bias.",
        source="spindiff: 32768 keeps σ_p ≈ 0.003, below what a block-frequency test on 10⁶ bits detects",
    )
    gaussian_method: str = param(
        "inverse_cdf",
        label="Gaussian method",
        choices=METHODS,
        group="gaussian",
        description="inverse_cdf: b bits through a Φ⁻¹ table; clt: the sum of K bits, standardised.",
        source="device.gaussian",
    )
    gaussian_bits: int = param(
        16,
        label="Bits per Gaussian sample",
        low=4,
        high=4096,
        group="gaussian",
        description="b for inverse_cdf (4–20), K for clt (4–4096).",
        source="device.gaussian",
    )

    def __post_init__(self) -> None:
        errors = field_errors(self)
        if not any(e.path in ("gaussian_method", "gaussian_bits") for e in errors):
            try:
                _ = self.gaussian  # builds (and so validates) the Gaussian method
            except ParameterError as error:
                message = f"{type(self).__name__}.gaussian_method / gaussian_bits: {error}"
                errors.append(FieldError("gaussian_bits", message, ("gaussian_method",)))
        raise_if(errors)

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


check_declared(RNGParameters)
