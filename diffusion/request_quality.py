"""The quality block of one request's telemetry: batch KID and FID against the reference statistics.

Used by ``spindiff generate`` and by the service's worker. It reports the batch KID, the batch FID
labelled with its N, and the large-N FID recorded offline for the same configuration when the
calibration table has one (quality.md: an FID of 16 images is not comparable to FID@10k). Without
the reference statistics it says so and how to make them. Imports torch only when it scores.

A paired request (``twin_images``: the software network on the same noise) adds ``paired``: the
twin's batch FID and KID at the same N and the chip-minus-twin differences. Both batches share x_T,
every step's noise and the KID subsets (common random numbers), so the difference carries the
chip's effect with far less of the sampling noise two independent batches add.
"""

from __future__ import annotations

from pathlib import Path


def quality_block(images, bundle, sampler: str, steps: int, eta: float, profile_label: str,
                  reference_path: Path, enabled: bool = True, twin_images=None) -> dict:
    """``images`` uint8 (N, 28, 28) of one request → the telemetry's ``quality`` dict (``twin_images``: module docstring)."""
    from diffusion import fid_table

    entry = fid_table.lookup(bundle.sha256, sampler, steps, eta, profile_label)
    calibrated = None if entry is None else {"value": entry["fid"], "n": entry["n"], "source": "diffusion/assets/fid_table.json"}
    if not enabled:
        return {"available": False, "reason": "not requested (quality.enabled = false)", "fid_calibrated": calibrated}
    path = Path(reference_path)
    if not path.is_file():
        return {"available": False, "fid_calibrated": calibrated,
                "reason": f"no reference statistics at {path}; make them with "
                          "`python -m diffusion.reference_stats --split test --out PATH` (SPINDIFF_REFERENCE_STATS)"}  # fmt: skip
    from diffusion import inception, quality
    from diffusion.reference_stats import load_reference

    reference = load_reference(path)
    block = quality.batch_quality(inception.features(images), reference, fid_calibrated=calibrated)
    if twin_images is not None:
        twin = quality.batch_quality(inception.features(twin_images), reference)
        block["paired"] = paired_difference(block, twin)
    return block


def paired_difference(chip: dict, twin: dict) -> dict:
    """Chip minus twin batch FID and KID (two `quality.batch_quality` dicts of one N)."""

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
