"""The quality study behind docs/quality.md: which chip non-ideality costs how much FID.

Every variant is `vcma-default` with one thing changed (an ablation switches one non-ideality off;
a sweep moves one parameter), plus the software baseline and the named degraded presets. For each
variant the study generates N images with the same sampler, steps and seeds, scores them with
`diffusion.evaluation.score` (FID at that N, KID), and measures the ε-prediction error against
software (`diffusion.evaluation.epsilon_error`). Rows are appended to a JSON-lines file as they
finish, so a long study can run in several processes (``--only``) and be resumed; a variant whose
row (same label, N, sampler, steps, model) is already there is skipped.

    python -m diffusion.quality_study --n 200 --steps 10 --sampler ddpm \\
        --results docs/figures/quality_study.jsonl [--only adc-4,adc-6]
    python docs/make_quality_figures.py   # figures from the JSON-lines file

Cost: the chip emulator runs ≈ 0.1–0.3 s per image per step on one core (every weight is 6 bit-
slice column pairs, IR drop and read noise need four more products per column), so N = 200 at
10 steps is ≈ 5–10 min per variant.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device import profiles

DEFAULT_RESULTS = Path(__file__).resolve().parent.parent / "docs" / "figures" / "quality_study.jsonl"


@dataclass(frozen=True)
class Variant:
    """A study row: ``base`` preset (or "software") with section ``overrides``; ``axis`` for figures."""

    label: str
    base: str
    overrides: dict = field(default_factory=dict)
    group: str = "ablation"  # "baseline", "preset", "ablation", "adc_bits", "sigma"
    x: float | None = None  # the swept value for "adc_bits" / "sigma" rows
    note: str = ""

    def profile(self):
        if self.base == "software":
            return "software"
        base = profiles.get_profile(self.base)
        if not self.overrides:
            return base
        return profiles.with_overrides(base, self.overrides)


def _sigma(rel: float) -> dict:
    return {"variation": {"resistance_parallel_rel": rel, "tmr_rel": rel}}


VARIANTS: tuple[Variant, ...] = (
    Variant("software", "software", group="baseline", note="float torch, torch RNG"),
    Variant("vcma-default", "vcma-default", group="preset"),
    Variant("vcma-uncalibrated", "vcma-uncalibrated", group="preset"),
    Variant("vcma-lowbit", "vcma-lowbit", group="preset"),
    Variant("vcma-noisy", "vcma-noisy", group="preset"),
    # ablations: vcma-default with one non-ideality removed, or one of its two corrections undone
    Variant("no-ir-drop", "vcma-default", {"crossbar": {"ir_drop": False}}, note="IR drop off"),
    Variant("ideal-adc", "vcma-default", {"crossbar": {"adc_bits": 0, "adc_noise": 0.0}}, note="ideal readout"),
    Variant("no-read-noise", "vcma-default", {"crossbar": {"read_noise": 0.0}}, note="cell read noise off"),
    Variant("ideal-writes", "vcma-default", {"crossbar": {"write_model": "ideal"}}, note="no write errors"),
    Variant("ideal-dac", "vcma-default", {"crossbar": {"input_bits": 0}}, note="unquantised inputs"),
    Variant("open-loop", "vcma-default", {"crossbar": {"weight_mapping": "sign_magnitude"}}, note="session-1 mapping: no closed-loop slices"),
    Variant("no-gain-trim", "vcma-default", {"crossbar": {"output_gain_calibration": False}}, note="no digital output-gain trims"),
    # sweeps (vcma-default is the adc_bits = 8 and σ = 5 % point; sigma-0 doubles as "variation off")
    Variant("adc-4", "vcma-default", {"crossbar": {"adc_bits": 4}}, group="adc_bits", x=4),
    Variant("adc-6", "vcma-default", {"crossbar": {"adc_bits": 6}}, group="adc_bits", x=6),
    Variant("sigma-0", "vcma-default", _sigma(0.0), group="sigma", x=0.0, note="no R_P/TMR spread"),
    Variant("sigma-20", "vcma-default", _sigma(0.20), group="sigma", x=0.20),
    Variant("adc-5", "vcma-default", {"crossbar": {"adc_bits": 5}}, group="adc_bits", x=5),
    Variant("sigma-10", "vcma-default", _sigma(0.10), group="sigma", x=0.10),
)


def variant(label: str) -> Variant:
    for v in VARIANTS:
        if v.label == label:
            return v
    raise KeyError(f"unknown variant {label!r}; known: {', '.join(v.label for v in VARIANTS)}")


def load_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _done(rows, label, args, model_sha256) -> bool:
    return any(
        r["label"] == label and r["n"] == args.n and r["sampler"] == args.sampler and r["steps"] == args.steps
        and r["model_sha256"] == model_sha256
        for r in rows
    )  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddpm")
    parser.add_argument("--eta", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--only", help="comma-separated variant labels (default: all)")
    parser.add_argument("--results", default=str(DEFAULT_RESULTS))
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--reference", help="reference statistics .npz (default: the shipped test-set file)")
    parser.add_argument("--images-dir", help="keep each variant's images here as .npz and reuse them (default: <results>.images/)")
    parser.add_argument("--generate-only", action="store_true", help="generate and keep the images, score nothing")
    parser.add_argument("--epsilon-only", action="store_true",
                        help="only the eps-prediction error of each chip variant (no images, no FID), appended to --results")
    parser.add_argument("--with-epsilon", action="store_true", help="also measure each chip variant's ε error while scoring")
    parser.add_argument("--record", action="store_true",
                        help="also store rows of unmodified presets and software in the FID table (diffusion/assets/fid_table.json)")
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    args = parser.parse_args(argv)
    if args.list:
        for v in VARIANTS:
            print(f"{v.label:20s} {v.group:9s} {v.base} {json.dumps(v.overrides)} {v.note}")
        return 0

    from diffusion.checkpoints import load_bundle
    from diffusion.evaluation import EvalConfig, epsilon_error, generate_images, score, tqdm_step_progress
    from diffusion.reference_stats import load_reference
    from diffusion.shipped import MODEL_DIR, REFERENCE_STATS

    labels = args.only.split(",") if args.only else [v.label for v in VARIANTS]
    chosen = [variant(label) for label in labels]
    bundle = load_bundle(args.model or MODEL_DIR)
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    if args.epsilon_only:
        return _epsilon_rows(chosen, bundle, results, args.seed)
    images_dir = Path(args.images_dir) if args.images_dir else results.with_suffix(".images")
    images_dir.mkdir(parents=True, exist_ok=True)
    reference = None
    for v in chosen:
        if _done(load_rows(results), v.label, args, bundle.sha256):
            print(f"{v.label}: already in {results}, skipped", file=sys.stderr)
            continue
        profile = v.profile()
        config = EvalConfig(label=v.label, profile=profile, n=args.n, steps=args.steps, sampler=args.sampler,
                            eta=args.eta, seed=args.seed, batch=args.batch)  # fmt: skip
        kept = images_dir / f"{v.label}-{bundle.sha256[:12]}-{args.sampler}{args.steps}-n{args.n}-seed{args.seed}.npz"
        if kept.is_file():
            with np.load(kept) as data:
                images, energy, seconds = data["images"], data["energy_per_image_j"].item(), float(data["seconds"])
            energy = None if np.isnan(energy) else energy
        else:
            images, energy, seconds = generate_images(config, bundle, chip_cache={}, progress=tqdm_step_progress(args.steps))
            np.savez_compressed(kept, images=images, seconds=seconds, energy_per_image_j=np.nan if energy is None else energy)
        if args.generate_only:
            print(f"{v.label}: {images.shape[0]} images kept in {kept}", file=sys.stderr)
            continue
        if reference is None:
            reference = load_reference(args.reference or REFERENCE_STATS)
        eps = None if profile == "software" or not args.with_epsilon else epsilon_error(bundle, profile, batch=16, seed=args.seed)
        row = {
            "label": v.label, "group": v.group, "x": v.x, "base": v.base, "overrides": v.overrides, "note": v.note,
            "profile_hash": None if profile == "software" else profile.hash, "n": int(images.shape[0]),
            "sampler": args.sampler, "steps": args.steps, "eta": args.eta, "seed": args.seed,
            **score(images, reference), "images_per_second": images.shape[0] / seconds,
            "energy_per_image_j": energy, "epsilon_error": eps, "model_sha256": bundle.sha256,
        }  # fmt: skip
        with open(results, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        if args.record and not v.overrides:
            from diffusion import fid_table

            fid_table.record({**row, "profile": v.base}, bundle.sha256, args.eta, reference.record)
        print(json.dumps({k: row[k] for k in ("label", "n", "fid", "kid_mean", "images_per_second")}), flush=True)
    return 0


def _epsilon_rows(chosen, bundle, results: Path, seed: int) -> int:
    """The ablation's cheap half: ε error (batch 16, five noise levels) of each chip variant."""
    from diffusion.evaluation import epsilon_error

    for v in chosen:
        if v.base == "software":
            continue
        eps = epsilon_error(bundle, v.profile(), batch=16, seed=seed)
        row = {"label": v.label, "group": v.group, "base": v.base, "overrides": v.overrides, "note": v.note,
               "epsilon_error": eps, "model_sha256": bundle.sha256}  # fmt: skip
        with open(results, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps({"label": v.label, "epsilon_error": round(eps["mean"], 4)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
