"""Request and response models of the /v1 API, with bounds and OpenAPI examples."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from diffusion.generation.sampler_names import DEFAULT_SAMPLER, ETA, SAMPLERS, samplers_taking, unused_parameter
from worker.telemetry import Reproducibility, Telemetry  # pure pydantic: no torch in the API process

SOFTWARE = "software"


def eta_only_where_taken(value, info: ValidationInfo):
    """η is refused for a sampler that does not take it (the registry says which, `sampler_names`)."""
    message = unused_parameter(info.data.get("sampler"), ETA.name, value)
    if message:
        raise ValueError(message)
    return value


def integral(value):
    """A JSON number with no fractional part (``37.0``) is an integer in JSON Schema: take it as one.
    The models are strict otherwise, so a string or a boolean is still refused where an integer is declared."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]

# Overrides are small JSON objects: {section: {key: scalar}} (validated against the profile by device.profiles).
Overrides = dict[str, dict[str, bool | int | float | str]]
# The sampler names of the registry (diffusion/generation/sampler_names.py: standard library only).
SamplerName = Literal[tuple(SAMPLERS)]


class HardwareSpec(BaseModel):
    """A hardware profile by name, with optional overrides of its parameters."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as the schema says: no "1" or true for an integer, no "yes" for a boolean
        json_schema_extra={
            "examples": [
                {"profile": "vcma-default", "overrides": {"crossbar": {"adc_bits": 6}, "rng": {"dac_bits": 8}}}
            ]
        },
    )

    profile: str = Field(
        "vcma-default", min_length=1, max_length=64, description="profile name (GET /v1/profiles), or 'software'"
    )
    overrides: Overrides | None = Field(None, description='section → key → value, e.g. {"crossbar": {"adc_bits": 6}}')

    @field_validator("overrides")
    @classmethod
    def _software_has_no_overrides(cls, value, info: ValidationInfo):
        if value and info.data.get("profile") == SOFTWARE:
            raise ValueError("the 'software' baseline has no hardware parameters to override; drop 'overrides'")
        return value


class QualityOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool = Field(True, description="batch KID/FID against the reference statistics (when installed)")


GENERATION_EXAMPLE = {"num_images": 4, "steps": 20, "sampler": "ddim", "seed": 7, "hardware": "vcma-default"}


class GenerationCreate(BaseModel):
    """POST /v1/generations. Every field has a default: ``{}`` asks for 16 images on vcma-default."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as the schema says: no "1" or true for an integer, no "yes" for a boolean
        json_schema_extra={
            "examples": [
                GENERATION_EXAMPLE,
                {"num_images": 2, "steps": 5, "hardware": "software", "quality": {"enabled": False}},
                {
                    "num_images": 16,
                    "steps": 50,
                    "sampler": "ddpm",
                    "hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"adc_bits": 6}}},
                },
            ]
        },
    )

    model: str = Field(
        "default", min_length=1, max_length=64, description="model id or weights SHA-256 (GET /v1/models)"
    )
    num_images: int = Field(16, ge=1, le=64, description="images in the batch")
    sampler: SamplerName = Field(
        DEFAULT_SAMPLER, description="; ".join(f"{name}: {spec.description}" for name, spec in SAMPLERS.items())
    )
    steps: int = Field(50, ge=1, le=1000, description="sampler steps (respaced from the 1000 training steps)")
    eta: float = Field(
        ETA.default,
        ge=ETA.low,
        le=ETA.high,
        description=f"{ETA.description}; {'/'.join(samplers_taking(ETA.name))} only, {ETA.default:g} for the others",
    )
    seed: int | None = Field(
        None, ge=0, lt=2**63, description="sampling seed; the server picks one when absent and returns it"
    )
    chip_seed: int = Field(0, ge=0, lt=2**63, description="which emulated chip (device variation) to run on")
    hardware: str | HardwareSpec = Field(
        "vcma-default", validate_default=True, description="profile name, {profile, overrides}, or 'software'"
    )
    noise: Literal["torch", "mtj"] = Field(
        "torch",
        description="where x_T and every step's noise come from: 'torch' (default; one seeded stream shared by every "
        "profile, so software and chip requests with the same seed pair image for image; a chip still runs and is charged for its "
        "MTJ array) or 'mtj' (the chip's own MTJ true-random array, which depends on the profile and chip seed; for 'software', "
        "the vcma-default chip's array)",
    )
    paired: bool = Field(
        False,
        description="chip requests: also run the software network on the same noise (the twin); the "
        "telemetry adds each image's PSNR and SSIM to its twin, the twin's images are kept",
    )
    quality: QualityOptions = Field(default_factory=QualityOptions)
    preview: bool = Field(False, description="progress events carry a PNG grid of the current estimate (base64)")

    _integers = field_validator("num_images", "steps", "seed", "chip_seed", mode="before")(integral)

    @field_validator("hardware")
    @classmethod
    def _as_spec(cls, value):
        return HardwareSpec(profile=value) if isinstance(value, str) else value

    @field_validator("paired")
    @classmethod
    def _paired_needs_a_chip(cls, value, info: ValidationInfo):
        hardware = info.data.get("hardware")
        if value and hardware is not None and hardware.profile == SOFTWARE:
            raise ValueError(
                "paired compares a chip request with its software twin; a 'software' request has none: "
                "drop paired or choose a hardware profile"
            )
        return value

    _eta = field_validator("eta")(eta_only_where_taken)


