"""Reference statistics for FID/KID: computed once from real images, saved with their protocol record.

Files: ``<out>.npz`` holds ``mu`` (2048,) and ``sigma`` (2048, 2048) over all N images (float64),
``features`` — a seeded subsample of up to 2 000 feature vectors for KID and precision/recall, stored
as float32 (the network's output precision, so exactly; 16 MB instead of 33) — and
``feature_indices`` (which images they are). ``<out>.json`` next to it is the protocol record:
dataset, split, N, the weights' SHA-256 and package, resize method, input range, dtypes, library
versions, date, and the SHA-256 of the ``.npz``. `load_reference` refuses a file
whose record does not match the current protocol (`diffusion.metrics.inception.PROTOCOL`) or whose ``.npz``
changed since it was written.

Fashion-MNIST's test split (10 000 images) takes about 40–90 min on two shared cores::

    python -m diffusion.metrics.reference_stats --data-dir /usr/share/datasets/fashion-mnist --split test \\
        --out diffusion/assets/fmnist_test_stats.npz
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from device.errors import InputError, SpindiffError
from diffusion.metrics.fid_kid import ReferenceStats, gaussian_stats

RECORD_FORMAT = "spindiff-reference-stats/1"
KEEP_FEATURES = 2000


class ReferenceStatsError(SpindiffError, ValueError):
    """A reference-statistics file is missing, altered, or was made under another protocol."""


def record_path(npz_path: str | Path) -> Path:
    """The JSON protocol record that sits next to ``npz_path`` (same stem, ``.json``)."""
    return Path(npz_path).with_suffix(".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict:
    import scipy
    import torch

    from diffusion.metrics import inception

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        inception.WEIGHTS_DISTRIBUTION: inception.weights_version(),
    }


def _tqdm_progress(total: int, description: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=description, unit="img", file=sys.stderr)

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close


def compute_reference(
    images_uint8,
    out_path: str | Path,
    *,
    progress: bool | Callable[[int, int], None] = True,
    dataset: str = "fashion-mnist",
    split: str = "test",
    keep_features: int = KEEP_FEATURES,
    seed: int = 0,
    batch_size: int = 50,
) -> ReferenceStats:
    """Inception features of ``images_uint8`` (N, 28, 28) → μ, Σ, a feature subsample; saved and returned.

    ``progress``: True for a tqdm bar on stderr, False for none, or a ``callback(done, total)``.
    The subsample is ``min(keep_features, N)`` rows chosen without replacement by
    ``np.random.default_rng(seed)``, kept in image order.
    """
    from diffusion.metrics import inception

    images = np.asarray(images_uint8)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise InputError(f"images_uint8 must be uint8 (N, H, W) or (N, 1, H, W), got {images.dtype} {images.shape}")
    if images.shape[0] < 2:
        raise InputError(f"reference statistics need at least 2 images, got {images.shape[0]}")
    if isinstance(keep_features, bool) or not isinstance(keep_features, int) or keep_features < 0:
        raise InputError(f"keep_features must be a non-negative integer, got {keep_features!r}")
    out = Path(out_path)
    if out.suffix != ".npz":
        raise InputError(f"out_path must end in .npz, got {str(out)!r}")
    close = None
    if progress is True:
        callback, close = _tqdm_progress(images.shape[0], f"reference stats ({dataset} {split})")
    elif progress is False or progress is None:
        callback = None
    elif callable(progress):
        callback = progress
    else:
        raise InputError(f"progress must be a bool or a callable(done, total), got {progress!r}")
    started = datetime.datetime.now(datetime.UTC)
    try:
        feats = inception.features(images, batch_size=batch_size, progress=callback)
    finally:
        if close is not None:
            close()
    mu, sigma = gaussian_stats(feats)
    n = feats.shape[0]
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(n, min(keep_features, n), replace=False))
    kept = feats[indices]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, mu=mu, sigma=sigma, features=kept.astype(np.float32), feature_indices=indices)
    record = {
        "format": RECORD_FORMAT,
        "dataset": dataset,
        "split": split,
        "n": int(n),
        "image_shape": list(images.shape[1:]),
        "features_kept": int(kept.shape[0]),
        "feature_subsample_seed": seed,
        "weights": {
            "package": f"{inception.WEIGHTS_DISTRIBUTION}=={inception.WEIGHTS_VERSION}",
            "file": f"{inception.WEIGHTS_PACKAGE}/{inception.WEIGHTS_FILE}",
            "sha256": inception.WEIGHTS_SHA256,
            "sha1": inception.WEIGHTS_SHA1,
        },
        "protocol": dict(inception.PROTOCOL),
        "stats_dtype": "float64 (mean; covariance with ddof=1)",
        "features_dtype": "float32 in the file: the network's own output precision, so exact; loaded as float64",
        "versions": _versions(),
        "created_utc": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.datetime.now(datetime.UTC) - started).total_seconds(), 1),
        "npz_sha256": _sha256(out),
    }
    record_path(out).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return ReferenceStats(mu=mu, sigma=sigma, features=kept, record=record)


def load_reference(path: str | Path) -> ReferenceStats:
    """Load and verify reference statistics saved by `compute_reference`.

    Checks: both files exist; the ``.npz`` hash equals the record's; the record's weights hash and
    preprocessing protocol equal the current ones; array shapes agree. Raises ReferenceStatsError
    naming the mismatch.
    """
    from diffusion.metrics import inception

    npz = Path(path)
    record_file = record_path(npz)
    for file in (npz, record_file):
        if not file.is_file():
            raise ReferenceStatsError(
                f"reference statistics file {file} does not exist (make it with python -m diffusion.metrics.reference_stats)"
            )
    try:
        record = json.loads(record_file.read_text())
    except json.JSONDecodeError as error:
        raise ReferenceStatsError(f"{record_file} is not valid JSON: {error}") from None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        found = record.get("format") if isinstance(record, dict) else record
        raise ReferenceStatsError(f"{record_file}: format is {found!r}, expected {RECORD_FORMAT!r}")
    actual = _sha256(npz)
    if actual != record.get("npz_sha256"):
        raise ReferenceStatsError(
            f"{npz} has SHA-256 {actual} but its record says {record.get('npz_sha256')}: "
            "the statistics changed after they were recorded"
        )
    weights = record.get("weights", {}).get("sha256")
    if weights != inception.WEIGHTS_SHA256:
        raise ReferenceStatsError(
            f"{npz} was computed with Inception weights {weights}, not the pinned {inception.WEIGHTS_SHA256}"
        )
    recorded = record.get("protocol", {})
    current = inception.PROTOCOL
    changed = sorted(key for key in set(recorded) | set(current) if recorded.get(key) != current.get(key))
    if changed:
        differences = ", ".join(f"{key}: {recorded.get(key)!r} != {current.get(key)!r}" for key in changed)
        raise ReferenceStatsError(f"{npz} was computed under another preprocessing protocol: {differences}")
    with np.load(npz, allow_pickle=False) as data:
        mu, sigma, features = (np.asarray(data[key], dtype=np.float64) for key in ("mu", "sigma", "features"))
    d = inception.FEATURE_DIM
    if mu.shape != (d,) or sigma.shape != (d, d) or features.ndim != 2 or features.shape[1] != d:
        raise ReferenceStatsError(
            f"{npz}: shapes mu {mu.shape}, sigma {sigma.shape}, features {features.shape} do not fit d = {d}"
        )
    if features.shape[0] != record.get("features_kept"):
        kept = record.get("features_kept")
        raise ReferenceStatsError(f"{npz}: {features.shape[0]} feature rows, the record says {kept}")
    return ReferenceStats(mu=mu, sigma=sigma, features=features, record=record)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m diffusion.metrics.reference_stats --data-dir DIR --split test --out PATH.npz``."""
    parser = argparse.ArgumentParser(
        prog="python -m diffusion.metrics.reference_stats", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data-dir", default=None, help="Fashion-MNIST IDX directory (default: $SPINDIFF_DATA_DIR or Debian's)"
    )
    parser.add_argument("--split", default="test", choices=("train", "test"))
    parser.add_argument("--out", required=True, help="output .npz; the .json record is written next to it")
    parser.add_argument(
        "--limit", type=int, default=None, help="use only the first LIMIT images (a quick check; recorded as n)"
    )
    parser.add_argument("--keep-features", type=int, default=KEEP_FEATURES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from diffusion.model.data import load_split

    images, _labels = load_split(args.split, args.data_dir)
    if args.limit is not None:
        if args.limit < 2:
            parser.error(f"--limit must be at least 2, got {args.limit}")
        images = images[: args.limit]
    stats = compute_reference(
        images,
        args.out,
        progress=not args.no_progress,
        split=args.split,
        keep_features=args.keep_features,
        seed=args.seed,
        batch_size=args.batch_size,
    )
    summary = {"out": str(args.out), "record": str(record_path(args.out)), "n": stats.n}
    print(json.dumps({**summary, "trace_sigma": float(np.trace(stats.sigma))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
