"""Run one job: the body of the Celery task, safe to run twice (docs/serving.md).

1. `JobStore.begin` takes the job atomically: a job that already ended (finished, cancelled) is
   left alone, a redelivered half-done job runs again with its attempt counter raised, and past
   ``SPINDIFF_MAX_ATTEMPTS`` the job fails as ``worker_lost`` instead of looping.
2. One library call, `diffusion.generation.generate.generate` (through `worker.runtime.Runtime.generate`,
   with the process's models and chips), with a progress reporter, a check of the job's cancel and
   stop flags before every sampler step, and a `worker.checkpoints.Checkpointer`: a job that has a
   stored checkpoint resumes from it (the record's ``resumed`` says from which step), and a job whose
   worker is stopping is checkpointed and requeued with its attempt given back (returns ``"stopped"``;
   the task sends it again).
3. Results are stored with this attempt's number: PNGs first, then the record's status, telemetry
   and reproducibility record in one atomic transition; a superseded attempt writes nothing.
"""

from __future__ import annotations

import logging
import time

from diffusion.metrics.per_request import quality_block
from diffusion.telemetry.report import dump, new, with_quality
from worker import checkpoints, metrics_store, registry
from worker.checkpoints import Checkpointer, WorkerStopping
from worker.progress import ProgressReporter, Superseded
from worker.runtime import Runtime

log = logging.getLogger("spindiff.worker")


def generation_request(request: dict):
    """The `diffusion.generation.generate.GenerationRequest` of a stored job request.

    Requests stored before ``noise`` and ``paired`` existed are read as they ran then: software on
    torch noise, a chip on its MTJ array's noise, unpaired — so "run again" reproduces their images.

    The record keeps the profile by name with its overrides (and the hash the API computed), not
    the resolved parameters; they are resolved here with `device.profiles.resolve`, the call the
    API validated them with, so the worker and the API share one resolution path.
    """
    from device import profiles
    from diffusion.generation.generate import DEFAULT_NOISE, SOFTWARE, GenerationRequest

    hardware = request["hardware"]
    profile = hardware["profile"]
    if profile != SOFTWARE:
        profile = profiles.resolve(profile, hardware.get("overrides"))
    return GenerationRequest(
        profile=profile,
        num_images=request["num_images"],
        steps=request["steps"],
        sampler=request["sampler"],
        eta=request["eta"],
        seed=request["seed"],
        chip_seed=request["chip_seed"],
        noise=request.get("noise", DEFAULT_NOISE if hardware["profile"] == SOFTWARE else "mtj"),
        paired=request.get("paired", False),
    )


def run_job(job_id: str, runtime: Runtime) -> str:
    """Run ``job_id`` to an end state; returns what happened (for logs and tests)."""
    store, settings = runtime.store, runtime.settings
    outcome, value = store.begin(job_id, settings.max_attempts, registry.identity())
    if outcome in ("missing", "skip"):
        log.info("job %s: nothing to do (%s %s)", job_id, outcome, value)
        return outcome
    job = store.get(job_id)
    if outcome == "exhausted":
        log.warning("job %s failed: worker lost %s time(s)", job_id, value)
        metrics_store.record_job(store.r, "failed", 0.0, 0, job["profile_label"], None)
        return "failed"
    attempt = int(value)
    started = time.monotonic()
    status, fields, event, energy_per_image = _execute(job, attempt, runtime)
    if status is None:
        return "superseded"
    if status == "stopped":
        log.info("job %s attempt %d: its worker is stopping; checkpointed and requeued", job_id, attempt)
        return "stopped"
    outcome = store.finish(job_id, attempt, status, fields, event)
    if outcome == "ok":
        images = job["num_images"] if status == "succeeded" else 0
        duration = time.monotonic() - started
        metrics_store.record_job(store.r, status, duration, images, job["profile_label"], energy_per_image)
        if status == "succeeded":
            _record_speed(store, job, fields.get("telemetry") or {}, duration)
    log.info("job %s attempt %d: %s (%s)", job_id, attempt, status, outcome)
    return status if outcome == "ok" else outcome


def _record_speed(store, job: dict, telemetry: dict, duration_s: float) -> None:
    """The job's sampling rate and chip set-up time, for the dashboard's estimate (`worker.estimates`).
    Not for a resumed job: its timings cover only the steps after its checkpoint."""
    if store.r.hexists(store.job_key(job["id"]), "resumed"):
        return
    request = job["request"]
    hardware = request.get("hardware") or {}
    emulation = telemetry.get("emulation") or {}
    software = hardware.get("profile") == "software"
    run = {
        "image_steps": request["num_images"] * request["steps"],
        "duration_s": duration_s,
        "quality": bool((telemetry.get("quality") or {}).get("available")),
    }
    if not software:
        run["chip"] = f"{request.get('model_sha256')}:{hardware.get('profile_hash')}:{request.get('chip_seed', 0)}"
        run["chip_source"] = emulation.get("chip_source")
    mode = "software" if software else emulation.get("mode") or "exact"
    try:
        metrics_store.record_run(
            store.r, hardware.get("profile", "software"), mode, telemetry.get("timings") or {}, run
        )
    except Exception:  # noqa: BLE001 - an estimate's input; the job itself is stored already
        log.warning("job %s: could not record its speed", job["id"], exc_info=True)


