"""The quality study behind docs/quality.md: which chip non-ideality costs how much FID.

Most variants are `vcma-default` with one thing changed (an ablation switches one non-ideality off;
a sweep moves one parameter); the others are the software baseline, the named presets, the two
halves of the chip apart (`rng-only`: exact arrays with the MTJ noise source; `ideal-rng`: the arrays
with ideal bits), and software with a random ε error injected (the sampler's tolerance). For each
variant the study generates N images with the same sampler, steps and seeds, scores them with
`diffusion.studies.offline_eval.score` (FID at that N, KID), and measures the ε-prediction error against
software (`diffusion.studies.offline_eval.epsilon_error`). Rows are appended to a JSON-lines file as they
finish, so a long study can run in several processes (``--only``) and be resumed; a variant whose
row (same label, N, sampler, steps, seed, batch, model) is already there is skipped.

Images are kept per batch (``<images-dir>/<key>.batches/<first index>.npz``, written only when the
batch is complete), so a study stopped half-way regenerates only its missing batches, and
``--jobs J`` spreads the batches of all chosen variants over J single-threaded worker processes
(each programs a variant's chip once and keeps it). With ``--jobs`` a row's images/s is that of
one worker. Batch k is seeded ``seed + k·batch`` in every mode, so the images do not depend on J
(software images may differ in a last-bit pixel: torch's float sums round differently on more
threads).

A variant's Inception features are kept beside its images (``<key>.features.npz``, with the pinned
Inception's SHA-256), and ``--slices M`` also scores the disjoint slices [k·M, (k+1)·M) of its N
images from those features, without another Inception pass. M is a multiple of the batch size,
so slice [a, a + M) of a run with seed s is image for image the run of M images with seed s + a
(batch k is seeded s + k·batch, and every request reseeds the chip): its row and FID-table entry
are that run's, marked ``slice_of``. One N = 2000 run thus gives four seed sets at N = 500: the
FID spread at 500 and, for chip and software on the same seeds, the spread of their paired
difference.

    python -m diffusion.studies.quality_study --n 200 --steps 10 --sampler ddpm \\
        --results docs/figures/quality_study.jsonl [--only adc-4,adc-6] [--jobs 8] [--slices 500]
    python -m diffusion.studies.figures.quality   # figures from the JSON-lines file

Cost: the chip emulator runs ≈ 0.1–0.3 s per image per step on one core (every weight is 6 bit-
slice column pairs, IR drop and read noise need four more products per column), so N = 200 at
10 steps is ≈ 5–10 min per variant.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device import profiles
from diffusion.generation.sampler_names import DEFAULT_SAMPLER, ETA, SAMPLERS

PROTOCOL_NOISE = "protocol"
DEFAULT_RESULTS = Path(__file__).resolve().parents[2] / "docs" / "figures" / "quality_study.jsonl"


@dataclass(frozen=True)
class Variant:
    """A study row: ``base`` preset (or "software") with section ``overrides``; ``axis`` for figures."""

    label: str
    base: str
    overrides: dict = field(default_factory=dict)
    group: str = "ablation"  # "baseline", "preset", "ablation", "rng", "calibration", "emulation", "adc_bits", "sigma", "injected"
    x: float | None = None  # the swept value for "adc_bits" / "sigma" / "injected" rows
    note: str = ""
    injected_error: float = 0.0  # software only: relative random error added to every ε prediction

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
    Variant("vcma-precise", "vcma-precise", group="preset"),
    # ablations: vcma-default with one non-ideality removed, or one of its two corrections undone
    Variant("no-ir-drop", "vcma-default", {"crossbar": {"ir_drop": False}}, note="IR drop off"),
    Variant("ideal-adc", "vcma-default", {"crossbar": {"adc_bits": 0, "adc_noise": 0.0}}, note="ideal readout"),
    Variant("no-read-noise", "vcma-default", {"crossbar": {"read_noise": 0.0}}, note="cell read noise off"),
    Variant("ideal-writes", "vcma-default", {"crossbar": {"write_model": "ideal"}}, note="no write errors"),
    Variant("ideal-dac", "vcma-default", {"crossbar": {"input_bits": 0}}, note="unquantised inputs"),
    Variant(
        "open-loop",
        "vcma-default",
        {"crossbar": {"weight_mapping": "sign_magnitude"}},
        note="session-1 mapping: no closed-loop slices",
    ),
    Variant(
        "no-gain-trim",
        "vcma-default",
        {"crossbar": {"output_gain_calibration": False}},
        note="no digital output-gain trims",
    ),
    # the two halves of the chip apart: its arrays with a perfect noise source, and its noise source alone
    Variant(
        "ideal-rng", "vcma-default", {"rng": {"source": "ideal"}}, group="rng", note="chip arrays, ideal fair bits"
    ),
    Variant(
        "rng-only",
        "ideal",
        {
            "rng": dataclasses.asdict(profiles.VCMA_DEFAULT.rng),
            "variation": dataclasses.asdict(profiles.VCMA_DEFAULT.variation),
        },
        group="rng",
        note="exact arrays, vcma-default's MTJ noise source",
    ),
    # the network-level fix: per-layer trims refitted on the chip's own activations (gain + offset)
    Variant(
        "in-loop",
        "vcma-default",
        {"crossbar": {"in_loop_calibration": True}},
        group="calibration",
        note="vcma-default with in-loop trims",
    ),
    Variant("read-noise-0.5", "vcma-default", {"crossbar": {"read_noise": 0.005}}, note="cell read noise 0.5 %"),
    Variant(
        "precise-4ns",
        "vcma-default",
        {"crossbar": {"read_time": 4e-9, "read_noise": 0.005, "tile_rows": 64, "tile_cols": 64}},
        note="the cheaper step towards vcma-precise: 4 ns reads (read noise 0.5 %), 64×64 tiles, 8-bit ADCs",
    ),
    # sweeps (vcma-default is the adc_bits = 8 and σ = 5 % point; sigma-0 doubles as "variation off")
    Variant("adc-4", "vcma-default", {"crossbar": {"adc_bits": 4}}, group="adc_bits", x=4),
    Variant("adc-6", "vcma-default", {"crossbar": {"adc_bits": 6}}, group="adc_bits", x=6),
    Variant("sigma-0", "vcma-default", _sigma(0.0), group="sigma", x=0.0, note="no R_P/TMR spread"),
    Variant("sigma-20", "vcma-default", _sigma(0.20), group="sigma", x=0.20),
    Variant("adc-5", "vcma-default", {"crossbar": {"adc_bits": 5}}, group="adc_bits", x=5),
    Variant("sigma-10", "vcma-default", _sigma(0.10), group="sigma", x=0.10),
    # the statistical emulation mode against the exact rows above (docs/emulation.md): same chips, same seeds
    Variant(
        "vcma-default-statistical",
        "vcma-default",
        {"crossbar": {"emulation": "statistical"}},
        group="emulation",
        note="vcma-default, statistical emulation mode",
    ),
    Variant(
        "in-loop-statistical",
        "vcma-default",
        {"crossbar": {"emulation": "statistical", "in_loop_calibration": True}},
        group="emulation",
        note="vcma-default with in-loop trims, statistical emulation mode",
    ),
    *(
        Variant(
            f"{preset}-statistical",
            preset,
            {"crossbar": {"emulation": "statistical"}},
            group="emulation",
            note=f"{preset}, statistical emulation mode",
        )
        for preset in ("vcma-precise", "vcma-lowbit", "vcma-noisy")
    ),
    # the sampler's tolerance: software with a random relative ε error r (`generate_with_epsilon_error`)
    *(
        Variant(
            f"software-eps-{r:g}",
            "software",
            group="injected",
            x=r,
            injected_error=r,
            note=f"software, random ε error {r:g} added",
        )
        for r in (0.02, 0.04, 0.08, 0.15)
    ),
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


def _done(rows, v: Variant, args, model_sha256) -> bool:
    noise = variant_noise(v, args)
    return any(
        r["label"] == v.label
        and r["n"] == args.n
        and r["sampler"] == args.sampler
        and r["steps"] == args.steps
        and r["model_sha256"] == model_sha256
        and r.get("seed", 0) == args.seed
        and r.get("batch", args.batch) == args.batch
        and r.get("noise", variant_noise(v, argparse.Namespace(noise=PROTOCOL_NOISE))) == noise  # rows before --noise
        for r in rows
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sampler", choices=list(SAMPLERS), default=DEFAULT_SAMPLER)
    parser.add_argument("--eta", type=float, default=ETA.default, help=ETA.description)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument(
        "--noise",
        choices=[PROTOCOL_NOISE, "torch"],
        default=PROTOCOL_NOISE,
        help="protocol: chips on their own MTJ noise, software on torch; torch: every variant on the shared "
        "torch stream (chip and software paired image for image)",
    )
    parser.add_argument("--only", help="comma-separated variant labels (default: all)")
    parser.add_argument("--results", default=str(DEFAULT_RESULTS))
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--reference", help="reference statistics .npz (default: the shipped test-set file)")
    parser.add_argument(
        "--images-dir", help="keep each variant's images here as .npz and reuse them (default: <results>.images/)"
    )
    parser.add_argument("--generate-only", action="store_true", help="generate and keep the images, score nothing")
    parser.add_argument(
        "--epsilon-only",
        action="store_true",
        help="only the eps-prediction error of each chip variant (no images, no FID), appended to --results",
    )
    parser.add_argument(
        "--with-epsilon", action="store_true", help="also measure each chip variant's ε error while scoring"
    )
    parser.add_argument(
        "--chip-seed",
        type=int,
        default=0,
        help="with --epsilon-only: which chip to measure (device variation; the image runs use chip seed 0)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="also store rows of unmodified presets (either emulation mode) and software in the FID table "
        "(diffusion/assets/fid_table.json)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes (one thread each) that generate batches in parallel (default 1)",
    )
    parser.add_argument(
        "--slices",
        type=int,
        help="also score the disjoint slices of this many images (a multiple of --batch) of each variant's N, "
        "from the same Inception features: each is the run of that many images with the slice's first seed",
    )
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.slices is not None and not (
        1 < args.slices < args.n and args.n % args.slices == 0 and args.slices % args.batch == 0
    ):
        parser.error(
            f"--slices must divide --n into two or more slices and be a multiple of --batch, got --slices "
            f"{args.slices} for --n {args.n} and --batch {args.batch}"
        )
    if args.list:
        for v in VARIANTS:
            print(f"{v.label:20s} {v.group:9s} {v.base} {json.dumps(v.overrides)} {v.note}")
        return 0

    from diffusion.metrics.reference_stats import load_reference
    from diffusion.model.checkpoints import load_bundle
    from diffusion.shipped import MODEL_DIR, REFERENCE_STATS
    from diffusion.studies.kept_features import features_of
    from diffusion.studies.offline_eval import epsilon_error, score_features

    labels = args.only.split(",") if args.only else [v.label for v in VARIANTS]
    chosen = [variant(label) for label in labels]
    bundle = load_bundle(args.model or MODEL_DIR)
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    if args.epsilon_only:
        return _epsilon_rows(chosen, bundle, results, args.seed, args.chip_seed)
    images_dir = Path(args.images_dir) if args.images_dir else results.with_suffix(".images")
    images_dir.mkdir(parents=True, exist_ok=True)
    model_dir = str(args.model or MODEL_DIR)
    pending = [v for v in chosen if not _done(load_rows(results), v, args, bundle.sha256)]
    for v in chosen:
        if v not in pending:
            print(f"{v.label}: already in {results}, skipped", file=sys.stderr)
    if args.jobs > 1:  # fill every variant's missing batches first, all variants sharing the pool
        _generate_batches(pending, args, bundle, images_dir, model_dir, args.jobs)
    reference = None
    for v in pending:
        profile = v.profile()
        request = _evaluation(v, args).request
        kept = images_dir / f"{_key(v.label, bundle.sha256, args)}.npz"
        if not kept.is_file():
            _generate_batches([v], args, bundle, images_dir, model_dir, jobs=1)
            _assemble(v.label, bundle.sha256, args, images_dir)
        with np.load(kept) as data:
            images, energy, seconds = data["images"], data["energy_per_image_j"].item(), float(data["seconds"])
        energy = None if np.isnan(energy) else energy
        if args.generate_only:
            print(f"{v.label}: {images.shape[0]} images kept in {kept}", file=sys.stderr)
            continue
        if reference is None:
            reference = load_reference(args.reference or REFERENCE_STATS)
        features = features_of(images, kept)
        eps = (
            None
            if profile == "software" or not args.with_epsilon
            else epsilon_error(bundle, profile, batch=16, seed=args.seed)
        )
        row = {
            "label": v.label,
            "group": v.group,
            "x": v.x,
            "base": v.base,
            "overrides": v.overrides,
            "note": v.note,
            "profile_hash": None if profile == "software" else profile.hash,
            "n": int(images.shape[0]),
            "sampler": args.sampler,
            "steps": args.steps,
            "eta": args.eta,
            "seed": args.seed,
            "batch": args.batch,
            "noise": request.noise,
            "chip_seed": None if profile == "software" else request.chip_seed,
            **score_features(features, reference),
            "images_per_second": images.shape[0] / seconds,
            # brightness and contrast (0–255): the test split's are 73.1 and 89.9; a sampler's or a chip's
            # bias in the mean moves FID before anything else does (docs/quality.md)
            "mean_pixel": float(images.mean()),
            "pixel_std": float(images.std()),
            "energy_per_image_j": energy,
            "epsilon_error": eps,
            "model_sha256": bundle.sha256,
            **({"injected_error": v.injected_error} if v.injected_error else {}),
        }
        with open(results, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        label = table_label(v)
        if args.record and label is not None:
            from diffusion.metrics import large_n_fids

            large_n_fids.record(
                {**row, "profile": label}, bundle.sha256, args.eta, reference.record, source=str(results)
            )
        print(json.dumps({k: row[k] for k in ("label", "n", "fid", "kid_mean", "images_per_second")}), flush=True)
        for start in range(0, row["n"], args.slices) if args.slices else ():
            part = {
                **row,
                **score_features(features[start : start + args.slices], reference),
                "mean_pixel": float(images[start : start + args.slices].mean()),
                "pixel_std": float(images[start : start + args.slices].std()),
                "seed": args.seed + start,
                "slice_of": f"images {start}-{start + args.slices - 1} of the N = {row['n']} run with seed {args.seed}",
            }
            with open(results, "a") as handle:
                handle.write(json.dumps(part) + "\n")
            if args.record and label is not None:
                from diffusion.metrics import large_n_fids

                large_n_fids.record(
                    {**part, "profile": label},
                    bundle.sha256,
                    args.eta,
                    reference.record,
                    source=f"{results} ({part['slice_of']})",
                )
            print(json.dumps({k: part[k] for k in ("label", "slice_of", "n", "seed", "fid", "kid_mean")}), flush=True)
    return 0


def table_label(v: Variant) -> str | None:
    """The FID-table label of a variant that is a preset as shipped (``name``, or ``name/statistical`` when
    its only override is the emulation mode), or None for a modified one, which the table does not hold."""
    if v.injected_error:
        return None
    if not v.overrides:
        return v.base
    if v.overrides == {"crossbar": {"emulation": "statistical"}}:
        return f"{v.base}/statistical"
    if v.overrides == {"crossbar": {"emulation": "exact"}}:
        return v.base
    return None


# --- image generation: one file per batch, so a study can be stopped, resumed and run in parallel ---


def _key(label: str, model_sha256: str, args) -> str:
    """Names a variant's image files; the batch size is part of it because batch k is seeded seed + k·batch."""
    paired = "-torchnoise" if getattr(args, "noise", PROTOCOL_NOISE) == "torch" else ""
    return f"{label}-{model_sha256[:12]}-{args.sampler}{args.steps}-n{args.n}-seed{args.seed}-b{args.batch}{paired}"


