"""The quality part of the typed telemetry (`diffusion.telemetry.report`): every FID and KID with its N and an interval.

* KID (unbiased at any N): mean ± std over the subsets (``interval``), with the number of images
  scored (``n``). With subset size = N every subset holds all N images and only the reference
  subsample varies, so the std is then not the sampling spread of the N images (``note``).
* Batch FID: labelled with its N; comparable only with batch FIDs of the same N.
* Large-N FIDs of the configuration (``fid_at_n``, `diffusion.metrics.fid_uncertainty`): one point per N
  with its seed-set spread where known. A chip job also carries ``software_at_same_n``: the
  software baseline's points at the chip's N's only — software and chip are compared at one N.
* ``paired``: the chip batch minus its software twin (same noise, same N).
Pure pydantic; extra keys are kept as written.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from diffusion.telemetry.energy import Open

KID_SAME_IMAGES_NOTE = (
    "subset size = N: every subset holds all N generated images and only the reference subsample varies, "
    "so ± is the reference-sampling spread, not the sampling spread of these N images"
)


class Interval(Open):
    low: float
    high: float
    kind: str = Field(..., description="what the interval is, e.g. 'mean ± 1 std over 100 KID subsets'")


class KidEstimate(Open):
    """Batch KID (Bińkowski et al. 2018): unbiased MMD² of Inception features, dimensionless."""

    mean: float | None = None
    std: float | None = Field(None, description="std over the subsets (ddof 0)")
    subsets: int | None = None
    subset_size: int | None = None
    n: int | None = Field(None, description="generated images scored")
    reference_features: int | None = None
    interval: Interval | None = Field(None, description="mean ± std")
    note: str = ""

    @model_validator(mode="after")
    def _interval(self):
        if self.interval is None and self.mean is not None and self.std is not None:
            self.interval = Interval(
                low=self.mean - self.std,
                high=self.mean + self.std,
                kind=f"mean ± 1 std over {self.subsets} KID subsets",
            )
        if not self.note and self.n is not None and self.subset_size is not None and self.subset_size >= self.n:
            self.note = KID_SAME_IMAGES_NOTE
        return self


class BatchFid(Open):
    value: float | None = Field(None, description="FID of this batch; null below N = 2")
    n: int | None = None
    reference_n: int | None = None
    note: str = ""


class FidPoint(Open):
    """One configuration's FID measured offline at one N (`diffusion.metrics.fid_uncertainty`)."""

    n: int
    value: float | None = Field(None, description="mean over the seed sets at this N")
    emulation: str | None = Field(
        None, description="the emulation mode the FIDs were measured in (exact, statistical; null for software)"
    )
    sets: int = 1
    values: list[float] = Field(default_factory=list, description="one FID per seed set")
    range: list[float] | None = Field(None, description="[min, max] over the seed sets (two or more)")
    sd: float | None = Field(None, description="spread over seed sets (sd_basis says whose)")
    sd_basis: str = ""
    interval: Interval | None = None
    kid_mean: float | None = None
    kid_std: float | None = None
    seed_sets: list[dict] = Field(
        default_factory=list,
        description="per value: first seed, batch size, image slice and noise source of its seed set",
    )
    sources: list[str] = Field(default_factory=list)


class CalibratedFid(Open):
    """The calibration table's FID of this configuration (its largest N); kept for clients of schema 1."""

    value: float | None = None
    n: int | None = None
    source: str | None = None
    note: str = ""


class PairedQuality(Open):
    """The chip batch minus its software twin: same noise, same N, same KID subsets."""

    n: int | None = None
    twin_batch_fid: float | None = None
    twin_batch_kid: dict[str, float | None] = Field(default_factory=dict, description="mean, std")
    fid_difference: float | None = None
    kid_difference: float | None = None
    note: str = ""


class Quality(Open):
    """Batch KID/FID of one job against the reference statistics, and the configuration's large-N FIDs."""

    available: bool | None = Field(None, description="false: reason says why there are no batch scores")
    reason: str | None = None
    n: int | None = Field(None, description="images scored")
    batch_fid: BatchFid | None = None
    batch_kid: KidEstimate | None = None
    fid_calibrated: CalibratedFid | None = None
    fid_at_n: list[FidPoint] = Field(
        default_factory=list, description="this configuration's FIDs measured offline, by N"
    )
    software_at_same_n: list[FidPoint] = Field(
        default_factory=list, description="chip jobs: software's FIDs at the N's of fid_at_n only"
    )
    fid_at_n_note: str = Field(
        "", description="set when fid_at_n stands in for an unmeasured exact mode with the statistical mode's FIDs"
    )
    paired: PairedQuality | None = None
    reference: dict[str, Any] = Field(default_factory=dict, description="dataset, split, n, weights_sha256, protocol")

    @model_validator(mode="before")
    @classmethod
    def _kid_n(cls, data):
        kid = data.get("batch_kid") if isinstance(data, dict) else None
        if isinstance(kid, dict) and kid.get("n") is None and data.get("n") is not None:
            data = {**data, "batch_kid": {**kid, "n": data["n"]}}
        return data

    @model_validator(mode="after")
    def _fill(self):
        if self.available is None:
            self.available = self.batch_fid is not None
        calibrated = self.fid_calibrated
        if not self.fid_at_n and calibrated is not None and calibrated.value is not None and calibrated.n is not None:
            self.fid_at_n = [
                FidPoint(
                    n=calibrated.n,
                    value=calibrated.value,
                    values=[calibrated.value],
                    sources=[calibrated.source or ""],
                    sd_basis="not known (stored before schema 2)",
                )
            ]
        return self
