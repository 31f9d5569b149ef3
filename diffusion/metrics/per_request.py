"""The quality block of one request's telemetry: batch KID and FID against the reference statistics.

Used by ``spindiff generate`` and by the service's worker. It reports the batch KID, the batch FID
labelled with its N, and the large-N FID recorded offline for the same configuration when the
calibration table has one (quality.md: an FID of 16 images is not comparable to FID@10k). Without
the reference statistics it says so and how to make them. Imports torch only when it scores.

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

    entry = large_n_fids.lookup(bundle.sha256, sampler, steps, eta, profile_label)
    calibrated = (
        None
        if entry is None
        else {
            "value": entry["fid"],
            "n": entry["n"],
            "source": "diffusion/assets/fid_table.json",
            "sets": entry["sets"],  # the value is the mean over this many seed sets at that N
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


def measured_fids(model_sha256: str, sampler: str, steps: int, eta: float, profile_label: str) -> dict:
    """``fid_at_n``: this configuration's offline FIDs by N with their seed-set spread; ``software_at_same_n``:
    for a chip configuration, software's FIDs at those N's only (`diffusion.metrics.fid_uncertainty`)."""
    from diffusion.metrics import fid_uncertainty

    points = fid_uncertainty.fid_points(model_sha256, sampler, steps, eta, profile_label)
    software = (
        []
        if profile_label == fid_uncertainty.SOFTWARE
        else fid_uncertainty.software_points(model_sha256, sampler, steps, eta, [p["n"] for p in points])
    )
    return {"fid_at_n": points, "software_at_same_n": software}


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
