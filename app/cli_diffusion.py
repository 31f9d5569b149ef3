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


def _use_device(args) -> None:
    """``--device`` is ``SPINDIFF_DEVICE`` for this process (read by `diffusion.torch_device`)."""
    import os

    if getattr(args, "device", None):
        os.environ["SPINDIFF_DEVICE"] = args.device
        from diffusion.torch_device import resolve_device

        resolve_device()  # a bad or unavailable device fails now, with its message


def _hardware(name: str, emulation: str | None):
    """``name`` ("software" or a preset) with ``--emulation`` applied: a profile object, or the name."""
    if name == "software" or not emulation:
        return name
    from device import profiles

    return profiles.with_overrides(profiles.get_profile(name), {"crossbar": {"emulation": emulation}})


def _label(name: str, emulation: str | None) -> str:
    """The FID-table label of a configuration: the preset name, with ``/statistical`` for that mode."""
    return f"{name}/{emulation}" if emulation == "statistical" and name != "software" else name


def cmd_generate(args) -> int:
    from diffusion.generate import GenerationRequest, generate, write_outputs

    _use_device(args)
    bundle = _bundle(args.model)
    request = GenerationRequest(
        profile=_hardware(args.profile, args.emulation),
        num_images=args.n,
        steps=args.steps,
        sampler=args.sampler,
        eta=args.eta,
        seed=args.seed,
        chip_seed=args.chip_seed,
        noise=args.noise,
        paired=args.paired,
    )
    bar, update = _progress_bar(args.steps, f"generate {args.profile}")
    try:
        result = generate(request, bundle, progress=update)
    finally:
        bar.close()
    from diffusion.request_quality import quality_block
    from diffusion.telemetry import headline, load, with_quality

    t0 = time.perf_counter()
    quality = quality_block(
        result.images,
        bundle,
        request.sampler,
        request.steps,
        request.eta,
        _label(args.profile, args.emulation),
        Path(args.reference or DEFAULT_REFERENCE),
        twin_images=result.twin_images,
    )
    result.telemetry = with_quality(result.telemetry, quality, time.perf_counter() - t0)
    written = write_outputs(result, Path(args.out))
    print(
        json.dumps(
            {
                "out": str(args.out),
                "files": len(written),
                "timings": result.telemetry["timings"],
                "summary": headline(load(result.telemetry)),
            },
            indent=2,
        )
    )
    return 0


