"""The typed telemetry of one generation: the report every job returns, in one place.

`Telemetry` is the whole report; its parts live beside it (`diffusion.telemetry.energy`: the chip's
cost report, the GPU/TPU baseline, the ratio ranges and the seed paper's energy-per-bit-per-area
metric; `diffusion.telemetry.quality`: FID and KID with their N and intervals). Units are in the
field names (``_s`` seconds, ``_j`` joules, ``_mm2``, ``_db``) or their descriptions.

* **Assembled here.** `generation_telemetry` builds the report of a finished or cancelled
  generation from its parts (`diffusion.generation.generate` calls it), `with_quality` adds the quality block
  (the worker and ``spindiff generate`` call it); both return what is stored, `dump`'s JSON dict.
* **Stored as is**: the job store keeps ``Telemetry.model_dump(mode="json")``; the API publishes the
  model in its OpenAPI schema (the job's ``telemetry``), and the dashboard and the CLI read stored
  reports back with `load`.
* **Versioned**: ``schema_version`` is `SCHEMA_VERSION` (2). A stored report without one (schema 1,
  before this module) is upgraded on reading: the energy blocks get their ``kind``, KIDs their N
  and interval, the calibrated FID becomes one ``fid_at_n`` point, the bit-area metric is derived;
  ``upgraded_from`` says it happened. What schema 1 never recorded (the ratio ranges, the FID
  spread, the software FID at the chip's N) stays null rather than being invented.
* **Tolerant**: every model keeps keys it does not know, so a report from a newer writer, or with
  fields device/ adds to its cost report, reads back unchanged.

Pure pydantic: the API process imports this module without torch or numpy.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from diffusion.telemetry.energy import BaselineEnergy, ChipEnergy, Open, upgrade_energy
from diffusion.telemetry.quality import Quality

SCHEMA_VERSION = 2


class RequestEcho(Open):
    """The request as the worker ran it (``profile`` by name)."""

    profile: str
    num_images: int
    steps: int
    sampler: str
    eta: float = 0.0
    seed: int
    chip_seed: int = 0
    calibration_batch: int | None = Field(None, description="noisy samples the chip's calibration ran on")
    noise: str | None = Field(
        None,
        description="'torch' or 'mtj'; null on reports stored before it existed "
        "(software ran on torch noise, chips on their MTJ array then)",
    )
    paired: bool | None = Field(
        None, description="also ran the software twin; null on reports stored before it existed"
    )


class SamplerRecord(Open):
    name: str
    steps: int
    eta: float = 0.0
    timesteps: list[int] = Field(default_factory=list)


class NoiseRecord(Open):
    source: str | None = Field(None, description="'torch' or 'mtj'")
    values: str | None = Field(None, description="where x_T and the step noise came from")
    charged_to: str | None = Field(None, description="what the chip's ledger charged for the noise")
    x_T_sha256: str | None = None
    stream_sha256: str | None = None
    samples: int | None = Field(None, description="Gaussian samples drawn")


class Reproducibility(Open):
    """Everything needed to run the request again bit for bit (also each PNG's text chunk)."""

    seed: int
    chip_seed: int = 0
    model_sha256: str | None = None
    profile: dict[str, Any] | None = Field(None, description="the hardware profile's parameters (null for software)")
    profile_hash: str | None = None
    sampler: SamplerRecord | None = None
    noise: NoiseRecord | None = None
    code_version: str | None = None


class Timings(Open):
    """Wall-clock seconds on the server that emulated the chip (not the chip's latency)."""

    programming_s: float | None = None
    chip_load_s: float | None = None
    sampling_s: float | None = None
    twin_sampling_s: float | None = None
    quality_s: float | None = None
    total_s: float | None = None


class Emulation(Open):
    mode: str | None = Field(None, description="'exact' or 'statistical'")
    device: str | None = None
    chip_source: str | None = Field(None, description="'programmed', 'disk' or 'memory'")


class Workload(Open):
    macs_per_image: int | None = Field(None, description="multiply-accumulates of the network per image, all steps")


class Cancelled(Open):
    steps_done: int
    total: int
    twin_steps_done: int | None = None


class Resumed(Open):
    """A job that continued from a checkpoint (`diffusion.generation.resume`) instead of starting again."""

    from_step: int = Field(..., description="sampler steps already done when it resumed (their network calls skipped)")
    total: int


class PairMetric(Open):
    per_image: list[float | None] = Field(default_factory=list)
    mean: float | None = None
    min: float | None = None
    max: float | None = None


class Fidelity(Open):
    """A paired job's chip images against their software twins (`diffusion.metrics.fidelity`)."""

    against: str = ""
    n: int | None = None
    identical: int | None = Field(None, description="images equal to their twin (PSNR infinite, written null)")
    same_noise: bool | None = None
    psnr_db: PairMetric | None = Field(None, description="dB; null = infinite")
    ssim: PairMetric | None = None
    mean_abs_diff: PairMetric | None = Field(None, description="uint8 levels of 255")


Energy = Annotated[ChipEnergy | BaselineEnergy, Field(discriminator="kind")]


class Telemetry(Open):
    """The report of one generation job (module docstring); every block is null where it does not apply."""

    schema_version: int = Field(SCHEMA_VERSION, description="2; reports without one are schema 1, upgraded on reading")
    upgraded_from: int | None = Field(
        None, description="the stored report's schema_version when it was upgraded on reading"
    )
    request: RequestEcho | None = None
    reproducibility: Reproducibility | None = Field(
        None, description="in a job it is the job's own `reproducibility` field"
    )
    timings: Timings = Field(default_factory=Timings)
    energy: Energy | None = Field(
        None, description="kind 'chip': the chip's cost report; 'gpu_baseline': a software job's"
    )
    programming: ChipEnergy | None = Field(None, description="the one-off cost of programming the chip (not per image)")
    noise_samples: int | None = None
    emulation: Emulation | None = None
    workload: Workload | None = None
    fidelity: Fidelity | None = None
    quality: Quality | None = None
    cancelled: Cancelled | None = None
    resumed: Resumed | None = Field(None, description="set when the generation continued from a checkpoint")

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data):
        if not isinstance(data, dict) or "schema_version" in data:
            return data
        data = {**data, "schema_version": SCHEMA_VERSION, "upgraded_from": 1}
        for key in ("energy", "programming"):
            data[key] = upgrade_energy(data.get(key))
        return data


