"""Request and response models of /v1/sweeps (design-space sweeps over profile parameters)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.schemas import Overrides, QualityOptions, SamplerName, Status, eta_only_where_taken, integral
from diffusion.generation.sampler_names import DEFAULT_SAMPLER, ETA, SAMPLERS
from worker.sweep_plan import MAX_POINTS

#: the most images one sweep may ask for, all points together
MAX_SWEEP_IMAGES = 4096

Scalar = bool | int | float | str

SWEEP_EXAMPLE = {
    "profile": "vcma-default",
    "axes": {"crossbar.adc_bits": [6, 8]},
    "num_images": 4,
    "steps": 2,
    "sampler": "ddpm",
    "seed": 0,
}


class SweepCreate(BaseModel):
    """POST /v1/sweeps: a base request and profile, and the points as a grid of axes or an explicit list."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as the schema says: no "1" or true for an integer, no "yes" for a boolean
        json_schema_extra={
            "examples": [
                SWEEP_EXAMPLE,
                {
                    "profile": "vcma-default",
                    "emulation": "statistical",
                    "axes": {"crossbar.adc_bits": [4, 6, 8, 10], "crossbar.read_time": [1e-9, 4e-9]},
                    "num_images": 64,
                    "steps": 10,
                    "sampler": "ddpm",
                    "seed": 0,
                },
                {"profile": "vcma-default", "points": [{"crossbar.adc_bits": 6}, {"crossbar.read_noise": 0.005}]},
            ]
        },
    )

    model: str = Field("default", min_length=1, max_length=64, description="model id or weights SHA-256")
    profile: str = Field("vcma-default", min_length=1, max_length=64, description="the base preset (GET /v1/profiles)")
    overrides: Overrides | None = Field(None, description="overrides of the base preset every point shares")
    emulation: Literal["exact", "statistical"] | None = Field(
        None, description="crossbar emulation mode of every point (default: the profile's own)"
    )
    axes: dict[str, list[Scalar]] | None = Field(
        None,
        description="'section.key' → values; the points are their full grid (the last axis varies fastest)",
        examples=[{"crossbar.adc_bits": [6, 8], "crossbar.read_time": [1e-9, 4e-9]}],
    )
    points: list[dict[str, Scalar]] | None = Field(
        None, description="explicit points, each {'section.key': value, …} (instead of axes)"
    )
    num_images: int = Field(16, ge=1, le=64, description="images per point (the N of its batch FID and KID)")
    sampler: SamplerName = Field(DEFAULT_SAMPLER, description=", ".join(SAMPLERS))
    steps: int = Field(50, ge=1, le=1000)
    eta: float = Field(ETA.default, ge=ETA.low, le=ETA.high, description=ETA.description)
    seed: int | None = Field(
        None, ge=0, lt=2**63, description="sampling seed shared by every point (server-chosen when absent)"
    )
    chip_seed: int = Field(0, ge=0, lt=2**63)
    noise: Literal["torch", "mtj"] = Field(
        "torch", description="'torch': every point on the same noise (points differ only by their chip)"
    )
    quality: QualityOptions = Field(default_factory=QualityOptions)

    _integers = field_validator("num_images", "steps", "seed", "chip_seed", mode="before")(integral)

    _eta = field_validator("eta")(eta_only_where_taken)


class SweepPoint(BaseModel):
    index: int
    values: dict[str, Any]
    profile_hash: str
    job_id: str
    job_url: str
    status: str = Field(description="the point job's status, or 'expired' once its record is gone")
    progress: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    results: dict[str, Any] | None = Field(
        None,
        description="succeeded points: n, fid, kid_mean/std, energy per image (total, by component), area, latency",
    )


class Sweep(BaseModel):
    id: str
    created_at: float
    status: Status
    cancel_requested: bool = False
    request: dict[str, Any]
    axes: list[str]
    counts: dict[str, int]
    points: list[SweepPoint]
    pareto: list[int] = Field(description="indices of the points on the FID / energy-per-image front, by energy")
    links: dict[str, str]


class SweepList(BaseModel):
    items: list[Sweep]


__all__ = ["MAX_POINTS", "MAX_SWEEP_IMAGES", "SweepCreate", "Sweep", "SweepList", "SweepPoint"]
