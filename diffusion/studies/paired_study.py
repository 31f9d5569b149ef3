"""How much pairing (common random numbers) shrinks the spread of a chip-vs-software FID difference.

``python -m diffusion.studies.paired_study`` generates, for each of several seed sets, N images with the
software network and N with a chip profile, all on torch noise (the default: the same x_T and
step noise for both at one seed). The FID difference chip − software is then taken two ways:

* **paired** — chip and software from the same seed set (the same noise, image for image);
* **unpaired** — chip from seed set k, software from seed set k + 1 (cyclically): independent
  noise, as two jobs with different seeds, or as every comparison before `noise` existed.

The spread (sample standard deviation over the seed sets) of each is the uncertainty of one
chip-vs-software comparison at that N; their ratio is what pairing buys. It also writes a grid of
the first images, software above the chip, same seeds (docs/images/paired_software_vcma_default.png).

Results: JSON with every FID and KID (N, seeds, KID std over subsets), the two spreads and their
ratio. docs/quality.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _grid_image(software: np.ndarray, chip: np.ndarray, columns: int, path: Path) -> None:
    """Rows of ``columns`` images: software over chip, alternating, same seeds; 3× nearest-neighbour scale."""
    from PIL import Image

    from diffusion.generation.images import grid

    rows = []
    for start in range(0, min(len(software), 2 * columns), columns):
        rows += [software[start : start + columns], chip[start : start + columns]]
    picture = grid(np.concatenate(rows), columns=columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture).resize((picture.shape[1] * 3, picture.shape[0] * 3), Image.NEAREST).save(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="vcma-default")
    parser.add_argument("--emulation", default="statistical", choices=["exact", "statistical"])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument(
        "--sets", type=int, default=4, help="seed sets (≥ 3): set k uses seeds k·seed_stride + batch offsets"
    )
    parser.add_argument("--seed-stride", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--out", default="docs/figures/paired_fid.json")
    parser.add_argument("--grid", default="docs/images/paired_software_vcma_default.png")
    args = parser.parse_args(argv)
    if args.sets < 3:
        parser.error(f"--sets must be at least 3 for a spread, got {args.sets}")

    from device import profiles
    from diffusion.generation.generate import GenerationRequest
    from diffusion.metrics.reference_stats import load_reference
    from diffusion.model.checkpoints import load_bundle
    from diffusion.shipped import MODEL_DIR, REFERENCE_STATS
    from diffusion.studies.offline_eval import Evaluation, generate_images, score

    bundle = load_bundle(MODEL_DIR)
    reference = load_reference(REFERENCE_STATS)
    chip = profiles.with_overrides(profiles.get_profile(args.profile), {"crossbar": {"emulation": args.emulation}})
    cache: dict = {}
    rows = []
    kept = {}
    for k in range(args.sets):
        seed = k * args.seed_stride
        for label, profile in (("software", "software"), (args.profile, chip)):
            request = GenerationRequest(
                profile=profile, num_images=args.batch, steps=args.steps, seed=seed, noise="torch"
            )
            evaluation = Evaluation(label=label, request=request, n=args.n)
            print(f"[paired_study] set {k} (seed {seed}): {label}", file=sys.stderr)
            images, _, seconds = generate_images(evaluation, bundle, chip_cache=cache)
            if k == 0:
                kept[label] = images[:24]
            rows.append({"set": k, "seed": seed, "label": label, "seconds": seconds, **score(images, reference)})
    fid = {(r["set"], r["label"]): r["fid"] for r in rows}
    sets = range(args.sets)
    paired = [fid[(k, args.profile)] - fid[(k, "software")] for k in sets]
    unpaired = [fid[(k, args.profile)] - fid[((k + 1) % args.sets, "software")] for k in sets]
    summary = {
        "profile": args.profile,
        "emulation": args.emulation,
        "n": args.n,
        "steps": args.steps,
        "sampler": "ddpm",
        "batch": args.batch,
        "noise": "torch",
        "seeds": [k * args.seed_stride for k in sets],
        "paired_differences": paired,
        "unpaired_differences": unpaired,
        "paired_mean": float(np.mean(paired)),
        "paired_std": float(np.std(paired, ddof=1)),
        "unpaired_mean": float(np.mean(unpaired)),
        "unpaired_std": float(np.std(unpaired, ddof=1)),
        "rows": rows,
        "model_sha256": bundle.sha256,
    }
    summary["std_ratio_unpaired_to_paired"] = summary["unpaired_std"] / max(summary["paired_std"], 1e-12)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    _grid_image(kept["software"], kept[args.profile], 12, Path(args.grid))
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
