"""Request and response models of the /v1 API, with bounds and OpenAPI examples."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.api.errors import printable
from device import profiles  # numba-free: the parameter dataclasses and their metadata
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

#: The error code (and pydantic error type) of a profile or override that `device.profiles` refuses.
INVALID_PROFILE = "invalid_profile"

# Overrides are small JSON objects: {section: {key: scalar}}, validated against the profile by
# device.profiles (HardwareSpec._check_profile); their schema (every key with its bounds, unit and source)
# is the parameter dataclasses' metadata (device.parameter_spec), so the OpenAPI document says what is checked.
Overrides = Annotated[
    dict[str, dict[str, bool | int | float | str | None]],
    WithJsonSchema(profiles.overrides_json_schema()),
]


def _invalid(message: str, loc: tuple = ()) -> dict:
    """One pydantic line error of type ``invalid_profile`` (its message as `device.profiles` wrote it).
    Lone surrogates of the client's keys are written as ``\\udXXX`` first: pydantic's errors are UTF-8."""
    message, loc = printable(message), tuple(printable(str(part)) for part in loc)
    return {"type": PydanticCustomError(INVALID_PROFILE, "{message}", {"message": message}), "loc": loc, "input": None}


def _unknown_profile(name: str) -> str | None:
    if name == SOFTWARE or name in profiles.PROFILES:
        return None
    return f"unknown profile {name!r}; known profiles: {', '.join(profiles.PROFILES)}, or 'software'"


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

    @model_validator(mode="after")
    def _check_profile(self):
        """The profile exists and the overrides apply to it (`device.profiles.override_problems`): every
        problem at once, each at its own field (``overrides.crossbar.adc_bits``), as ``invalid_profile``."""
        unknown = _unknown_profile(self.profile)
        if unknown:
            raise ValidationError.from_exception_data(type(self).__name__, [_invalid(unknown, ("profile",))])
        if self.profile != SOFTWARE and self.overrides:
            problems = profiles.override_problems(profiles.get_profile(self.profile), self.overrides)
            if problems:
                lines = [_invalid(p.message, ("overrides", *p.path.split("."))) for p in problems]
                raise ValidationError.from_exception_data(type(self).__name__, lines)
        return self


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
        if not isinstance(value, str):
            return value
        unknown = _unknown_profile(value)
        # named as a string, an unknown profile is the field's own error ("hardware", not "hardware.profile");
        # text that is not UTF-8 (a lone surrogate) is left to HardwareSpec, which refuses it at hardware.profile
        if unknown and value == printable(value):
            raise PydanticCustomError(INVALID_PROFILE, "{message}", {"message": unknown})
        return HardwareSpec(profile=value)

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


class ErrorDetail(BaseModel):
    field: str | None = Field(None, examples=["hardware.overrides.crossbar.adc_bits"])
    message: str = Field(..., examples=["CrossbarParameters.adc_bits must lie in [2, 14] (or 0 for ideal), got 99"])


class ErrorBody(BaseModel):
    code: str = Field(..., examples=["validation_error"])
    message: str = Field(..., examples=["num_images: Input should be less than or equal to 64"])
    field: str | None = Field(None, examples=["num_images"])
    details: list[ErrorDetail] | None = Field(
        None, description="a 422's every problem, each at its field (the first is message and field)"
    )


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
