"""``spindiff sweep``: a design-space sweep run on this machine, through the service's own code path.

The points are planned and validated by `worker.sweep_plan.plan` (every point's profile resolved
before anything runs; a bad value names its axis), stored with `worker.sweep_store.SweepStore.submit`
as ordinary generation jobs in a private Redis with a fresh password (`app.embedded_redis.EmbeddedRedis`),
run one by one by `worker.runner.run_job` with a worker `Runtime` (``--jobs J``: J processes, each set up by
`worker.runtime.init_process` as a Celery pool process is), and read back with
`worker.sweep_results.summary`: the JSON of ``GET /v1/sweeps/{id}`` (sweep.json), its CSV (sweep.csv)
and each point's image grid (point-{index}.png). The quality block is the worker's: batch FID and KID
when the reference statistics exist (``--reference``, default ``SPINDIFF_REFERENCE_STATS``).

``--axis section.key=v1,v2,…`` (repeatable) makes the full grid, the last axis varying fastest;
``--point section.key=v,section.key=v`` (repeatable) lists points instead. A value is read as an
int, else a float, else ``true``/``false``, else a string. A sweep has at most 256 points (`plan`,
as for the API); the images are bounded by the library (1 to 1024 per point, `GenerationRequest`)
rather than by the API's admission limits (64 per point, 4096 per sweep): the machine is the
caller's. Exit codes: 0 every point succeeded, 1 some point did not, 2 refused before anything ran,
130 interrupted (Ctrl-C: the points done so far are written, the rest cancelled).

Torch, the emulator and the worker modules are imported inside the command (docs/architecture.md).
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

from app.cli.generate import add_sampler_option
from app.cli.output import fail, print_json
from diffusion.generation.sampler_names import ETA

#: exit code of a sweep that ran but not every point succeeded (2 is a refusal: nothing ran)
EXIT_INCOMPLETE = 1
#: exit code after Ctrl-C: the points done so far are written, the rest cancelled
EXIT_INTERRUPTED = 130


# --- parsing ------------------------------------------------------------------------------------------
def parse_value(text: str):
    """``"6"`` → 6, ``"1e-9"`` → 1e-9, ``"true"``/``"false"`` → bool, anything else the string itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_axes(specs: list[str]) -> dict:
    """``["crossbar.adc_bits=4,6,8", …]`` → ``{"crossbar.adc_bits": [4, 6, 8], …}``; a `SweepError` names a bad one."""
    from worker.sweep_plan import SweepError

    axes: dict = {}
    for spec in specs:
        name, eq, values = (part.strip() for part in spec.partition("="))
        field = f"axes.{name}" if name else "axes"
        if not eq or not name:
            raise SweepError(field, f"{spec!r} is not 'section.key=v1,v2,...'")
        if name in axes:
            raise SweepError(field, f"axis {name!r} is given twice")
        items = [v.strip() for v in values.split(",")]
        if not all(items):
            raise SweepError(field, f"axis {name!r} has an empty value in {values!r}")
        axes[name] = [parse_value(v) for v in items]
    return axes


def parse_points(specs: list[str]) -> list[dict]:
    """``["crossbar.adc_bits=6,crossbar.read_time=4e-9", …]`` → one ``{parameter: value}`` per point."""
    from worker.sweep_plan import SweepError

    points = []
    for k, spec in enumerate(specs):
        point: dict = {}
        for pair in spec.split(","):
            name, eq, value = (part.strip() for part in pair.partition("="))
            if not eq or not name or not value:
                raise SweepError(f"points.{k}", f"{pair.strip()!r} in {spec!r} is not 'section.key=value'")
            if name in point:
                raise SweepError(f"points.{k}.{name}", f"{name!r} is given twice in {spec!r}")
            point[name] = parse_value(value)
        points.append(point)
    return points


