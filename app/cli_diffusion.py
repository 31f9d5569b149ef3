"""``spindiff generate``, ``spindiff eval`` and ``spindiff bench sampling``.

Like every CLI module in app/, this imports torch and the emulator only inside the command
functions. JSON goes to stdout, progress bars to stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from diffusion.shipped import MODEL_DIR as DEFAULT_MODEL_DIR
from diffusion.shipped import REFERENCE_STATS as DEFAULT_REFERENCE


def _bundle(model_dir):
    from diffusion.checkpoints import load_bundle

    return load_bundle(model_dir or DEFAULT_MODEL_DIR)


def _progress_bar(total: int, label: str):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, file=sys.stderr, leave=False)

    def update(done, _total, _x0):
        bar.update(done - bar.n)

    return bar, update


def cmd_generate(args) -> int:
    from diffusion.generate import GenerationRequest, generate, write_outputs

    bundle = _bundle(args.model)
    request = GenerationRequest(
        profile=args.profile, num_images=args.n, steps=args.steps, sampler=args.sampler,
        eta=args.eta, seed=args.seed, chip_seed=args.chip_seed,
    )  # fmt: skip
    bar, update = _progress_bar(args.steps, f"generate {args.profile}")
    try:
        result = generate(request, bundle, progress=update)
    finally:
        bar.close()
    from diffusion.request_quality import quality_block

    result.telemetry["quality"] = quality_block(result.images, bundle, request.sampler, request.steps, request.eta,
                                                args.profile, Path(args.reference or DEFAULT_REFERENCE))  # fmt: skip
    written = write_outputs(result, Path(args.out))
    print(json.dumps({"out": str(args.out), "files": len(written), "timings": result.telemetry["timings"]}, indent=2))
    return 0


def cmd_eval(args) -> int:
    from diffusion.evaluation import EvalConfig, evaluate, tqdm_step_progress
    from diffusion.generate import SOFTWARE
    from diffusion.reference_stats import load_reference

    path = Path(args.reference or DEFAULT_REFERENCE)
    if not path.is_file():
        print(f"spindiff: error: no reference statistics at {path}; compute them with "
              "`python -m diffusion.reference_stats --split test --out PATH`", file=sys.stderr)  # fmt: skip
        return 2
    reference = load_reference(path)
    bundle = _bundle(args.model)
    configurations = [SOFTWARE] + [p for p in args.profile if p != SOFTWARE]
    rows, chip_cache = [], {}
    for name in configurations:
        config = EvalConfig(label=name, profile=name, n=args.n, steps=args.steps, sampler=args.sampler,
                            eta=args.eta, seed=args.seed, chip_seed=args.chip_seed, batch=args.batch)  # fmt: skip
        rows.append(evaluate(config, bundle, reference, chip_cache, progress=tqdm_step_progress(args.steps)))
    if args.record:
        from diffusion import fid_table

        for row in rows:
            fid_table.record(row, bundle.sha256, args.eta, reference.record)
    print(json.dumps({"reference": str(path), "model_sha256": bundle.sha256, "rows": rows}, indent=2))
    return 0


def cmd_bench_sampling(args) -> int:
    """Wall time of chip vs software sampling, same model, batch, sampler and steps, in one run."""
    from diffusion.generate import GenerationRequest, generate

    bundle = _bundle(args.model)
    cache: dict = {}
    times = {}
    for name in ("software", args.profile):
        request = GenerationRequest(profile=name, num_images=args.batch, steps=args.steps, sampler=args.sampler, seed=1)
        generate(GenerationRequest(profile=name, num_images=1, steps=1, sampler=args.sampler), bundle, chip_cache=cache)
        started = time.perf_counter()
        generate(request, bundle, chip_cache=cache)
        times[name] = time.perf_counter() - started
    print(json.dumps({
        "benchmark": "sampling", "profile": args.profile, "batch": args.batch, "steps": args.steps,
        "sampler": args.sampler, "software_seconds": times["software"], "chip_seconds": times[args.profile],
        "ratio_chip_over_software": times[args.profile] / times["software"],
        "note": "chip programming is excluded (done once per chip); the chip emulates every Conv2d/Linear on crossbars",
    }, indent=2))  # fmt: skip
    return 0


def add_diffusion_parsers(sub) -> None:
    def common(p):
        p.add_argument("--steps", type=int, default=50)
        p.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddpm")
        p.add_argument("--eta", type=float, default=0.0, help="DDIM η (0 deterministic, 1 = DDPM)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--chip-seed", type=int, default=0)
        p.add_argument("--model", help=f"model directory (default: the shipped {DEFAULT_MODEL_DIR})")
        p.add_argument("--reference", help=f"reference statistics (default: {DEFAULT_REFERENCE})")

    p = sub.add_parser("generate", help="generate images on a profile's chip (or 'software') with telemetry")
    p.add_argument("--profile", default="vcma-default", help="a hardware profile name, or 'software'")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--out", required=True, help="directory for the PNGs, grid.png and telemetry.json")
    common(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("eval", help="FID/KID, images/s and energy per image, software baseline included")
    p.add_argument("--profile", action="append", default=[], help="hardware profile (repeatable)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--json", action="store_true", help="(output is always JSON)")
    p.add_argument("--record", action="store_true", help="store the rows in diffusion/assets/fid_table.json")
    common(p)
    p.set_defaults(func=cmd_eval)


def add_bench_sampling(parser) -> None:
    """Options of ``spindiff bench sampling`` (the bench subcommand dispatches here)."""
    parser.add_argument("--model")
    parser.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddpm")
    parser.add_argument("--steps", type=int, default=10)
