"""``spindiff bench rng|crossbar|sampling``: benchmarks that print ratios measured side by side in one run.

All three live here, behind one ``bench`` parser whose options say which benchmark reads them. The
benchmarks import device/, diffusion/ and torch inside their functions.
"""

from __future__ import annotations

import sys
import time

from app.cli.generate import add_sampler_option, model_bundle
from app.cli.output import fail, print_json


def cmd_bench(args) -> int:
    return BENCHMARKS[args.what](args)


def _print_result(args, result: dict) -> int:
    """rng and crossbar: the result as JSON with ``--json``, else one ``key: value`` line per entry."""
    if args.json:
        print_json(result)
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


# --- bench rng ----------------------------------------------------------------------------------------
def run_rng(args) -> int:
    from device.benchmarks import bench_rng

    return _print_result(args, bench_rng(args.profile, args.samples, args.repeats))


# --- bench crossbar -----------------------------------------------------------------------------------
def run_crossbar(args) -> int:
    from device.benchmarks import bench_crossbar

    names = args.profiles.split(",") if args.profiles else None
    print("[bench crossbar] programming and timing a 512x512 layer per profile", file=sys.stderr)
    result = bench_crossbar(names, size=args.size, batch=args.batch, repeats=args.repeats)
    from diffusion.chip.engine_bench import bench_engines

    engines = {
        r["profile"]: r
        for r in bench_engines([row["profile"] for row in result["profiles"]], args.size, args.batch, args.repeats)
    }
    for row in result["profiles"]:
        row.update({k: v for k, v in engines[row["profile"]].items() if k != "profile"})
    result["aihwkit"] = _aihwkit_comparison(args)
    if result["aihwkit"].get("available"):
        tile = result["aihwkit"]["matmul_seconds"]
        for row in result["profiles"]:
            row["ratio_crossbar_over_aihwkit"] = row["matmul_seconds"] / tile
            row["ratio_statistical_over_aihwkit"] = row["statistical_seconds"] / tile
    return _print_result(args, result)


def _aihwkit_comparison(args) -> dict:
    """IBM aihwkit's analog inference tile on the same layer, when the optional package is installed."""
    import importlib.util

    if importlib.util.find_spec("aihwkit") is None:
        return {"available": False, "reason": "aihwkit is not installed (optional extra 'bench'; see README)"}
    from diffusion.chip.aihwkit_reference import bench_aihwkit  # torch lives in diffusion/, never in device/

    return bench_aihwkit(size=args.size, batch=args.batch, repeats=args.repeats)


