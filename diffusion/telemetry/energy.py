"""The energy part of the typed telemetry (`diffusion.telemetry.report`): the chip's cost report and the GPU/TPU baseline.

The numbers come from `device.cost.cost_report` and `device.baselines.baseline_report` (JSON dicts;
`device/` knows nothing of pydantic). These models type the parts the dashboard, the CLI and users
rely on — energies by component, area, latency, the baseline per accelerator, the ratios, their
ranges over the cost model's uncertain assumptions (`device.cost_uncertainty`) and the seed paper's
energy-per-bit-per-area metric — with units in the field names (``_j`` joules, ``_s`` seconds,
``_mm2``/``_um2`` areas, ``_j_mm2`` joule × mm²). Everything else a report holds (ledger counts,
per-action energies, the assumption texts and constants, new keys device/ adds) is kept as
**documented extra fields**: every model here allows extra keys and stores them unchanged.
Pure pydantic: importable without torch or numpy, so the API process reads the same models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ACCELERATOR_KEYS = ("a100_sxm", "h100_sxm", "tpu_v4")
BASES = ("full_die", "rng_time_share")


class Open(BaseModel):
    """A telemetry model that keeps keys it does not know (stored and returned unchanged)."""

    model_config = ConfigDict(extra="allow")


class BitAreaBases(Open):
    full_die: float | None = Field(
        None, description="J·mm²: energy per random bit × the whole die (the headline basis)"
    )
    rng_time_share: float | None = Field(
        None, description="J·mm²: energy per random bit × die × the workload's RNG time fraction"
    )


class AcceleratorBaseline(Open):
    """One reference accelerator running the same workload (`device.baselines`)."""

    name: str
    peak_flops: float | None = Field(None, description="dense FP16/BF16 tensor peak, FLOP/s")
    tdp_w: float | None = Field(None, description="power limit used as the operating power, W")
    die_area_mm2: float | None = None
    time_s: float | None = Field(None, description="the whole workload, s")
    time_per_image_s: float | None = None
    energy_j: float | None = Field(None, description="the whole workload, J")
    energy_per_image_j: float | None = None
    energy_per_random_bit_j: float | None = Field(
        None, description="J per bit of a Philox4x32-10 word at the tensor rate"
    )
    energy_per_bit_per_area_j_mm2: BitAreaBases = Field(default_factory=BitAreaBases)
    rng_time_fraction: float | None = Field(None, description="share of the workload's ops spent on random numbers")
    source: str = ""
    uncertain: str = Field("", description="which of its numbers spindiff is unsure of")


class Baseline(Open):
    """The GPU/TPU baseline: energy = TDP × time at ``utilisation`` of the tensor peak (``model``)."""

    model: str = ""
    utilisation: float | None = Field(None, description="fraction of the tensor peak assumed delivered (headline)")
    flops: float | None = Field(None, description="network FLOPs of the workload (2 per MAC)")
    gaussian_samples: float | None = None
    images: int | None = None
    bit_definition: str = ""
    metric_definition: str = ""
    accelerators: dict[str, AcceleratorBaseline] = Field(
        default_factory=dict, description="a100_sxm, h100_sxm, tpu_v4, …"
    )


class EnergyByComponent(Open):
    """Joules of the whole job (not per image) by component (F7 roll-up, device/cost.py)."""

    array_read: float = 0.0
    adc: float = 0.0
    dac: float = 0.0
    shift_add: float = 0.0
    digital: float = 0.0
    rng: float = 0.0
    rng_calibration: float = 0.0
    programming: float = 0.0


class AreaByBlock(Open):
    """µm² by block of the chip."""

    cells: float = 0.0
    adcs: float = 0.0
    drivers: float = 0.0
    rng: float = Field(0.0, description="the random-bit array: cells + periphery")
    digital: float = Field(0.0, description="the digital lanes (FP16 adder + multiplier each; no SRAM or control)")


class Latency(Open):
    """The chip's latency, s (``model`` says how the parts combine)."""

    per_image: float | None = None
    per_step: float | None = None
    total: float | None = None
    mvm: float | None = None
    digital: float | None = None
    rng: float | None = None
    model: str = ""