def option(field: str) -> str:
    """The command-line option a `SweepError`'s body field came from: ``axes.crossbar.adc_bits`` → ``--axis crossbar.adc_bits``."""
    head, _, rest = field.partition(".")
    if head == "axes":
        return f"--axis {rest}" if rest else "--axis"
    if head == "points":
        index, _, name = rest.partition(".")
        return f"--point #{index}" + (f" ({name})" if name else "") if index else "--point"
    return "--" + head.replace("_", "-")


def sweep_body(args) -> dict:
    """The sweep's body: the fields of ``POST /v1/sweeps`` (``SweepCreate``) as JSON, from the options."""
    from worker.sweep_plan import SweepError

    if args.axis and args.point:
        raise SweepError("axes", "give either --axis (a grid) or --point (an explicit list of points), not both")
    if not args.axis and not args.point:
        raise SweepError("axes", "give --axis section.key=v1,v2,... (a grid) or --point section.key=v,... (a list)")
    return {
        "model": "default" if _model_dir(args.model) else args.model,
        "profile": args.profile,
        "overrides": None,
        "emulation": args.emulation,
        "axes": parse_axes(args.axis) if args.axis else None,
        "points": parse_points(args.point) if args.point else None,
        "num_images": args.num_images,
        "sampler": args.sampler,
        "steps": args.steps,
        "eta": args.eta,
        "seed": args.seed,
        "chip_seed": args.chip_seed,
        "noise": args.noise,
        "quality": {"enabled": True},
    }


def check_request(body: dict) -> str | None:
    """Why the generation every point runs is refused (images, steps, sampler, η, seeds), or None: the
    library's own checks (`GenerationRequest`), made before anything runs."""
    from device.errors import SpindiffError
    from diffusion.generation.generate import GenerationRequest

    fields = ("num_images", "steps", "sampler", "eta", "seed", "chip_seed", "noise")
    try:
        GenerationRequest(profile=body["profile"], **{name: body[name] for name in fields})
    except SpindiffError as error:
        return str(error)
    return None


def _model_dir(model: str) -> Path | None:
    """``--model`` as an exported model directory (served as model id ``default``), or None for an id/SHA-256."""
    path = Path(model)
    return path if (path / "model.json").is_file() else None


# --- running ------------------------------------------------------------------------------------------
def _step_runtime(runtime, bar):
    """``runtime`` whose ``generate`` also moves ``bar`` (the steps of the point being run)."""
    from dataclasses import fields

    from worker.runtime import Runtime

    class StepBarRuntime(Runtime):
        def generate(self, request, model_id, progress, cancel, resume=None, checkpoint=None):
            def both(step, total, x0):
                progress(step, total, x0)
                if bar.total != total:
                    bar.reset(total=total)
                bar.update(step - bar.n)

            bar.reset()
            return super().generate(request, model_id, both, cancel, resume=resume, checkpoint=checkpoint)

    return StepBarRuntime(**{f.name: getattr(runtime, f.name) for f in fields(Runtime)})


def _run_here(job_ids: list[str], settings, store, model_id: str, model_dir: Path, bar) -> None:
    """Every point in this process, one after the other (``--jobs 1``): the runtime of a worker process,
    with this process's thread settings (as ``spindiff generate``)."""
    from tqdm import tqdm

    from diffusion.model.checkpoints import load_bundle
    from worker.runner import run_job
    from worker.runtime import ChipCache, Runtime

    runtime = Runtime(settings, store, {model_id: load_bundle(model_dir)}, ChipCache(settings.chip_cache_size))
    with tqdm(total=1, desc="steps", unit="step", file=sys.stderr, leave=False, position=1) as steps:
        runtime = _step_runtime(runtime, steps)
        for job_id in job_ids:
            run_job(job_id, runtime)
            bar.update(1)


_child_settings = None


def _start_child(settings) -> None:
    """A ``--jobs`` process: set up as a Celery pool process is (`worker.runtime.init_process`: thread
    pools of cores / J threads, the models, a job-store connection)."""
    global _child_settings
    from worker.runtime import init_process

    _child_settings = settings
    init_process(settings)


