"""The crossbar's parameters: `CrossbarParameters` of `device.crossbar`, frozen and validated.

Kept apart from the crossbar engine (`device.crossbar`, whose read-out is a Numba kernel) so that
`device.profiles` builds and validates profiles without numba; `device.crossbar` re-exports every
name. The mapping scheme and the order in which the non-idealities apply are described there.
"""

from __future__ import annotations

from dataclasses import dataclass

from device.errors import FieldError, ParameterError
from device.parameter_spec import check_declared, field_errors, param, raise_if
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

    LABEL = "Crossbars"
    SUMMARY = "The memory-cell crossbars that compute the network's matrix-vector products where its weights are stored, and their periphery."
    GROUPS = (
        (
            "emulation",
            "Emulation",
            "How the emulator computes the chip's read-outs; the chip and its cost ledger are the same either way (docs/emulation.md).",
        ),
        (
            "tiles",
            "Tiles and weights",
            "The network's weights on tiles of binary MTJ cells: each weight's magnitude bit-sliced over differential column pairs.",
        ),
        (
            "periphery",
            "DAC and ADC",
            "Inputs enter as word-line voltages from a DAC; column currents leave through shared ADCs (energy per conversion ∝ 4^bits, docs/formulas.md F3).",
        ),
        (
            "read",
            "Read",
            "The read pulse and its noise: thermal, shot and sense-amplifier noise, σ ∝ 1/√t_read (device.read_noise, docs/physics.md).",
        ),
        (
            "array",
            "Array non-idealities",
            "IR drop along the wires (F9) and each cell's own R_P and TMR from the variation section.",
        ),
        (
            "write",
            "Programming",
            "How the cells are written: VCMA write pulses with write-verify, and how a weight becomes bit-slice cells.",
        ),
        (
            "trims",
            "Digital calibration",
            "Digital trims fitted on example inputs after programming, applied to every read-out.",
        ),
    )

    tile_rows: int = param(
        128,
        label="Tile rows",
        low=8,
        high=4096,
        group="tiles",
        description="Cells per tile column (word lines); IR drop grows with the tile size (a ∝ n²).",
        source="NeuroSim sub-array size (docs/formulas.md F4)",
    )
    tile_cols: int = param(
        128,
        label="Tile columns",
        low=8,
        high=4096,
        group="tiles",
        description="Cells per tile row; even (differential column pairs).",
        source="NeuroSim sub-array size",
    )
    weight_bits: int = param(
        6,
        label="Weight bits",
        low=1,
        high=8,
        zero="ideal",
        group="tiles",
        description="Magnitude bits per weight, one binary cell pair per bit (bit slices); 0: one analog cell per weight.",
        source="spindiff design choice",
    )
    input_bits: int = param(
        8,
        label="Input DAC bits",
        low=2,
        high=12,
        zero="ideal",
        group="periphery",
        description="Resolution of the signed input, sign included; 0: no input quantisation.",
        source="spindiff design choice",
    )
    input_mode: str = param(
        "amplitude",
        label="Input mode",
        choices=INPUT_MODES,
        group="periphery",
        description="amplitude: one read at a multi-level DAC voltage; bit_serial: one read per magnitude bit, shift-and-add.",
        source="spindiff design choice",
    )
    adc_bits: int = param(
        8,
        label="ADC bits",
        low=2,
        high=14,
        zero="ideal",
        group="periphery",
        description="Resolution of the column read-out; 0: ideal read-out (no quantisation, no ADC noise).",
        source="spindiff design choice; energy from the F3 survey fit",
    )
    adc_range_sigmas: float = param(
        4.0,
        label="ADC range",
        unit="σ",
        low=0.0,
        low_open=True,
        group="periphery",
        description="Default ADC full scale in RMS column currents of full-scale uniform inputs, until calibrated from data.",
        source="spindiff design choice",
    )
    read_voltage: float = param(
        0.1,
        label="Read voltage",
        unit="V",
        low=0.0,
        low_open=True,
        group="read",
        description="Full-scale read voltage on the word lines.",
        source="docs/formulas.md F1 (0.1–0.25 V)",
    )
    read_time: float = param(
        1e-9,
        label="Read time",
        unit="s",
        display=("ns", -9),
        low=0.0,
        low_open=True,
        group="read",
        description="Read pulse; read noise σ ∝ 1/√t_read, read energy and latency ∝ t_read.",
        source="docs/formulas.md F1 (1–10 ns)",
    )
    read_noise: float | None = param(
        None,
        label="Read noise (relative σ)",
        display=("%", -2),
        low=0.0,
        null="derived",
        group="read",
        description="σ of each cell's read current over its value; empty: derived from the read (1.00 % at the defaults).",
        source="derived: device.read_noise (thermal + shot noise × noise factor, F8); a number overrides it",
    )
    read_noise_factor: float = param(
        DEFAULT_NOISE_FACTOR,
        label="Read-path noise factor F",
        low=1.0,
        checked_apart=True,
        group="read",
        description="Total noise power of the read path over the cell's own thermal + shot noise (Friis), ≥ 1.",
        source="assumption: keeps the 1 % read noise of the 1 ns default read (docs/physics.md, Read noise)",
    )
    adc_noise: float = param(
        0.002,
        label="ADC noise (σ / full scale)",
        display=("%", -2),
        low=0.0,
        group="periphery",
        description="σ of the ADC's input noise as a fraction of its full scale (0.2 % ≈ ½ LSB at 8 bits).",
        source="assumption",
    )
    ir_drop: bool = param(
        True,
        label="IR drop",
        group="array",
        description="Apply the closed-form IR-drop model of the word and bit lines.",
        source="docs/formulas.md F9 (aihwkit)",
    )
    wire_resistance: float = param(
        0.35,
        label="Wire resistance per cell",
        unit="Ω",
        low=0.0,
        low_open=True,
        group="array",
        description="Wire resistance of one cell segment; MTJ arrays are IR-drop limited by their low resistance.",
        source="docs/formulas.md F9 (optimistic for MTJs, cf. Jung et al. 2022)",
    )
    cell_variation: bool = param(
        True,
        label="Cell variation",
        group="array",
        description="Give every cell its own R_P and TMR drawn from the variation section.",
        source="spindiff design choice",
    )
    write_model: str = param(
        "physics",
        label="Write model",
        choices=WRITE_MODELS,
        group="write",
        description="physics: VCMA write pulses that succeed with the compact model's probability, with write-verify; ideal: every write succeeds.",
        source="spindiff design choice",
    )
    write_pulse_voltage: float = param(
        1.5,
        label="Write pulse voltage",
        unit="V",
        low=0.0,
        low_open=True,
        group="write",
        description="Amplitude of a cell's VCMA write pulse.",
        source="reference VCMA device",
    )
    write_pulse_width: float = param(
        30e-9,
        label="Write pulse width",
        unit="s",
        display=("ns", -9),
        low=0.0,
        low_open=True,
        group="write",
        description="Duration of a cell's write pulse.",
        source="reference VCMA device",
    )
    write_field: float = param(
        15e3,
        label="Write field",
        unit="A/m",
        display=("kA/m", 3),
        low=0.0,
        group="write",
        description="Field of the write line towards the target state (P(success) ≈ 0.99 per pulse at 15 kA/m).",
        source="spindiff design choice",
    )
    write_verify_attempts: int = param(
        4,
        label="Write-verify attempts",
        low=1,
        high=64,
        group="write",
        description="Pulses per cell at most: write, read back, repeat until right.",
        source="spindiff design choice",
    )
    weight_mapping: str = param(
        "closed_loop",
        label="Weight mapping",
        choices=WEIGHT_MAPPINGS,
        group="write",
        description="closed_loop: slices written MSB first, each correcting what the upper ones missed; sign_magnitude: open loop.",
        source="closed-loop programming of IMC cells (Alibart et al. 2012; Le Gallo et al. 2018) across bit slices",
    )
    output_gain_calibration: bool = param(
        True,
        label="Output gain trims",
        group="trims",
        description="A digital gain per output, least-squares fitted to exact x @ W: removes IR drop's mean attenuation.",
        source="spindiff design choice (docs/quality.md ablation)",
    )
    in_loop_calibration: bool = param(
        False,
        label="In-loop calibration",
        group="trims",
        description="Gain and offset per layer fitted on the chip's own upstream activations (bias correction).",
        source="Nagel et al., ICCV 2019; Joshi et al., Nat. Commun. 11, 2473 (2020)",
    )
    emulation: str = param(
        "exact",
        label="Emulation mode",
        choices=EMULATION_MODES,
        group="emulation",
        description=(
            "exact: every tile's currents, noise and ADC codes; statistical: a reduced-order model fitted to the programmed "
            "chip, ≈ 2× software's time."
        ),
        source="docs/emulation.md",
    )

    def __post_init__(self) -> None:
        owner = type(self).__name__
        errors = field_errors(self)
        bad = {e.path for e in errors}
        if "tile_cols" not in bad and self.tile_cols % 2:
            message = f"{owner}.tile_cols must be even (differential column pairs), got {self.tile_cols}"
            errors.append(FieldError("tile_cols", message))
        if not bad & {"input_mode", "input_bits"} and self.input_mode == "bit_serial" and self.input_bits == 0:
            errors.append(
                FieldError("input_mode", f"{owner}.input_mode 'bit_serial' needs input_bits > 0", ("input_bits",))
            )
        if "read_noise_factor" not in bad:
            try:
                check_noise_factor(owner, self.read_noise_factor)
            except ParameterError as error:
                errors.append(FieldError("read_noise_factor", str(error)))
        raise_if(errors)

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


check_declared(CrossbarParameters)