def variant_noise(v: Variant, args) -> str:
    """The noise source of a variant's requests: with ``--noise protocol`` (the default) chips draw from
    their own MTJ array and software from torch (docs/quality.md); with ``--noise torch`` every variant
    draws from the one torch stream, so a chip and software at one seed share x_T and every step's noise."""
    if getattr(args, "noise", PROTOCOL_NOISE) == "torch":
        return "torch"
    return "torch" if v.base == "software" else "mtj"


def _batch_path(images_dir: Path, label: str, model_sha256: str, args, start: int) -> Path:
    return images_dir / f"{_key(label, model_sha256, args)}.batches" / f"{start:06d}.npz"


def _evaluation(v: Variant, args):
    """The variant's `Evaluation`: N = ``--n`` images in batches of ``--batch``, the study's sampler and seed."""
    from diffusion.generation.generate import GenerationRequest
    from diffusion.studies.offline_eval import Evaluation

    noise = variant_noise(v, args)
    request = GenerationRequest(
        profile=v.profile(),
        num_images=args.batch,
        steps=args.steps,
        sampler=args.sampler,
        eta=args.eta,
        seed=args.seed,
        noise=noise,
    )
    return Evaluation(label=v.label, request=request, n=args.n)


_WORKER_STATE: dict = {}


