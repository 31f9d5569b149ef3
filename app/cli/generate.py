"""``spindiff generate``, ``spindiff eval`` and ``spindiff telemetry``: images, their quality and their report.

The commands import torch and diffusion/ inside their functions; at module level only the plain
paths of diffusion/shipped.py (the defaults named in the help). JSON goes to stdout, progress bars
to stderr. `model_bundle` and `add_sampler_option` are shared with ``spindiff bench sampling``
(`app.cli.bench`). The ``--sampler`` choices are the sampler registry's names
(`diffusion.generation.sampler_names`, standard library only).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from app.cli.output import fail, print_json
from diffusion.generation.sampler_names import DEFAULT_SAMPLER, ETA, SAMPLERS
from diffusion.shipped import MODEL_DIR as DEFAULT_MODEL_DIR
from diffusion.shipped import REFERENCE_STATS as DEFAULT_REFERENCE


def add_sampler_option(p) -> None:
    """``--sampler``: one of the registry's names, each described in the help."""
    described = "; ".join(f"{name}: {spec.description}" for name, spec in SAMPLERS.items())
    p.add_argument("--sampler", choices=list(SAMPLERS), default=DEFAULT_SAMPLER, help=described)


def model_bundle(model_dir):
    """The model of ``--model`` (default: the shipped one), loaded with its schedule."""
    from diffusion.model.checkpoints import load_bundle

    return load_bundle(model_dir or DEFAULT_MODEL_DIR)


def _progress_bar(total: int, label: str):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, file=sys.stderr, leave=False)

    def update(done, _total, _x0):
        bar.update(done - bar.n)

    return bar, update


def _use_device(args) -> None:
    """``--device`` is ``SPINDIFF_DEVICE`` for this process (read by `diffusion.chip.torch_device`)."""
    import os

    if getattr(args, "device", None):
        os.environ["SPINDIFF_DEVICE"] = args.device
        from diffusion.chip.torch_device import resolve_device

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


def _add_sampling_options(p) -> None:
    """The options ``generate`` and ``eval`` share: sampler, seeds, noise source, model, reference, chip mode, device."""
    p.add_argument("--steps", type=int, default=50)
    add_sampler_option(p)
    p.add_argument("--eta", type=float, default=ETA.default, help=ETA.description)
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


# --- telemetry ----------------------------------------------------------------------------------------
def cmd_telemetry(args) -> int:
    """Read a stored report (telemetry.json of ``spindiff generate``, or a job's JSON) with the typed models."""
    from diffusion.telemetry.report import dump, headline, load

    try:
        data = json.loads(Path(args.path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        return fail(f"cannot read {args.path}: {error}")
    if (
        isinstance(data, dict) and isinstance(data.get("telemetry"), dict) and "id" in data
    ):  # a job as GET /v1/generations/{id} returns it
        data = data["telemetry"]
    report = load(data)
    print_json(dump(report) if args.full else headline(report))
    return 0


def add_telemetry(sub) -> None:
    p = sub.add_parser(
        "telemetry",
        help="read a stored report (telemetry.json or a job's JSON, any schema version): "
        "its headline figures with N, intervals and ranges",
    )
    p.add_argument("path", help="telemetry.json of `spindiff generate`, or a job as the API returns it")
    p.add_argument("--full", action="store_true", help="print the whole report, upgraded to the current schema")
    p.set_defaults(func=cmd_telemetry)


# --- generate -----------------------------------------------------------------------------------------
def cmd_generate(args) -> int:
    from diffusion.generation.generate import GenerationRequest, generate, write_outputs

    _use_device(args)
    bundle = model_bundle(args.model)
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
    from diffusion.metrics.per_request import quality_block
    from diffusion.telemetry.report import headline, load, with_quality

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
    print_json(
        {
            "out": str(args.out),
            "files": len(written),
            "timings": result.telemetry["timings"],
            "summary": headline(load(result.telemetry)),
        }
    )
    return 0


def add_generate(sub) -> None:
    p = sub.add_parser("generate", help="generate images on a profile's chip (or 'software') with telemetry")
    p.add_argument("--profile", default="vcma-default", help="a hardware profile name, or 'software'")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--out", required=True, help="directory for the PNGs, grid.png and telemetry.json")
    p.add_argument(
        "--paired",
        action="store_true",
        help="chip profiles: also run the software twin on the same noise (twin/ PNGs; PSNR/SSIM in telemetry.json)",
    )
    _add_sampling_options(p)
    p.set_defaults(func=cmd_generate)


# --- eval ---------------------------------------------------------------------------------------------
def cmd_eval(args) -> int:
    from diffusion.generation.generate import SOFTWARE, GenerationRequest
    from diffusion.metrics.reference_stats import load_reference
    from diffusion.studies.offline_eval import Evaluation, evaluate, tqdm_step_progress

    path = Path(args.reference or DEFAULT_REFERENCE)
    if not path.is_file():
        return fail(
            f"no reference statistics at {path}; compute them with "
            "`python -m diffusion.metrics.reference_stats --split test --out PATH`"
        )
    for flag, value in (("--n", args.n), ("--batch", args.batch)):
        if value < 1:
            return fail(f"{flag} must be a positive integer, got {value}")
    _use_device(args)
    reference = load_reference(path)
    bundle = model_bundle(args.model)
    configurations = [SOFTWARE] + [p for p in args.profile if p != SOFTWARE]
    rows, chip_cache = [], {}
    for name in configurations:
        request = GenerationRequest(  # the first batch; a --batch above --n makes one batch of all N
            profile=_hardware(name, args.emulation),
            num_images=min(args.batch, args.n),
            steps=args.steps,
            sampler=args.sampler,
            eta=args.eta,
            seed=args.seed,
            chip_seed=args.chip_seed,
            noise=args.noise,
        )
        evaluation = Evaluation(label=_label(name, args.emulation), request=request, n=args.n)
        rows.append(evaluate(evaluation, bundle, reference, chip_cache, progress=tqdm_step_progress(args.steps)))
    if args.record:
        from diffusion.metrics import large_n_fids

        for row in rows:
            large_n_fids.record(row, bundle.sha256, args.eta, reference.record)
    print_json({"reference": str(path), "model_sha256": bundle.sha256, "rows": rows})
    return 0


def add_eval(sub) -> None:
    p = sub.add_parser("eval", help="FID/KID, images/s and energy per image, software baseline included")
    p.add_argument("--profile", action="append", default=[], help="hardware profile (repeatable)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--json", action="store_true", help="(output is always JSON)")
    p.add_argument("--record", action="store_true", help="store the rows in diffusion/assets/fid_table.json")
    _add_sampling_options(p)
    p.set_defaults(func=cmd_eval)
