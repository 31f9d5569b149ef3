"""Sampling spread of FID at a small N: disjoint subsets of one large software run, each scored alone.

    python -m diffusion.studies.fid_spread --n 500 --subsets 0,1,2 \\
        [--images docs/figures/software10k.images/software-b0fa69e64cb5-ddpm10-n10000-seed0-b100.npz]

Prints one JSON line per subset (images [k·n, (k+1)·n) of the run: independent seeds) with its FID
and KID against the shipped test-set statistics. docs/quality.md uses it to say how far apart two
FIDs at N = 500 must be before the difference means anything.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from diffusion.studies.figures import FIGURES

DEFAULT_IMAGES = FIGURES / "software10k.images" / "software-b0fa69e64cb5-ddpm10-n10000-seed0-b100.npz"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--images",
        default=str(DEFAULT_IMAGES),
        help="an .npz with 'images' (uint8 (N, 28, 28)) kept by the quality study",
    )
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--subsets", default="0,1,2", help="comma-separated subset indices k")
    args = parser.parse_args(argv)

    from diffusion.metrics.reference_stats import load_reference
    from diffusion.shipped import REFERENCE_STATS
    from diffusion.studies.offline_eval import score

    with np.load(args.images) as data:
        images = data["images"]
    reference = load_reference(REFERENCE_STATS)
    for k in (int(part) for part in args.subsets.split(",")):
        subset = images[k * args.n : (k + 1) * args.n]
        if subset.shape[0] < args.n:
            raise SystemExit(f"subset {k} needs images up to {(k + 1) * args.n}, the file has {images.shape[0]}")
        result = score(subset, reference)
        print(
            json.dumps(
                {
                    "subset": k,
                    "n": args.n,
                    "fid": result["fid"],
                    "kid_mean": result["kid_mean"],
                    "kid_std": result["kid_std"],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