def _execute(job: dict, attempt: int, runtime: Runtime):
    """(status, record fields, event, energy per image) — status None when superseded."""
    from celery.exceptions import SoftTimeLimitExceeded

    from device.errors import SpindiffError
    from diffusion.generation.loop import Cancelled

    store, settings, job_id, request = runtime.store, runtime.settings, job["id"], job["request"]
    reporter = ProgressReporter(store, job_id, attempt, settings.progress_interval_s, bool(request.get("preview")))
    checkpointer = Checkpointer(store, job_id, attempt, settings.checkpoint_interval_s)

    def cancel_or_stop() -> bool:
        cancel, stop = store.stop_flags(job_id)
        if stop and not cancel:
            raise WorkerStopping(job_id)
        return cancel

    try:
        if store.cancel_requested(job_id):
            raise Cancelled(0, request["steps"])
        bundle = runtime.bundle(request["model"])
        result = _generate(runtime, job, attempt, reporter, cancel_or_stop, checkpointer)
        t0 = time.perf_counter()
        quality = quality_block(
            result.images,
            bundle,
            request["sampler"],
            request["steps"],
            request["eta"],
            job["profile_label"],
            settings.reference_stats,
            enabled=request.get("quality", {}).get("enabled", True),
            twin_images=result.twin_images,
        )
        result.telemetry = with_quality(result.telemetry, quality, time.perf_counter() - t0)
    except Superseded:
        log.warning("job %s attempt %d superseded by a later delivery; stopping", job_id, attempt)
        return None, {}, {}, None
    except WorkerStopping:
        step = checkpointer.save()
        reason = f"its worker stopped; requeued, to resume from step {step} of {request['steps']} (attempt not counted)"
        outcome = store.requeue_stopped(job_id, attempt, {"status": "queued", "reason": reason, "from_step": step})
        return ("stopped" if outcome == "ok" else None), {}, {}, None
    except Cancelled as cancelled:
        telemetry = getattr(cancelled, "telemetry", None) or dump(
            new(cancelled={"steps_done": cancelled.steps_done, "total": cancelled.total})
        )
        fields = {"telemetry": telemetry}
        done = {key: value for key, value in telemetry["cancelled"].items() if value is not None}
        return "cancelled", fields, {"status": "cancelled", **done}, None
    except SoftTimeLimitExceeded:
        error = {
            "code": "time_limit",
            "field": None,
            "message": f"the job ran past the soft time limit of {settings.soft_limit} s (SPINDIFF_SOFT_TIME_LIMIT_S); "
            "ask for fewer images or steps, or raise the limit",
        }
        return "failed", {"error": error}, {"status": "failed", "error": error}, None
    except SpindiffError as error:
        error = {"code": "invalid_request", "field": None, "message": str(error)}
        return "failed", {"error": error}, {"status": "failed", "error": error}, None
    except Exception as error:  # noqa: BLE001 - recorded on the job; the task must not be redelivered for a bug
        log.exception("job %s attempt %d crashed", job_id, attempt)
        error = {"code": "internal_error", "field": None, "message": f"{type(error).__name__}: {error}"}
        return "failed", {"error": error}, {"status": "failed", "error": error}, None
    return _succeeded(store, job, result)


def _generate(runtime: Runtime, job: dict, attempt: int, progress, cancel, checkpointer: Checkpointer):
    """`Runtime.generate` of the job, resumed from its stored checkpoint when it has one that fits."""
    from diffusion.generation.resume import StateMismatch
    from worker.store import dumps

    store, job_id, request = runtime.store, job["id"], job["request"]
    run = generation_request(request)
    state = checkpoints.load(store, job_id)
    if state is not None:
        resumed = {"from_step": state.step, "total": state.total, "attempt": attempt}
        store.r.hset(store.job_key(job_id), "resumed", dumps(resumed))
        try:
            return runtime.generate(
                run, request["model"], progress=progress, cancel=cancel, resume=state, checkpoint=checkpointer
            )
        except StateMismatch as error:
            log.warning("job %s: its checkpoint does not fit (%s); starting from step 0", job_id, error)
            store.r.delete(store.checkpoint_key(job_id))
            store.r.hdel(store.job_key(job_id), "resumed")
    return runtime.generate(run, request["model"], progress=progress, cancel=cancel, checkpoint=checkpointer)


def _succeeded(store, job: dict, result):
    from diffusion.generation import images as image_io

    record = {
        **result.telemetry.pop("reproducibility"),
        "job_id": job["id"],
        "model": job["request"]["model"],
        "hardware": job["request"]["hardware"],
        # the batch size too: each image's noise depends on it, so a PNG alone can be run again
        "num_images": job["request"]["num_images"],
    }
    pngs = [image_io.png_bytes(image, {**record, "index": k}) for k, image in enumerate(result.images)]
    grid = image_io.png_bytes(image_io.grid(result.images), record, scale=4)
    twin_pngs = twin_grid = None
    if result.twin_images is not None:  # a paired job: the software twin's images, kept beside the chip's
        twin_record = {**record, "twin": "software network, same noise"}
        twin_pngs = [
            image_io.png_bytes(image, {**twin_record, "index": k}) for k, image in enumerate(result.twin_images)
        ]
        twin_grid = image_io.png_bytes(image_io.grid(result.twin_images), twin_record, scale=4)
    store.put_images(job["id"], pngs, grid, twin_pngs, twin_grid)
    energy = result.telemetry.get("energy") or {}
    steps = len(record["sampler"]["timesteps"])
    fields = {
        "telemetry": result.telemetry,
        "reproducibility": record,
        "progress": {"step": steps, "total": steps, "eta_s": 0.0},
    }
    event = {"status": "succeeded", "images": len(pngs)}
    return "succeeded", fields, event, energy.get("energy_per_image_j")
