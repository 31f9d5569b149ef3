"""Inception features kept beside a study's images, so that one set of images is run through
Inception once however often (and in however many slices) it is scored.

``<key>.npz`` (the images) gets ``<key>.features.npz``: ``features`` float (N, 2048) and
``inception_sha256``, the pinned weights' hash (`diffusion.metrics.inception.WEIGHTS_SHA256`); a file
of another Inception or another N is recomputed, never reused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def features_of(images: np.ndarray, kept: Path) -> np.ndarray:
    """The Inception features (N, 2048) of ``images`` (uint8 (N, 28, 28)), the contents of ``kept``:
    read from ``kept``'s features file when it matches, else computed and written there (atomically)."""
    from diffusion.metrics import inception

    path = Path(kept).with_suffix(".features.npz")
    if path.is_file():
        with np.load(path) as data:
            if str(data["inception_sha256"]) == inception.WEIGHTS_SHA256 and data["features"].shape[0] == len(images):
                return data["features"]
    features = inception.features(images)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, features=features, inception_sha256=inception.WEIGHTS_SHA256)
    partial.replace(path)
    return features
