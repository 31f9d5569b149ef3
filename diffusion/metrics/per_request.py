"""The quality block of one request's telemetry: batch KID and FID against the reference statistics.

Used by ``spindiff generate`` and by the service's worker. It reports the batch KID, the batch FID
labelled with its N, and the large-N FID recorded offline for the same configuration when the
calibration table has one (quality.md: an FID of 16 images is not comparable to FID@10k). Without
the reference statistics it says so and how to make them. Imports torch only when it scores.

A chip request in the exact mode whose configuration the table has not measured in that mode
quotes the statistical mode's FIDs of the same configuration (`quoted_label`): the same programmed
chip at the same energy, held to the exact mode within the FID noise (docs/emulation.md); each
point says in which mode it was measured (``emulation``), and ``fid_at_n_note`` says why.

Every FID carries its N: ``fid_at_n`` lists the configuration's offline FIDs by N with their spread
over seed sets where known, and a chip configuration's ``software_at_same_n`` gives software's FIDs
at those same N's only (`diffusion.metrics.fid_uncertainty`), never software's N = 10 000 beside a chip's 500.

A paired request (``twin_images``: the software network on the same noise) adds ``paired``: the
twin's batch FID and KID at the same N and the chip-minus-twin differences. Both batches share x_T,
every step's noise and the KID subsets (common random numbers), so the difference carries the
chip's effect with far less of the sampling noise two independent batches add.
"""

from __future__ import annotations

from pathlib import Path


def quality_block(
    images,
    bundle,
    sampler: str,
    steps: int,
    eta: float,
    profile_label: str,
    reference_path: Path,
    enabled: bool = True,
    twin_images=None,
) -> dict:
    """``images`` uint8 (N, 28, 28) of one request → the telemetry's ``quality`` dict (``twin_images``: module docstring)."""
    from diffusion.metrics import large_n_fids

    quoted = quoted_label(bundle.sha256, sampler, steps, eta, profile_label)
    entry = large_n_fids.lookup(bundle.sha256, sampler, steps, eta, quoted)
    calibrated = (
        None
        if entry is None
        else {
            "value": entry["fid"],
            "n": entry["n"],
            "source": "diffusion/assets/fid_table.json",
            "sets": entry["sets"],  # the value is the mean over this many seed sets at that N
            **({"note": STATISTICAL_STAND_IN} if quoted != profile_label else {}),
        }
    )
    measured = measured_fids(bundle.sha256, sampler, steps, eta, profile_label)
    if not enabled:
        return {
            "available": False,
            "reason": "not requested (quality.enabled = false)",
            "fid_calibrated": calibrated,
            **measured,
        }
    path = Path(reference_path)
    if not path.is_file():
        return {
            "available": False,
            "fid_calibrated": calibrated,
            **measured,
            "reason": f"no reference statistics at {path}; make them with "
            "`python -m diffusion.metrics.reference_stats --split test --out PATH` (SPINDIFF_REFERENCE_STATS)",
        }
    from diffusion.metrics import fid_kid, inception
    from diffusion.metrics.reference_stats import load_reference

    reference = load_reference(path)
    block = {**fid_kid.batch_quality(inception.features(images), reference, fid_calibrated=calibrated), **measured}
    if twin_images is not None:
        twin = fid_kid.batch_quality(inception.features(twin_images), reference)
        block["paired"] = paired_difference(block, twin)
    return block


STATISTICAL_STAND_IN = (
    "not measured in the exact mode: these are the statistical mode's FIDs of the same chip (same programmed "
    "cells, same energy), which docs/emulation.md holds to the exact mode within the FID noise"
)


def quoted_label(model_sha256: str, sampler: str, steps: int, eta: float, profile_label: str, table_path=None) -> str:
    """The table label whose FIDs a request quotes: its own, or for an exact-mode chip configuration that
    the table has no entry of, its statistical twin's (``name/statistical``) when that has entries."""
    from diffusion.metrics import large_n_fids

    path = large_n_fids.DEFAULT_TABLE if table_path is None else table_path
    profile, emulation = large_n_fids.parse_label(profile_label)
    if emulation != "exact" or large_n_fids.entries(model_sha256, sampler, steps, eta, profile_label, path):
        return profile_label
    twin = f"{profile}/statistical"
    return twin if large_n_fids.entries(model_sha256, sampler, steps, eta, twin, path) else profile_label


def measured_fids(model_sha256: str, sampler: str, steps: int, eta: float, profile_label: str, table_path=None) -> dict:
    """``fid_at_n``: this configuration's offline FIDs by N with their seed-set spread; ``software_at_same_n``:
    for a chip configuration, software's FIDs at those N's only (`diffusion.metrics.fid_uncertainty`);
    ``fid_at_n_note`` when the points are the statistical mode's, standing in for an unmeasured exact mode."""
    from diffusion.metrics import fid_uncertainty

    path = fid_uncertainty.FID_TABLE if table_path is None else table_path
    quoted = quoted_label(model_sha256, sampler, steps, eta, profile_label, path)
    points = fid_uncertainty.fid_points(model_sha256, sampler, steps, eta, quoted, path)
    software = (
        []
        if profile_label == fid_uncertainty.SOFTWARE
        else fid_uncertainty.software_points(model_sha256, sampler, steps, eta, [p["n"] for p in points], path)
    )
    note = {"fid_at_n_note": STATISTICAL_STAND_IN} if quoted != profile_label else {}
    return {"fid_at_n": points, "software_at_same_n": software, **note}


def paired_difference(chip: dict, twin: dict) -> dict:
    """Chip minus twin batch FID and KID (two `fid_kid.batch_quality` dicts of one N)."""

    def minus(a, b):
        return None if a is None or b is None else a - b

    fid, twin_fid = chip["batch_fid"]["value"], twin["batch_fid"]["value"]
    kid, twin_kid = chip["batch_kid"].get("mean"), twin["batch_kid"].get("mean")
    return {
        "n": chip["n"],
        "twin_batch_fid": twin_fid,
        "twin_batch_kid": {key: twin["batch_kid"].get(key) for key in ("mean", "std")},
        "fid_difference": minus(fid, twin_fid),
        "kid_difference": minus(kid, twin_kid),
        "note": "chip minus its software twin at the same N, same noise and KID subsets (common random numbers)",
    }