def new(**blocks) -> Telemetry:
    """A report of the current schema from its blocks (a bare ``Telemetry(...)`` without
    ``schema_version`` would be read as a schema-1 report and marked upgraded)."""
    return Telemetry(schema_version=SCHEMA_VERSION, **blocks)


def dump(report: Telemetry) -> dict:
    """What is stored and returned: the report as JSON-ready dict."""
    return report.model_dump(mode="json")


def load(data: dict | Telemetry | None) -> Telemetry | None:
    """A stored report (any schema version, or none) as `Telemetry`; None for None."""
    if data is None or isinstance(data, Telemetry):
        return data
    return Telemetry.model_validate(data)


def generation_telemetry(
    *,
    request: dict,
    timings: dict,
    energy: dict | None,
    reproducibility: dict | None = None,
    programming: dict | None = None,
    ratio_ranges: dict | None = None,
    noise_samples: int | None = None,
    emulation: dict | None = None,
    workload: dict | None = None,
    fidelity: dict | None = None,
    cancelled: dict | None = None,
    resumed: dict | None = None,
) -> dict:
    """The stored report of one generation from its parts (`diffusion.generation.generate`).

    ``energy``: a chip's `device.cost.cost_report` (inference) or ``{"baseline": …}`` of a software
    job; ``ratio_ranges``: `device.cost_uncertainty.ratio_ranges` of it (chip jobs).
    """
    if energy is not None:
        energy = {**energy, "kind": "chip" if "energy_j" in energy else "gpu_baseline"}
        if ratio_ranges is not None:
            energy["ratio_ranges"] = ratio_ranges
    if programming is not None:
        programming = {**programming, "kind": "chip"}
    report = new(
        request=request,
        reproducibility=reproducibility,
        timings=timings,
        energy=energy,
        programming=programming,
        noise_samples=noise_samples,
        emulation=emulation,
        workload=workload,
        fidelity=fidelity,
        cancelled=cancelled,
        resumed=resumed,
    )
    return dump(report)


def with_quality(telemetry: dict | Telemetry, quality: dict, quality_s: float | None = None) -> dict:
    """The stored report with its quality block (`diffusion.metrics.per_request.quality_block`) and scoring time."""
    report = load(telemetry)
    report = report.model_copy(
        update={
            "quality": Quality.model_validate(quality),
            "timings": report.timings.model_copy(update={} if quality_s is None else {"quality_s": quality_s}),
        }
    )
    return dump(report)


def headline(report: Telemetry) -> dict:
    """The figures a person reads first, each with its N, interval or range (what ``spindiff telemetry`` prints)."""
    energy, quality = report.energy, report.quality
    out: dict = {
        "schema_version": report.schema_version,
        "upgraded_from": report.upgraded_from,
        "profile": report.request.profile if report.request else None,
    }
    if energy is not None and energy.kind == "chip":
        ranges = energy.ratio_ranges
        spread = ranges.energy_per_image_gpu_over_chip if ranges else {}
        out["energy_per_image_j"] = energy.energy_per_image_j
        out["energy_per_image_gpu_over_chip"] = {
            key: {
                "headline": value,
                "low": spread[key].low if key in spread else None,
                "high": spread[key].high if key in spread else None,
            }
            for key, value in energy.ratios.energy_per_image_gpu_over_chip.items()
        }
        out["ratio_assumptions"] = (
            [{"name": a.name, "headline": a.headline, "alternatives": a.alternatives} for a in ranges.assumptions]
            if ranges
            else "not recorded (report stored before schema 2)"
        )
        metric = energy.energy_per_bit_area
        if metric is not None:
            out["energy_per_bit_per_area"] = {
                "definition": metric.definition,
                "chip_j_mm2": metric.chip_j_mm2,
                "gpu_over_chip": {
                    key: {"full_die": acc.full_die.gpu_over_chip, "rng_time_share": acc.rng_time_share.gpu_over_chip}
                    for key, acc in metric.accelerators.items()
                },
            }
    elif energy is not None:
        out["gpu_energy_per_image_j"] = {
            key: acc.energy_per_image_j for key, acc in energy.baseline.accelerators.items()
        }
    if quality is not None:
        kid, fid = quality.batch_kid, quality.batch_fid
        out["batch_kid"] = None if kid is None else {"mean": kid.mean, "std": kid.std, "n": kid.n}
        out["batch_fid"] = None if fid is None else {"value": fid.value, "n": fid.n}
        out["fid_at_n"] = [{"n": p.n, "value": p.value, "sd": p.sd, "sets": p.sets} for p in quality.fid_at_n]
        out["software_at_same_n"] = [
            {"n": p.n, "value": p.value, "sd": p.sd, "sets": p.sets} for p in quality.software_at_same_n
        ]
        if quality.paired is not None:
            out["paired"] = {
                "n": quality.paired.n,
                "fid_difference": quality.paired.fid_difference,
                "kid_difference": quality.paired.kid_difference,
            }
        if not quality.available:
            out["quality_reason"] = quality.reason
    return out