class AdcAlternatives(Open):
    survey_f3: float | None = Field(None, description="J of the job's conversions at the F3 survey fit (the headline)")
    sar_f4: float | None = Field(None, description="J of the same conversions at the F4 NeuroSim SAR fit")
    per_conversion_j: dict[str, float] = Field(default_factory=dict)


class RngDetail(Open):
    energy_per_output_bit_j: float | None = Field(
        None, description="J per random bit delivered (pulses, bias-line fields, reads, resets)"
    )
    field_j: float = Field(0.0, description="J of the bias lines' field pulses (device/field_line.py)")
    energy_per_bit_per_area_j_mm2: float | None = Field(
        None, description="the chip's metric: J per bit × random-bit array area"
    )


class Ratios(Open):
    energy_per_image_gpu_over_chip: dict[str, float | None] = Field(
        default_factory=dict, description="headline, per accelerator"
    )
    energy_per_bit_per_area_gpu_over_chip: dict[str, BitAreaBases] = Field(
        default_factory=dict, description="per accelerator, both bases"
    )


class Range(Open):
    """A ratio's headline value and its low–high range over the listed assumptions."""

    headline: float | None = None
    low: float | None = None
    high: float | None = None
    low_case: dict[str, Any] = Field(default_factory=dict, description="the assumption choices of ``low``")
    high_case: dict[str, Any] = Field(default_factory=dict, description="the assumption choices of ``high``")
    by_assumption: dict[str, list[float]] = Field(
        default_factory=dict, description="[low, high] of each assumption alone"
    )


class Assumption(Open):
    name: str
    headline: Any = None
    alternatives: list[Any] = Field(default_factory=list)
    basis: str = ""


class RatioRanges(Open):
    """GPU/TPU-over-chip ratios as ranges over the cost model's uncertain assumptions (`device.cost_uncertainty`)."""

    assumptions: list[Assumption] = Field(
        default_factory=list, description="what was varied, with its headline choice and basis"
    )
    chip_energy_per_image_j: Range = Field(default_factory=Range)
    energy_per_image_gpu_over_chip: dict[str, Range] = Field(default_factory=dict)
    energy_per_bit_per_area_gpu_over_chip: dict[str, dict[str, Range]] = Field(
        default_factory=dict, description="accelerator → basis → range"
    )
    method: str = ""
    not_varied: str = ""


class BitAreaEntry(Open):
    """One accelerator's energy-per-bit-per-area on one area basis."""

    area_mm2: float | None = None
    j_mm2: float | None = Field(None, description="energy per random bit × area, J·mm²")
    gpu_over_chip: float | None = Field(None, description="its metric over the chip's (> 1: the chip is better)")


class BitAreaAccelerator(Open):
    name: str = ""
    energy_per_bit_j: float | None = None
    full_die: BitAreaEntry = Field(default_factory=BitAreaEntry)
    rng_time_share: BitAreaEntry = Field(default_factory=BitAreaEntry)


class BitAreaMetric(Open):
    """The seed paper's headline metric (Cheng et al., Nat. Commun. 16, 5022 (2025)) as spindiff defines it."""

    citation: str = (
        "Cheng et al., Nat. Commun. 16, 5022 (2025): energy per bit per area, claimed ≈ 10³× better than GPU/TPU"
    )
    definition: str = Field("", description="device.baselines.METRIC_DEFINITION")
    bit_definition: str = ""
    chip_basis: str = ""
    chip_energy_per_bit_j: float | None = None
    chip_area_mm2: float | None = Field(None, description="the random-bit array (cells + periphery)")
    chip_j_mm2: float | None = None
    accelerators: dict[str, BitAreaAccelerator] = Field(default_factory=dict)


class BaselineEnergy(Open):
    """A software job's energy: only the GPU/TPU models of the same workload."""

    kind: Literal["gpu_baseline"] = "gpu_baseline"
    baseline: Baseline