def _run_in_child(job_id: str) -> str:
    from worker.runner import run_job
    from worker.runtime import get_runtime

    return run_job(job_id, get_runtime(_child_settings))


def _run_parallel(job_ids: list[str], settings, processes: int, bar) -> None:
    """The points on ``processes`` fresh processes (spawned: torch and numba never cross a fork)."""
    import multiprocessing

    child = settings.model_copy(update={"worker_concurrency": processes})
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=_start_child, initargs=(child,)) as pool:
        for _ in pool.imap_unordered(_run_in_child, job_ids):
            bar.update(1)


def _interrupted(store, sweeps, sweep: dict) -> None:
    """Ctrl-C: the sweep is cancelled; its queued points end ``cancelled``, a point cut off mid-run ``failed``."""
    sweeps.request_cancel(sweep["id"])
    for point in sweep["points"]:
        store.cancel(point["job_id"])
        store.fail_unless_finished(point["job_id"], "interrupted", "spindiff sweep was interrupted (Ctrl-C)")


def write_outputs(view: dict, store, out: Path) -> list[Path]:
    """sweep.json (the view), sweep.csv (`to_csv`) and point-{index}.png (each succeeded point's grid)."""
    from worker.sweep_results import to_csv

    written = [out / "sweep.json", out / "sweep.csv"]
    written[0].write_text(json.dumps(view, indent=2) + "\n")
    written[1].write_text(to_csv(view))
    for point in view["points"]:
        grid = store.image(point["job_id"], "grid")
        if grid is not None:
            path = out / f"point-{point['index']}.png"
            path.write_bytes(grid)
            written.append(path)
    return written


