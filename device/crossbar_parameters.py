"""The crossbar's parameters: `CrossbarParameters` of `device.crossbar`, frozen and validated.

Kept apart from the crossbar engine (`device.crossbar`, whose read-out is a Numba kernel) so that
`device.profiles` builds and validates profiles without numba; `device.crossbar` re-exports every
name. The mapping scheme and the order in which the non-idealities apply are described there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from device.errors import ParameterError
from device.read_noise import DEFAULT_NOISE_FACTOR, check_noise_factor

INPUT_MODES = ("amplitude", "bit_serial")
WRITE_MODELS = ("physics", "ideal")
WEIGHT_MAPPINGS = ("closed_loop", "sign_magnitude")
EMULATION_MODES = ("exact", "statistical")


@dataclass(frozen=True)
class CrossbarParameters:
    """Crossbar tiles and their periphery. Units SI; sources in brackets.

    Attributes:
        tile_rows, tile_cols: cells per tile (128 × 128; NeuroSim sub-array size). tile_cols must
            be even (column pairs).
        weight_bits: magnitude bits per weight, bit-sliced over column pairs (1–8); 0 = analog cell.
        input_bits: DAC bits of the signed input, sign included (2–12); 0 = no quantisation.
        input_mode: ``"amplitude"`` (one read with a multi-level DAC voltage) or ``"bit_serial"``
            (one read per magnitude bit with ternary voltages, ADC every cycle, shift-and-add).
        adc_bits: ADC resolution (2–14); 0 = ideal readout.
        adc_range_sigmas: default ADC full scale = this many RMS column currents of full-scale
            uniform inputs (until `ProgrammedMatrix.calibrate_adc` sets it from data). 4.
        read_voltage: full-scale read voltage, V. 0.1 V (docs/formulas.md F1 range 0.1–0.25 V).
        read_time: read pulse, s. 1 ns (F1 range 1–10 ns).
        read_noise: relative σ of each cell's read current (F8). ``None`` (default): **derived** from
            the read (`device.read_noise`): σ/I = sqrt(F·(4k_BTG + 2qGV)/(2·t_read))/(GV) at the
            parallel cell (G = 1/R_P, V = read_voltage, T and R_P of the profile's device), 1.00 %
            for the defaults; quieter reads cost read time (σ ∝ 1/√t_read) and with it read energy
            and latency. A number is an explicit override (ablations, old stored profiles); the cost
            report flags it when it differs from the physics. `program` resolves it, so a programmed
            matrix's ``cb.read_noise`` is always a number.
        read_noise_factor: F, the read path's noise factor (Friis): its total noise power over the
            cell's own thermal + shot noise, ≥ 1; it carries the sense amplifier's noise and the
            junction's 1/f noise. 8.23 (assumption: keeps the 1 % read noise of the 1 ns default
            read, whose white floor is 0.349 %; docs/physics.md, "Read noise").
        adc_noise: σ of the ADC input noise as a fraction of its full scale. 0.002 (≈ ½ LSB at 8 b).
        ir_drop: apply the closed-form IR-drop model (F9, aihwkit).
        wire_resistance: wire resistance per cell segment, Ω. 0.35 (F9's value; optimistic for the
            low-resistance MTJ, which is why MTJ arrays are IR-drop limited, cf. Jung et al. 2022).
        cell_variation: give every cell its own R_P and TMR from the profile's variation.
        write_model: ``"physics"`` (VCMA write pulses whose success probability comes from the
            hard-axis compact model, with write-verify) or ``"ideal"`` (every write succeeds).
        write_pulse_voltage, write_pulse_width: VCMA write pulse, V and s. 1.5 V, 30 ns.
        write_field: field of the write line towards the target state, A/m. 15 kA/m (P_success ≈
            0.99 per pulse for the nominal cell — a spindiff design choice).
        write_verify_attempts: pulses per cell at most (write, read, repeat). 4.
        weight_mapping: how a weight becomes bit-slice cells (bit-sliced weights only).
            ``"sign_magnitude"``: bit s of round(|w|/max|w|·(2^b − 1)) goes to the positive or the
            negative column of slice s — open loop, every cell's R_P/TMR error lands in the weight,
            scaled by 2^s. ``"closed_loop"`` (default): slices are written MSB first; after each
            slice the write-verify reads (which measure each cell, with ``read_noise``) give the
            value the slice really holds, and the next slice encodes what is still missing, with a
            signed digit d_s = clip(round(r/2^s), −1, 1) (positive cell, neither, or negative cell).
            Device-to-device variation and residual write errors of the upper slices are then
            corrected by the lower ones, leaving about the LSB slice's own error (docs/quality.md:
            the ablation that showed R_P/TMR variation dominates the ε error). The idea is the
            closed-loop / iterative programming of multi-level IMC cells (e.g. Alibart et al.,
            Nanotechnology 23, 075201, 2012; Le Gallo et al., Nature Electronics 2018 for PCM)
            applied across binary bit slices; its use here is a spindiff design choice.
        output_gain_calibration: when the chip is calibrated on example inputs (`ProgrammedMatrix.
            calibrate_output_gain`, done by the diffusion backend after the ADC ranges), give every
            output a digital gain trim that best maps its read-out onto the exact x @ W of those
            inputs (least squares). It removes the average attenuation of IR drop, which the
            ablation found to be the largest error left after closed-loop mapping. Off: gain 1.
        in_loop_calibration: a network-level digital trim on top (used by `diffusion.chip.backend`):
            the calibration batch is run through the chip itself, layer by layer in execution order,
            and every layer's outputs get a gain and an offset (least squares with intercept) that
            map its read-out of the *chip's own* upstream activations onto the software network's
            exact values. This also removes the mean shifts that random read noise creates after
            non-linear layers (GroupNorm, SiLU), which no per-layer calibration sees; the offset is
            the "bias correction" of Nagel et al. (ICCV 2019) with measured instead of modelled
            statistics, in the spirit of the on-chip re-calibration of Joshi et al. (Nat. Commun.
            11, 2473, 2020). Off by default: the presets' measured FIDs are for per-layer trims.
        emulation: how the emulator computes a programmed layer's read-out (the chip it emulates is
            the same; docs/emulation.md). ``"exact"``: every tile's column currents, IR drop, read
            and ADC noise and ADC codes, as above. ``"statistical"``: a reduced-order model derived
            from the programmed and calibrated chip — the effective weights the cells realise (IR
            drop folded in as its mean attenuation per cell position) and Gaussian output noise
            with the variance the exact path has (read noise, ADC quantisation and noise, DAC
            quantisation) — at about the cost of the float network. Both charge the same ledger.
    """

    tile_rows: int = 128
    tile_cols: int = 128
    weight_bits: int = 6
    input_bits: int = 8
    input_mode: str = "amplitude"
    adc_bits: int = 8
    adc_range_sigmas: float = 4.0
    read_voltage: float = 0.1
    read_time: float = 1e-9
    read_noise: float | None = None
    read_noise_factor: float = DEFAULT_NOISE_FACTOR
    adc_noise: float = 0.002
    ir_drop: bool = True
    wire_resistance: float = 0.35
    cell_variation: bool = True
    write_model: str = "physics"
    write_pulse_voltage: float = 1.5
    write_pulse_width: float = 30e-9
    write_field: float = 15e3
    write_verify_attempts: int = 4
    weight_mapping: str = "closed_loop"
    output_gain_calibration: bool = True
    in_loop_calibration: bool = False
    emulation: str = "exact"

    def __post_init__(self) -> None:
        owner = type(self).__name__

        def integer(name, low, high, allow_zero=False):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ParameterError(f"{owner}.{name} must be an integer, got {value!r}")
            if not (low <= value <= high or (allow_zero and value == 0)):
                extra = " (or 0 for ideal)" if allow_zero else ""
                raise ParameterError(f"{owner}.{name} must lie in [{low}, {high}]{extra}, got {value!r}")

        integer("tile_rows", 8, 4096)
        integer("tile_cols", 8, 4096)
        if self.tile_cols % 2:
            raise ParameterError(f"{owner}.tile_cols must be even (differential column pairs), got {self.tile_cols}")
        integer("weight_bits", 1, 8, allow_zero=True)
        integer("input_bits", 2, 12, allow_zero=True)
        integer("adc_bits", 2, 14, allow_zero=True)
        integer("write_verify_attempts", 1, 64)
        if self.input_mode not in INPUT_MODES:
            raise ParameterError(f"{owner}.input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        if self.input_mode == "bit_serial" and self.input_bits == 0:
            raise ParameterError(f"{owner}.input_mode 'bit_serial' needs input_bits > 0")
        if self.weight_mapping not in WEIGHT_MAPPINGS:
            raise ParameterError(
                f"{owner}.weight_mapping must be one of {WEIGHT_MAPPINGS}, got {self.weight_mapping!r}"
            )
        if self.emulation not in EMULATION_MODES:
            raise ParameterError(f"{owner}.emulation must be one of {EMULATION_MODES}, got {self.emulation!r}")
        if self.write_model not in WRITE_MODELS:
            raise ParameterError(f"{owner}.write_model must be one of {WRITE_MODELS}, got {self.write_model!r}")
        for name in ("ir_drop", "cell_variation", "output_gain_calibration", "in_loop_calibration"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(f"{owner}.{name} must be true or false, got {getattr(self, name)!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if (
                f.type != "float" and not (f.name == "read_noise" and value is not None)
            ) or f.name == "read_noise_factor":
                continue  # read_noise_factor: checked below, with the knob to turn
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                derived = " or None (derived)" if f.name == "read_noise" else ""
                raise ParameterError(f"{owner}.{f.name} must be a finite number{derived}, got {value!r}")
            positive = f.name not in ("read_noise", "adc_noise", "write_field")
            if value < 0 or (positive and value == 0):
                raise ParameterError(f"{owner}.{f.name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
        check_noise_factor(owner, self.read_noise_factor)

    @property
    def pairs_per_tile(self) -> int:
        return self.tile_cols // 2

    @property
    def n_slices(self) -> int:
        return max(self.weight_bits, 1)

    @property
    def input_cycles(self) -> int:
        """Read cycles per matrix-vector product: 1, or the magnitude bits when bit-serial."""
        return self.input_bits - 1 if self.input_mode == "bit_serial" else 1