def _generate_one_batch(label: str, model_dir: str, args, start: int, out: str, show_progress: bool = True) -> str:
    """Generate batch ``start`` of variant ``label`` and write it to ``out`` (.npz); runs in a worker.

    The bundle and each programmed chip are kept per process, so a worker that draws several
    batches of one variant programs its chip once.
    """
    from diffusion.model.checkpoints import load_bundle
    from diffusion.studies.offline_eval import (
        Evaluation,
        generate_images,
        generate_with_epsilon_error,
        tqdm_step_progress,
    )

    if _WORKER_STATE.get("model_dir") != model_dir:
        _WORKER_STATE.update(model_dir=model_dir, bundle=load_bundle(model_dir), chips={})
    evaluation = _evaluation(variant(label), args)
    # a one-batch evaluation whose seed is the batch's own (seed + first index), as in generate_images
    request = evaluation.batch_request(start)
    size = request.num_images
    one = Evaluation(label=f"{label} {start + size}/{evaluation.n}", request=request, n=size)
    progress = tqdm_step_progress(args.steps) if show_progress else None
    v = variant(label)
    if v.injected_error:
        started = time.perf_counter()
        images = generate_with_epsilon_error(_WORKER_STATE["bundle"], request, v.injected_error)
        energy, seconds = None, time.perf_counter() - started
    else:
        images, energy, seconds = generate_images(one, _WORKER_STATE["bundle"], _WORKER_STATE["chips"], progress)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    partial = Path(out).with_suffix(".partial.npz")
    np.savez_compressed(
        partial, images=images, seconds=seconds, energy_per_image_j=np.nan if energy is None else energy
    )
    partial.replace(out)  # a batch file exists only once complete
    return out