def table(view: dict) -> str:
    """The points as a plain-text table (stderr): values, status, batch FID, KID, energy per image, front."""
    front = set(view["pareto"])
    head = ["point", *view["axes"], "status", "fid", "kid_mean", "energy/image (J)", "pareto"]
    rows = [head]
    for p in view["points"]:
        r = p["results"] or {}
        fid, kid, energy = r.get("fid"), r.get("kid_mean"), r.get("energy_per_image_j")
        rows.append(
            [
                str(p["index"]),
                *(str(p["values"].get(a)) for a in view["axes"]),
                p["status"],
                "-" if fid is None else f"{fid:.2f}",
                "-" if kid is None else f"{kid:.4f}",
                "-" if energy is None else f"{energy:.4g}",
                "*" if p["index"] in front else "",
            ]
        )
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def cmd_sweep(args) -> int:
    from tqdm import tqdm

    from app.embedded_redis import EmbeddedRedis
    from worker import models
    from worker.settings import Settings
    from worker.store import JobStore
    from worker.sweep_plan import SweepError, plan
    from worker.sweep_results import summary
    from worker.sweep_store import SweepStore

    try:
        body = sweep_body(args)
        points = plan(body["profile"], body["overrides"], body["emulation"], body["axes"], body["points"])
    except SweepError as error:
        return fail(f"{option(error.field)}: {error.message}")
    refused = check_request(body)
    if refused:
        return fail(refused)
    if args.jobs < 1:
        return fail(f"--jobs must be a positive integer, got {args.jobs}")
    given = {"model_dir": _model_dir(args.model), "reference_stats": args.reference}
    settings = Settings(api_keys=None, queue_cap=0, **{k: v for k, v in given.items() if v is not None})
    model = models.resolve(settings, body["model"])
    if model is None:
        known = ", ".join(m["id"] for m in models.catalog(settings) if m.get("available"))
        return fail(f"--model: unknown model {args.model!r}; known models: {known}, or an exported model directory")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return fail(f"--out: cannot create {out}: {error}")
    started = time.perf_counter()
    password = secrets.token_urlsafe(24)  # as `spindiff serve`'s: only this process and its children get in
    with (
        tempfile.TemporaryDirectory(prefix="spindiff-sweep-") as tmp,
        EmbeddedRedis(tmp, appendonly=False, password=password) as redis,
    ):
        settings = settings.model_copy(update={"redis_url": redis.url})
        store = JobStore.from_url(redis.url, settings.retention_s)
        sweeps = SweepStore(store)
        sweep = sweeps.submit(body, model, points, body["seed"])
        job_ids = [p["job_id"] for p in sweep["points"]]
        processes = min(args.jobs, len(job_ids))
        interrupted = False
        with tqdm(total=len(job_ids), desc="sweep", unit="point", file=sys.stderr, position=0) as bar:
            try:
                if processes == 1:
                    model_dir = models.model_dirs(settings)[model["id"]]
                    _run_here(job_ids, settings, store, model["id"], model_dir, bar)
                else:
                    _run_parallel(job_ids, settings, processes, bar)
            except KeyboardInterrupt:
                interrupted = True
                _interrupted(store, sweeps, sweep)
        view = summary(sweeps.get(sweep["id"]), sweeps.point_jobs(sweep))
        written = write_outputs(view, store, out)
        store.r.close()
    print(table(view), file=sys.stderr)
    print_json(
        {
            "out": str(out),
            "files": [path.name for path in written],
            "status": view["status"],
            "counts": view["counts"],
            "pareto": view["pareto"],
            "processes": processes,
            "wall_s": round(time.perf_counter() - started, 3),
        }
    )
    if interrupted:
        print("spindiff: interrupted; the points done so far are written", file=sys.stderr)
        return EXIT_INTERRUPTED
    if view["status"] != "succeeded":
        failed = [p for p in view["points"] if p["status"] != "succeeded"]
        for p in failed:
            print(f"spindiff: point {p['index']} {p['values']}: {p['status']} {p['error'] or ''}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


def add_sweep(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="a design-space sweep on this machine: one generation per point over profile parameters; "
        "sweep.json and sweep.csv as POST /v1/sweeps gives them, with the Pareto front of FID against energy",
    )
    p.add_argument("--profile", default="vcma-default", help="the base hardware profile (a preset)")
    p.add_argument(
        "--axis",
        action="append",
        default=[],
        metavar="SECTION.KEY=V1,V2,...",
        help="a swept profile parameter and its values (repeatable; the points are the full grid, last axis fastest)",
    )
    p.add_argument(
        "--point",
        action="append",
        default=[],
        metavar="SECTION.KEY=V,...",
        help="one explicit point, its parameters comma-separated (repeatable; instead of --axis)",
    )
    p.add_argument("--num-images", type=int, default=16, help="images per point: the N of its batch FID and KID")
    p.add_argument("--steps", type=int, default=50)
    add_sampler_option(p)
    p.add_argument("--eta", type=float, default=ETA.default, help=ETA.description)
    p.add_argument("--seed", type=int, default=0, help="sampling seed shared by every point")
    p.add_argument("--chip-seed", type=int, default=0)
    p.add_argument(
        "--noise",
        choices=["torch", "mtj"],
        default="torch",
        help="torch (default: every point on the same noise, so points differ only by their chip) or mtj",
    )
    p.add_argument(
        "--emulation",
        choices=["exact", "statistical"],
        help="the crossbar emulation mode of every point (default: the profile's own, 'exact' for the presets)",
    )
    p.add_argument(
        "--model", default="default", help="model id or weights SHA-256 (as the API takes), or a model directory"
    )
    p.add_argument("--reference", help="reference statistics for FID/KID (default: SPINDIFF_REFERENCE_STATS)")
    p.add_argument("--out", required=True, help="directory for sweep.json, sweep.csv and point-{index}.png")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="points run at once, each in a process of its own with cores / J threads (default 1: in this process)",
    )
    p.set_defaults(func=cmd_sweep)