class ChipEnergy(Open):
    """The chip's cost report of one phase (`device.cost.cost_report`), plus its ranges and the bit-area metric.

    Extra fields kept as device/ writes them: ``counts`` (the ledger's action counts),
    ``rng_detail.per_action_j``, ``assumptions`` (texts, ``constants`` with value and basis,
    ``read_noise``), ``workload``, ``programming_phase_energy_j`` and any key device/ adds later.
    """

    kind: Literal["chip"] = "chip"
    phase: str = "inference"
    images: int = 1
    steps: int | None = None
    workload: dict[str, Any] | None = None
    counts: dict[str, int | float] = Field(
        default_factory=dict, description="the ledger's action counts (keys: device/ledger.py)"
    )
    energy_j: EnergyByComponent
    energy_total_j: float
    energy_per_image_j: float
    energy_per_step_j: float | None = None
    adc_alternatives: AdcAlternatives = Field(default_factory=AdcAlternatives)
    rng_detail: RngDetail = Field(default_factory=RngDetail)
    area_um2: AreaByBlock = Field(default_factory=AreaByBlock)
    area_total_mm2: float | None = None
    latency_s: Latency = Field(default_factory=Latency)
    baseline: Baseline | None = None
    ratios: Ratios = Field(default_factory=Ratios)
    ratio_ranges: RatioRanges | None = Field(
        None, description="null on jobs stored before schema 2 and on the programming phase"
    )
    energy_per_bit_area: BitAreaMetric | None = Field(
        None, description="derived from rng_detail, area_um2 and the baseline"
    )
    assumptions: dict[str, Any] = Field(
        default_factory=dict, description="the cost model's assumptions, as device/cost.py states them"
    )

    @model_validator(mode="after")
    def _bit_area(self):
        if self.energy_per_bit_area is None and self.baseline is not None and self.phase == "inference":
            self.energy_per_bit_area = bit_area_metric(self)
        return self


def bit_area_metric(energy: ChipEnergy) -> BitAreaMetric:
    """The energy-per-bit-per-area figures of a chip report, both GPU/TPU area bases, with definitions."""
    chip = energy.rng_detail.energy_per_bit_per_area_j_mm2
    ratios = energy.ratios.energy_per_bit_per_area_gpu_over_chip
    rows = {}
    for key, acc in energy.baseline.accelerators.items():
        metric = acc.energy_per_bit_per_area_j_mm2
        share = acc.rng_time_fraction

        def entry(basis: str, area, metric=metric, key=key) -> BitAreaEntry:
            value = getattr(metric, basis)
            ratio = (
                getattr(ratios[key], basis) if key in ratios else (value / chip if value is not None and chip else None)
            )
            return BitAreaEntry(area_mm2=area, j_mm2=value, gpu_over_chip=ratio)

        die = acc.die_area_mm2
        rows[key] = BitAreaAccelerator(
            name=acc.name,
            energy_per_bit_j=acc.energy_per_random_bit_j,
            full_die=entry("full_die", die),
            rng_time_share=entry("rng_time_share", die * share if die is not None and share is not None else None),
        )
    return BitAreaMetric(
        definition=energy.baseline.metric_definition or energy.assumptions.get("metric_definition", ""),
        bit_definition=energy.baseline.bit_definition or energy.assumptions.get("bit_definition", ""),
        chip_basis=energy.assumptions.get("chip_metric_basis", ""),
        chip_energy_per_bit_j=energy.rng_detail.energy_per_output_bit_j,
        chip_area_mm2=energy.area_um2.rng * 1e-6,
        chip_j_mm2=chip,
        accelerators=rows,
    )


def upgrade_energy(data: dict | None) -> dict | None:
    """A version-less stored energy dict → one these models read (its ``kind`` inferred)."""
    if not isinstance(data, dict) or "kind" in data:
        return data
    return {**data, "kind": "chip" if "energy_j" in data else "gpu_baseline"}