def _single_thread_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _generate_batches(pending, args, bundle, images_dir: Path, model_dir: str, jobs: int) -> None:
    """Write every missing batch file of ``pending`` variants, with ``jobs`` processes when > 1."""
    tasks = [
        (v.label, start, str(_batch_path(images_dir, v.label, bundle.sha256, args, start)))
        for v in pending
        for start in range(0, args.n, args.batch)
        if not (images_dir / f"{_key(v.label, bundle.sha256, args)}.npz").is_file()
        and not _batch_path(images_dir, v.label, bundle.sha256, args, start).is_file()
    ]
    if not tasks:
        return
    if jobs == 1:
        for label, start, out in tasks:
            _generate_one_batch(label, model_dir, args, start, out)
        return
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    # one thread per worker: set before the workers import numba / torch (spawned, so they read it)
    threads = {
        name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
    }
    saved = {name: os.environ.get(name) for name in threads}
    os.environ.update(threads)
    try:
        with ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_single_thread_worker
        ) as pool:
            futures = [
                pool.submit(_generate_one_batch, label, model_dir, args, start, out, False)
                for label, start, out in tasks
            ]
            for future in tqdm(
                as_completed(futures), total=len(futures), desc=f"batches on {jobs} processes", file=sys.stderr
            ):
                future.result()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    for v in pending:
        _assemble(v.label, bundle.sha256, args, images_dir)


