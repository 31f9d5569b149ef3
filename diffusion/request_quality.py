"""The quality block of one request's telemetry: batch KID and FID against the reference statistics.

Used by ``spindiff generate`` and by the service's worker. It reports the batch KID, the batch FID
labelled with its N, and the large-N FID recorded offline for the same configuration when the
calibration table has one (quality.md: an FID of 16 images is not comparable to FID@10k). Without
the reference statistics it says so and how to make them. Imports torch only when it scores.
"""

from __future__ import annotations

from pathlib import Path


def quality_block(images, bundle, sampler: str, steps: int, eta: float, profile_label: str,
                  reference_path: Path, enabled: bool = True) -> dict:
    """``images`` uint8 (N, 28, 28) of one request → the telemetry's ``quality`` dict."""
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
    return quality.batch_quality(inception.features(images), reference, fid_calibrated=calibrated)
