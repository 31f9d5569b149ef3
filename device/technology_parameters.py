"""CMOS periphery and technology constants: `TechnologyParameters` of `device.cost`, frozen and validated.

With the published energies they start from (Horowitz, ISSCC 2014), the node scaling of the
node-dependent defaults (`NODE_DEFAULTS`, `scale_to_node`, `node_scaled`) and the list of the fields
that are assumptions (`ASSUMED_CONSTANTS`). Kept apart from the cost model (`device.cost`, which
imports the compact switching model and the random source) so that `device.profiles` builds and
validates profiles with the standard library alone; `device.cost` re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass

from device.errors import FieldError
from device.parameter_spec import check_declared, field_errors, param, raise_if

# Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm, 0.9 V: J per operation.
HOROWITZ_NODE_NM = 45.0
HOROWITZ_45NM_J = {"int32_add": 0.1e-12, "fp16_add": 0.4e-12, "fp16_mult": 1.1e-12}
# The same paper's area per unit, 45 nm: µm².
HOROWITZ_45NM_UM2 = {"fp16_add": 1360.0, "fp16_mult": 1640.0}


def scale_to_node(energy_45nm_j: float, node_nm: float) -> float:
    """Scale a 45 nm energy linearly with the node (E ∝ C ∝ feature size at fixed V; assumption)."""
    return energy_45nm_j * node_nm / HOROWITZ_NODE_NM


_FP16_OP_45NM = 0.5 * (HOROWITZ_45NM_J["fp16_add"] + HOROWITZ_45NM_J["fp16_mult"])  # 0.75 pJ
ASSUMED_CONSTANTS = {  # TechnologyParameters fields that are assumptions (details in its docstring)
    "digital_op_energy": "assumption: mean of Horowitz 45 nm FP16 add (0.4 pJ) and mult (1.1 pJ) × node/45",
    "shift_add_energy": "assumption: Horowitz 45 nm 32-bit integer add (0.1 pJ) × node/45",
    "dac_energy": "assumption: 2·C·V² of a ≈ 25 fF 128-cell word line at 1 V",
    "vcma_driver_energy": "assumption: C·V² of ≈ 10 fF of pulse line and driver at 1.5 V",
    "driver_area_um2": "assumption: ≈ 30 transistors at ≈ 250 F² each",
    "rng_periphery_area_um2": "assumption: sense amp 2 + driver 2 + 10-bit register 10 + shared logic 6 µm²",
    "adc_column_sharing": "assumption: 8 column pairs per ADC (NeuroSim-style multiplexing)",
    "digital_clock_hz": "assumption: 1 GHz digital clock at 22 nm",
    "digital_lanes": "assumption: 256 16-bit lanes (one op each per clock) for the network's digital layers",
    "field_line_width_m": "assumption: 100 nm strip line, about the free layer's width (H = I/(2w) holds close to it)",
    "field_line_supply_v": "assumption: field-line drivers run from the 0.8 V logic supply, gated to the pulse",
    "digital_lane_area_um2": "assumption: one Horowitz 45 nm FP16 adder (1360 µm²) + multiplier (1640 µm²) per lane × (node/45)²",
}


DEFAULT_NODE_NM = 22.0
#: Defaults that hold at DEFAULT_NODE_NM only: (value, exponent of node/22 nm that rescales them).
NODE_DEFAULTS = {
    "digital_op_energy": (scale_to_node(_FP16_OP_45NM, DEFAULT_NODE_NM), 1),
    "shift_add_energy": (scale_to_node(HOROWITZ_45NM_J["int32_add"], DEFAULT_NODE_NM), 1),
    "driver_area_um2": (4.0, 2),
    "rng_periphery_area_um2": (20.0, 2),
    "digital_lane_area_um2": (
        (HOROWITZ_45NM_UM2["fp16_add"] + HOROWITZ_45NM_UM2["fp16_mult"]) * (DEFAULT_NODE_NM / HOROWITZ_NODE_NM) ** 2,
        2,
    ),
}


def node_scaled(name: str, node_nm: float) -> float:
    """A `NODE_DEFAULTS` value rescaled to ``node_nm`` (energy ∝ node, area ∝ node²; assumption)."""
    value, exponent = NODE_DEFAULTS[name]
    return value * (node_nm / DEFAULT_NODE_NM) ** exponent


@dataclass(frozen=True)
class TechnologyParameters:
    """CMOS periphery and technology constants (SI units unless the name says otherwise).

    Attributes:
        node_nm: technology node F, nm. 22 (NeuroSim's 22 nm LP data, docs/formulas.md F4).
        cell_area_f2: cell area in F². 54: 1T1MTJ cell of NVSim (F6).
        adc_sample_rate: Hz. 1 GS/s (F3/F5 reference point).
        adc_column_sharing: column pairs multiplexed onto one ADC. 8 (NeuroSim-style sharing).
        digital_op_energy: J per 16-bit digital op (add/multiply/compare). Assumption: mean of
            Horowitz ISSCC 2014 45 nm FP16 add (0.4 pJ) and FP16 mult (1.1 pJ) = 0.75 pJ, scaled
            linearly to the node (E ∝ C ∝ node at fixed V): 0.75 pJ × 22/45 = 0.367 pJ.
        shift_add_energy: J per shift-and-add of a slice partial sum. Assumption: Horowitz 45 nm
            32-bit integer add, 0.1 pJ (the accumulator must hold ADC + weight + input bits + the
            row-tile count, ≳ 20 bits; the shift is wiring), × 22/45 = 48.9 fJ.
        dac_energy: J per input DAC conversion (one row driven for one read). Assumption: 50 fJ ≈
            2·C·V² for a 128-cell word line of ≈ 25 fF (0.2 fF/µm × ≈ 21 µm of wire plus 128
            access-transistor gates of ≈ 0.15 fF) swung by 1 V, the factor 2 for the driver itself.
        driver_area_um2: µm² per row driver/DAC. Assumption: 4 µm² ≈ 8 000 F² at 22 nm (level
            shifter, transmission-gate switch and buffer, ≈ 30 transistors at ≈ 250 F² each).
        rng_periphery_area_um2: µm² per random-bit device besides its cell. Assumption: 20 µm² =
            sense amplifier 2 + pulse driver for ≈ 0.3 mA 2 + 10-bit knob register 10 + share of
            XOR/counter/Φ⁻¹ table/knob DAC 6.
        post_layout_factor: NeuroSim's post-layout multiplier on dynamic energy, 1.22 (F7).
        apply_post_layout_factor: apply it (default False: report pre-layout numbers).
        vcma_driver_energy: E_driver of F17, J per VCMA pulse. Assumption: 20 fJ ≈ C·V² of ≈ 10 fF
            of pulse line and driver (≈ 50 µm of wire at 0.2 fF/µm) at 1.5 V.
        digital_clock_hz, digital_lanes: the digital periphery that runs the network's non-crossbar
            layers (norms, activations, bias adds, trims, sampler updates; the ledger's
            ``digital_ops``): ``digital_lanes`` ops per clock, so its latency is
            digital_ops/(digital_clock_hz·digital_lanes), sequential with the crossbar reads (a
            layer's digital work needs its read-out, the next layer its result). Assumption: 1 GHz ×
            256 lanes = 256 Gop/s (≈ 94 mW at ``digital_op_energy``), four times the 64 FP32 lanes
            of one A100 streaming multiprocessor. Shift-adds are one adder per ADC, pipelined with
            the conversions, and add no latency.
        digital_lane_area_um2: µm² per digital lane. Assumption: one FP16 adder and one FP16
            multiplier (Horowitz ISSCC 2014, 45 nm: 1360 + 1640 µm²) scaled by (node/45)² =
            717 µm² at 22 nm; 256 lanes take 0.18 mm². Registers, activation SRAM and control are
            not counted (a lower bound on the digital periphery).
        field_line_width_m, field_line_supply_v: the strip lines that make the crossbar's write
            field and the random-bit devices' bias field (`device.field_line`: I = 2·w·|H|,
            E = V_dd·I·t per gated pulse). Assumptions: 100 nm (about the free layer's width) and
            the 0.8 V logic supply. At 15 kA/m a write pulse of 30 ns costs 72 pJ; a random-bit
            cycle at the default chip's mean |bias + knob| field of 2.0 kA/m costs 9.6 pJ.

    At another node, set the node-dependent values too (``NODE_DEFAULTS``: the Horowitz-derived
    energies ∝ node, `scale_to_node`; the driver and random-bit periphery areas ∝ node², `node_scaled`):
    a ``node_nm`` other than 22 with any of them left at its 22 nm default is refused, naming them.
    """

    LABEL = "CMOS periphery and technology"
    SUMMARY = "The CMOS around the arrays: what the cost report charges for DACs, ADCs, digital work and area."
    GROUPS = (
        (
            "node",
            "Node and cells",
            "The CMOS node of the periphery and the area of one 1T1MTJ cell; node-dependent energies and areas must be set with the node.",
        ),
        ("adc", "ADCs", "How fast the ADCs convert and how many column pairs share one."),
        (
            "energy",
            "Energies",
            "Per-operation energies of the periphery (Horowitz, ISSCC 2014, scaled to the node) and NeuroSim's post-layout factor.",
        ),
        ("area", "Areas", "Periphery area besides the cells: row drivers, random-bit periphery, digital lanes."),
        (
            "digital",
            "Digital periphery",
            "The lanes that run the network's non-crossbar layers (norms, activations, trims, sampler updates).",
        ),
        (
            "field_lines",
            "Field lines",
            "Strip lines that make the crossbar's write field and the random-bit devices' bias field: I = 2·w·|H|, E = V_dd·I·t.",
        ),
    )

    node_nm: float = param(
        22.0,
        label="Technology node F",
        unit="nm",
        low=0.0,
        low_open=True,
        group="node",
        description="CMOS node of the periphery; the Horowitz energies scale ∝ node, the areas ∝ node².",
        source="NeuroSim 22 nm LP data (docs/formulas.md F4)",
    )
    cell_area_f2: float = param(
        54.0,
        label="Cell area",
        unit="F²",
        low=0.0,
        low_open=True,
        group="node",
        description="Area of one 1T1MTJ cell in squared feature sizes.",
        source="NVSim 1T1MTJ cell (docs/formulas.md F6)",
    )
    adc_sample_rate: float = param(
        1e9,
        label="ADC sample rate",
        unit="Hz",
        display=("GS/s", 9),
        low=0.0,
        low_open=True,
        group="adc",
        description="Conversions per second of one ADC.",
        source="docs/formulas.md F3/F5 reference point",
    )
    adc_column_sharing: int = param(
        8,
        label="Column pairs per ADC",
        low=1,
        high=4096,
        group="adc",
        description="Column pairs multiplexed onto one ADC (fewer ADCs, more conversions in series).",
        source=ASSUMED_CONSTANTS["adc_column_sharing"],
    )
    digital_op_energy: float = param(
        scale_to_node(_FP16_OP_45NM, 22.0),
        label="Digital op energy",
        unit="J",
        display=("fJ", -15),
        low=0.0,
        group="energy",
        description="Energy of one 16-bit digital add, multiply or compare.",
        source=ASSUMED_CONSTANTS["digital_op_energy"],
    )
    shift_add_energy: float = param(
        scale_to_node(HOROWITZ_45NM_J["int32_add"], 22.0),
        label="Shift-add energy",
        unit="J",
        display=("fJ", -15),
        low=0.0,
        group="energy",
        description="Energy of one shift-and-add of a bit slice's partial sum.",
        source=ASSUMED_CONSTANTS["shift_add_energy"],
    )
    dac_energy: float = param(
        50e-15,
        label="Input DAC energy",
        unit="J",
        display=("fJ", -15),
        low=0.0,
        group="energy",
        description="Energy of one input DAC conversion (one row driven for one read).",
        source=ASSUMED_CONSTANTS["dac_energy"],
    )
    driver_area_um2: float = param(
        4.0,
        label="Row driver area",
        unit="µm²",
        low=0.0,
        group="area",
        description="Area of one row driver/DAC (level shifter, switch, buffer).",
        source=ASSUMED_CONSTANTS["driver_area_um2"],
    )
    rng_periphery_area_um2: float = param(
        20.0,
        label="Random-bit periphery area",
        unit="µm²",
        low=0.0,
        group="area",
        description="Area per random-bit device besides its cell: sense amp, driver, knob register, shared logic.",
        source=ASSUMED_CONSTANTS["rng_periphery_area_um2"],
    )
    post_layout_factor: float = param(
        1.22,
        label="Post-layout factor",
        low=1.0,
        group="energy",
        description="NeuroSim's multiplier on dynamic energy after layout (applied only when switched on).",
        source="NeuroSim (docs/formulas.md F7)",
    )
    apply_post_layout_factor: bool = param(
        False,
        label="Apply post-layout factor",
        group="energy",
        description="Report post-layout energies instead of the default pre-layout numbers.",
        source="spindiff design choice",
    )
    vcma_driver_energy: float = param(
        20e-15,
        label="VCMA driver energy",
        unit="J",
        display=("fJ", -15),
        low=0.0,
        group="energy",
        description="E_driver of one VCMA pulse: the pulse line and its driver (F17).",
        source=ASSUMED_CONSTANTS["vcma_driver_energy"],
    )
    digital_clock_hz: float = param(
        1e9,
        label="Digital clock",
        unit="Hz",
        display=("GHz", 9),
        low=0.0,
        low_open=True,
        group="digital",
        description="Clock of the digital lanes; their latency is digital_ops/(clock·lanes).",
        source=ASSUMED_CONSTANTS["digital_clock_hz"],
    )
    digital_lanes: int = param(
        256,
        label="Digital lanes",
        low=1,
        high=4096,
        group="digital",
        description="16-bit lanes, one op each per clock.",
        source=ASSUMED_CONSTANTS["digital_lanes"],
    )
    digital_lane_area_um2: float = param(
        NODE_DEFAULTS["digital_lane_area_um2"][0],
        label="Digital lane area",
        unit="µm²",
        low=0.0,
        group="area",
        description="Area of one lane: an FP16 adder and multiplier (registers and SRAM not counted).",
        source=ASSUMED_CONSTANTS["digital_lane_area_um2"],
    )
    field_line_width_m: float = param(
        100e-9,
        label="Field-line width",
        unit="m",
        display=("nm", -9),
        low=0.0,
        low_open=True,
        group="field_lines",
        description="Width w of the strip line: the field H = I/(2w) close to it.",
        source=ASSUMED_CONSTANTS["field_line_width_m"],
    )
    field_line_supply_v: float = param(
        0.8,
        label="Field-line supply",
        unit="V",
        low=0.0,
        group="field_lines",
        description="Supply of the field-line drivers, gated to the pulse.",
        source=ASSUMED_CONSTANTS["field_line_supply_v"],
    )

    def __post_init__(self) -> None:
        owner = type(self).__name__
        errors = field_errors(self)
        stale = [name for name, (value, _) in NODE_DEFAULTS.items() if getattr(self, name) == value]
        if not errors and self.node_nm != DEFAULT_NODE_NM and stale:
            wanted = ", ".join(f"{name} = {node_scaled(name, self.node_nm):.4g}" for name in stale)
            message = (
                f"{owner}.node_nm = {self.node_nm:g} but {', '.join(stale)} still hold the {DEFAULT_NODE_NM:g} nm "
                f"values; set them for the node too (energies ∝ node, areas ∝ node²: {wanted}) or keep node_nm = "
                f"{DEFAULT_NODE_NM:g}"
            )
            errors.append(FieldError("node_nm", message, tuple(stale)))
        raise_if(errors)


check_declared(TechnologyParameters)