class Progress(BaseModel):
    step: int = 0
    total: int = 0
    fraction: float = 0.0
    elapsed_s: float | None = None
    eta_s: float | None = Field(None, description="estimated seconds left")


class ErrorBody(BaseModel):
    code: str = Field(..., examples=["validation_error"])
    message: str = Field(..., examples=["num_images: Input should be less than or equal to 64"])
    field: str | None = Field(None, examples=["num_images"])


class ErrorResponse(BaseModel):
    error: ErrorBody


class ImageLink(BaseModel):
    index: int
    url: str


class Job(BaseModel):
    """A generation job. ``telemetry`` and ``reproducibility`` are filled when it ends."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c…",
                    "status": "running",
                    "created_at": "2026-11-28T14:00:00Z",
                    "attempts": 1,
                    "progress": {"step": 12, "total": 50, "fraction": 0.24, "elapsed_s": 3.1, "eta_s": 9.8},
                    "links": {"self": "/v1/generations/5f0c…", "events": "/v1/generations/5f0c…/events"},
                }
            ]
        }
    )

    id: str
    status: Status
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    request: dict[str, Any]
    progress: Progress = Field(default_factory=Progress)
    attempts: int = 0
    max_attempts: int | None = None
    resumed: dict[str, int] | None = Field(
        None,
        description="set when a requeued job continued from a checkpoint instead of step 0: from_step (steps "
        "already done), total, attempt",
        examples=[{"from_step": 31, "total": 50, "attempt": 2}],
    )
    cancel_requested: bool = False
    worker: dict[str, Any] | None = None
    timings: dict[str, float | None] = Field(default_factory=dict)
    images: list[ImageLink] = Field(default_factory=list)
    grid_url: str | None = None
    twin_images: list[ImageLink] = Field(
        default_factory=list, description="a paired job's software twin (same noise), image by image"
    )
    twin_grid_url: str | None = None
    telemetry: Telemetry | None = Field(
        None,
        description="the job's report (schema_version 2; older stored reports are upgraded "
        "on reading); filled when the job ends, partial for a cancelled one",
    )
    reproducibility: Reproducibility | None = None
    error: ErrorBody | None = None
    links: dict[str, str] = Field(default_factory=dict)


class JobPage(BaseModel):
    items: list[Job]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next (older) page")


class ProfileSummary(BaseModel):
    name: str
    description: str
    hash: str | None


class ProfileDetail(ProfileSummary):
    profile: dict[str, Any] | None


class Model(BaseModel):
    id: str
    available: bool
    sha256: str | None = None
    parameters: int | None = None
    training_steps: int | None = None
    image_size: int | None = None
    num_train_timesteps: int | None = None
    unet: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    final_loss: float | None = None
    exported_at: str | None = None
    reason: str | None = None