# --- bench sampling -----------------------------------------------------------------------------------
def run_sampling(args) -> int:
    """Wall time of software, exact and statistical sampling, same model, batch, sampler and steps, in one run.

    Rows (each after a 1-image warm-up): software, then the profile's chip in exact and in
    statistical mode, on the CPU, and the same three on CUDA when torch sees a GPU. The ratio is
    to the software row of the same device. Chips are programmed before timing (programming time
    is a column of its own, with the disk cache off so it is the cold cost). Always one JSON object.
    """
    import os

    import torch

    from device import profiles
    from diffusion.generation.generate import GenerationRequest, generate

    bundle = model_bundle(args.model)
    base = profiles.get_profile(args.profile)
    modes = [m for m in ("exact", "statistical") if m in args.modes.split(",")]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and args.device != "cpu" else [])
    if args.device == "cuda" and "cuda" not in devices:
        return fail("--device cuda but torch sees no CUDA device")
    saved = {k: os.environ.get(k) for k in ("SPINDIFF_DEVICE", "SPINDIFF_CHIP_DIR")}
    os.environ["SPINDIFF_CHIP_DIR"] = "off"
    rows = []
    try:
        for device in devices:
            os.environ["SPINDIFF_DEVICE"] = device
            cache: dict = {}
            software_s = None
            for mode in ["software", *modes]:
                hardware = (
                    "software"
                    if mode == "software"
                    else profiles.with_overrides(base, {"crossbar": {"emulation": mode}})
                )
                if mode == "software" and device == "cuda":
                    seconds, programming = _software_on(bundle, args, torch.device("cuda")), None
                else:
                    warm = generate(
                        GenerationRequest(profile=hardware, num_images=1, steps=1, sampler=args.sampler),
                        bundle,
                        chip_cache=cache,
                    )
                    programming = warm.telemetry["timings"].get("programming_s")
                    request = GenerationRequest(
                        profile=hardware, num_images=args.batch, steps=args.steps, sampler=args.sampler, seed=1
                    )
                    print(
                        f"[bench sampling] {device} {mode}: {args.batch} images x {args.steps} steps", file=sys.stderr
                    )
                    started = time.perf_counter()
                    generate(request, bundle, chip_cache=cache)
                    seconds = time.perf_counter() - started
                if mode == "software":
                    software_s = seconds
                rows.append(
                    {
                        "label": "software" if mode == "software" else f"{args.profile} {mode}",
                        "mode": mode,
                        "device": device,
                        "seconds": seconds,
                        "images_per_second": args.batch / seconds,
                        "ratio_to_software": seconds / software_s,
                        "programming_seconds": programming,
                    }
                )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    print_json(
        {
            "benchmark": "sampling",
            "profile": args.profile,
            "batch": args.batch,
            "steps": args.steps,
            "sampler": args.sampler,
            "threads": torch.get_num_threads(),
            "rows": rows,
            "note": "programming is excluded from 'seconds' (done once per chip, then cached on disk); ratios are to software on the same device",
        }
    )
    return 0


def _software_on(bundle, args, device) -> float:
    """Seconds of the software sampler with the model on ``device`` (noise drawn there too)."""
    import torch

    from diffusion.generation.generate import GenerationRequest, make_sampler
    from diffusion.generation.loop import sample

    network = bundle.model.to(device)

    def model(x, t):
        return network(x, t.to(device))

    generator = torch.Generator(device=device).manual_seed(1)

    class DeviceNoise:
        def gaussian(self, shape):
            return torch.randn(shape, generator=generator, device=device)

    shape = (args.batch, 1, bundle.image_size, bundle.image_size)
    sampler = make_sampler(GenerationRequest(profile="software", sampler=args.sampler), bundle.alphas_cumprod)
    try:
        sample(model, sampler, DeviceNoise(), (1,) + shape[1:], 1)
        torch.cuda.synchronize(device)
        started = time.perf_counter()
        sample(model, sampler, DeviceNoise(), shape, args.steps)
        torch.cuda.synchronize(device)
        return time.perf_counter() - started
    finally:
        bundle.model.to("cpu")


#: ``spindiff bench WHAT``: each benchmark by name, in the order of the ``what`` choices.
BENCHMARKS = {"rng": run_rng, "crossbar": run_crossbar, "sampling": run_sampling}


def add_bench(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks that print ratios measured side by side in one run")
    p.add_argument("what", choices=list(BENCHMARKS))
    p.add_argument("--profile", default="vcma-default", help="rng: the profile to benchmark")
    p.add_argument("--profiles", help="crossbar: comma-separated profiles (default: all but vcma-uncalibrated)")
    p.add_argument("--samples", type=int, default=4_000_000, help="rng: Gaussian samples per timing")
    p.add_argument("--size", type=int, default=512, help="crossbar: layer size (size x size)")
    p.add_argument("--batch", type=int, default=64, help="crossbar: input vectors per matmul; sampling: images")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true")
    # sampling only
    p.add_argument("--model")
    add_sampler_option(p)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument(
        "--modes", default="exact,statistical", help="sampling: chip emulation modes to time (comma-separated)"
    )
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="sampling: cpu rows only, or also cuda rows when a GPU is present (auto)",
    )
    p.set_defaults(func=cmd_bench)