def _assemble(label: str, model_sha256: str, args, images_dir: Path) -> None:
    """Join a variant's batch files into ``<key>.npz`` (images, summed seconds, energy per image)."""
    starts = range(0, args.n, args.batch)
    paths = [_batch_path(images_dir, label, model_sha256, args, start) for start in starts]
    if not all(p.is_file() for p in paths):
        return
    images, seconds, energy = [], 0.0, 0.0
    for path in paths:
        with np.load(path) as data:
            images.append(data["images"])
            seconds += float(data["seconds"])
            energy += float(data["energy_per_image_j"]) * data["images"].shape[0]
    images = np.concatenate(images)
    np.savez_compressed(
        images_dir / f"{_key(label, model_sha256, args)}.npz",
        images=images,
        seconds=seconds,
        energy_per_image_j=energy / images.shape[0],
    )


def _epsilon_rows(chosen, bundle, results: Path, seed: int, chip_seed: int = 0) -> int:
    """The ablation's cheap half: ε error (batch 16, five noise levels) of each chip variant."""
    from diffusion.studies.offline_eval import epsilon_error

    for v in chosen:
        if v.base == "software":
            continue
        eps = epsilon_error(bundle, v.profile(), batch=16, seed=seed, chip_seed=chip_seed)
        row = {
            "chip_seed": chip_seed,
            "label": v.label,
            "group": v.group,
            "base": v.base,
            "overrides": v.overrides,
            "note": v.note,
            "epsilon_error": eps,
            "model_sha256": bundle.sha256,
        }
        with open(results, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        offsets = {t: round(100 * value, 2) for t, value in eps["offset_per_timestep"].items()}
        summary = {
            "label": v.label,
            "chip_seed": chip_seed,
            "epsilon_error": round(eps["mean"], 4),
            "offset_%": offsets,
        }
        print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