def cmd_telemetry(args) -> int:
    """Read a stored report (telemetry.json of ``spindiff generate``, or a job's JSON) with the typed models."""
    from diffusion.telemetry import dump, headline, load

    try:
        data = json.loads(Path(args.path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        print(f"spindiff: error: cannot read {args.path}: {error}", file=sys.stderr)
        return 2
    if (
        isinstance(data, dict) and isinstance(data.get("telemetry"), dict) and "id" in data
    ):  # a job as GET /v1/generations/{id} returns it
        data = data["telemetry"]
    report = load(data)
    print(json.dumps(dump(report) if args.full else headline(report), indent=2))
    return 0


def cmd_eval(args) -> int:
    from diffusion.evaluation import EvalConfig, evaluate, tqdm_step_progress
    from diffusion.generate import SOFTWARE
    from diffusion.reference_stats import load_reference

    path = Path(args.reference or DEFAULT_REFERENCE)
    if not path.is_file():
        print(
            f"spindiff: error: no reference statistics at {path}; compute them with "
            "`python -m diffusion.reference_stats --split test --out PATH`",
            file=sys.stderr,
        )
        return 2
    _use_device(args)
    reference = load_reference(path)
    bundle = _bundle(args.model)
    configurations = [SOFTWARE] + [p for p in args.profile if p != SOFTWARE]
    rows, chip_cache = [], {}
    for name in configurations:
        config = EvalConfig(
            label=_label(name, args.emulation),
            profile=_hardware(name, args.emulation),
            n=args.n,
            steps=args.steps,
            sampler=args.sampler,
            eta=args.eta,
            seed=args.seed,
            chip_seed=args.chip_seed,
            batch=args.batch,
            noise=args.noise,
        )
        rows.append(evaluate(config, bundle, reference, chip_cache, progress=tqdm_step_progress(args.steps)))
    if args.record:
        from diffusion import fid_table

        for row in rows:
            fid_table.record(row, bundle.sha256, args.eta, reference.record)
    print(json.dumps({"reference": str(path), "model_sha256": bundle.sha256, "rows": rows}, indent=2))
    return 0


def cmd_bench_sampling(args) -> int:
    """Wall time of software, exact and statistical sampling, same model, batch, sampler and steps, in one run.

    Rows (each after a 1-image warm-up): software, then the profile's chip in exact and in
    statistical mode, on the CPU, and the same three on CUDA when torch sees a GPU. The ratio is
    to the software row of the same device. Chips are programmed before timing (programming time
    is a column of its own, with the disk cache off so it is the cold cost).
    """
    import os

    import torch

    from device import profiles
    from diffusion.generate import GenerationRequest, generate

    bundle = _bundle(args.model)
    base = profiles.get_profile(args.profile)
    modes = [m for m in ("exact", "statistical") if m in args.modes.split(",")]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and args.device != "cpu" else [])
    if args.device == "cuda" and "cuda" not in devices:
        print("spindiff: error: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
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
    print(
        json.dumps(
            {
                "benchmark": "sampling",
                "profile": args.profile,
                "batch": args.batch,
                "steps": args.steps,
                "sampler": args.sampler,
                "threads": torch.get_num_threads(),
                "rows": rows,
                "note": "programming is excluded from 'seconds' (done once per chip, then cached on disk); ratios are to software on the same device",
            },
            indent=2,
        )
    )
    return 0


def _software_on(bundle, args, device) -> float:
    """Seconds of the software sampler with the model on ``device`` (noise drawn there too)."""
    import torch

    from diffusion.generate import GenerationRequest, make_sampler
    from diffusion.generate_loop import sample

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


def add_diffusion_parsers(sub) -> None:
    def common(p):
        p.add_argument("--steps", type=int, default=50)
        p.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddpm")
        p.add_argument("--eta", type=float, default=0.0, help="DDIM η (0 deterministic, 1 = DDPM)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--chip-seed", type=int, default=0)
        p.add_argument(
            "--noise",
            choices=["torch", "mtj"],
            default="torch",
            help="noise source: torch (default; shared by every profile, so software and chip runs with one seed pair "
            "image for image) or mtj (the chip's own MTJ array; for software, vcma-default's)",
        )
        p.add_argument("--model", help=f"model directory (default: the shipped {DEFAULT_MODEL_DIR})")
        p.add_argument("--reference", help=f"reference statistics (default: {DEFAULT_REFERENCE})")
        p.add_argument(
            "--emulation",
            choices=["exact", "statistical"],
            help="the chip's emulation mode (default: the profile's crossbar.emulation, 'exact' for the presets)",
        )
        p.add_argument("--device", help="torch device: auto, cpu, cuda (default: SPINDIFF_DEVICE, else auto)")

    p = sub.add_parser(
        "telemetry",
        help="read a stored report (telemetry.json or a job's JSON, any schema version): "
        "its headline figures with N, intervals and ranges",
    )
    p.add_argument("path", help="telemetry.json of `spindiff generate`, or a job as the API returns it")
    p.add_argument("--full", action="store_true", help="print the whole report, upgraded to the current schema")
    p.set_defaults(func=cmd_telemetry)

    p = sub.add_parser("generate", help="generate images on a profile's chip (or 'software') with telemetry")
    p.add_argument("--profile", default="vcma-default", help="a hardware profile name, or 'software'")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--out", required=True, help="directory for the PNGs, grid.png and telemetry.json")
    p.add_argument(
        "--paired",
        action="store_true",
        help="chip profiles: also run the software twin on the same noise (twin/ PNGs; PSNR/SSIM in telemetry.json)",
    )
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
    parser.add_argument(
        "--modes", default="exact,statistical", help="sampling: chip emulation modes to time (comma-separated)"
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="sampling: cpu rows only, or also cuda rows when a GPU is present (auto)",
    )
