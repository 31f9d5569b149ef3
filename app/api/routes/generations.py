"""/v1/generations: submit, read, list, cancel, and the PNG images of a job.

Routes validate, enqueue by task name and shape the response; the job store does the rest.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from app.api import deps
from app.api.errors import ApiError
from app.api.schemas import SOFTWARE, ErrorResponse, GenerationCreate, Job, JobPage, Status
from app.api.views import job_view
from device import profiles
from worker import metrics_store, models, registry
from worker.celery_app import GENERATE
from worker.settings import Settings
from worker.store import JobStore

router = APIRouter(prefix="/v1/generations", tags=["generations"], dependencies=[Depends(deps.api_key)])
ERRORS = {401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


def _resolve_hardware(body: GenerationCreate) -> tuple[dict, str]:
    """({profile, overrides, profile_hash}, metrics label) of a validated request.

    The request model has already checked the profile and its overrides with `device.profiles`
    (`app.api.schemas.HardwareSpec`: every problem at once, each at its field, as
    ``hardware.overrides.rng.dac_bits``); here they are resolved, in the API process (numba-free: the
    parameter modules import only the standard library and numpy), for the hash.
    """
    spec = body.hardware
    if spec.profile == SOFTWARE:
        return {"profile": SOFTWARE, "overrides": None, "profile_hash": None}, SOFTWARE
    resolved = profiles.resolve(spec.profile, spec.overrides)
    return {"profile": spec.profile, "overrides": spec.overrides, "profile_hash": resolved.hash}, profile_label(
        spec.profile, spec.overrides
    )


def profile_label(profile: str, overrides: dict | None) -> str:
    """The job's profile label (metrics, and the FID table's lookup in the worker's quality block): the
    preset's name, ``name/statistical`` when the only override is the statistical emulation mode (the
    same chip, emulated by its reduced model: the FID table holds both modes), else ``name+overrides``."""
    if not overrides or overrides == {"crossbar": {"emulation": "exact"}}:
        return profile
    if overrides == {"crossbar": {"emulation": "statistical"}}:
        return f"{profile}/statistical"
    return f"{profile}+overrides"


def retry_after_s(jobs: JobStore, depth: int) -> int:
    """Seconds until a slot is likely free, in [1, 600]: the queue depth over its measured drain rate
    (`worker.metrics_store.drain_rate`: job ends per second over the last 10 minutes, all workers); with
    fewer than two recent ends, depth × mean job time / worker processes (30 s before any job ended).
    Used wherever work is refused on a full queue (generations and sweeps)."""
    rate = metrics_store.drain_rate(jobs.r)
    if rate is not None:
        return int(min(600, max(1, round(max(1, depth) / rate))))
    mean = 30.0
    finished = metrics_store.snapshot(jobs.r)["duration"].get("succeeded")
    if finished and finished["count"]:
        mean = finished["sum"] / finished["count"]
    slots = sum(int(w.get("concurrency") or 1) for w in registry.alive(jobs.r)) or 1
    return int(min(600, max(1, mean * max(1, depth) / slots)))


@router.post(
    "",
    status_code=202,
    response_model=Job,
    responses={**ERRORS, 409: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
    summary="Submit a generation job",
)
def create_generation(
    body: GenerationCreate,
    response: Response,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        max_length=255,
        description="a retry with the same key and body returns the same job",
    ),
    caller: str | None = Depends(deps.api_key),
    config: Settings = Depends(deps.settings),
    jobs: JobStore = Depends(deps.store),
    celery=Depends(deps.celery),
) -> dict:
    """Queue a job (202). The body's ``seed`` is chosen by the server when absent and returned."""
    model = models.resolve(config, body.model)
    if model is None:
        known = ", ".join(m["id"] for m in models.catalog(config))
        raise ApiError(
            422, "unknown_model", f"unknown model {body.model!r}; known models: {known} (GET /v1/models)", "model"
        )
    hardware, label = _resolve_hardware(body)
    request = body.model_dump(mode="json")
    request.update(model=model["id"], hardware=hardware)
    body_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    request.update(seed=body.seed if body.seed is not None else secrets.randbits(63), model_sha256=model["sha256"])
    job_id = uuid.uuid4().hex
    idem = None
    if idempotency_key:
        idem = f"{caller or 'anonymous'}:{hashlib.sha256(idempotency_key.encode()).hexdigest()}"
    result = jobs.create(
        job_id,
        request,
        profile_label=label,
        body_hash=body_hash,
        idempotency_key=idem,
        queue_cap=config.queue_cap,
        owner=caller or "",
    )
    if result.outcome == "existing":
        if result.body_hash != body_hash:
            raise ApiError(
                409,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different body; use a new key for a different request",
                "Idempotency-Key",
            )
        existing = jobs.get(result.job_id)
        if existing is None:
            raise ApiError(
                409,
                "idempotency_key_reused",
                "this Idempotency-Key belongs to a job that no longer exists",
                "Idempotency-Key",
            )
        response.headers["Idempotent-Replayed"] = "true"
        response.headers["Location"] = f"/v1/generations/{existing['id']}"
        return job_view(existing, config.max_attempts)
    if result.outcome == "full":
        retry = retry_after_s(jobs, result.depth or 0)
        raise ApiError(
            429,
            "queue_full",
            f"{result.depth} jobs are waiting (SPINDIFF_QUEUE_CAP={config.queue_cap}); "
            f"nothing was queued, retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )
    # the 202 describes the job as accepted (queued): read it before the worker can pick it up
    created = jobs.get(job_id)
    try:
        celery.send_task(GENERATE, args=[job_id], task_id=job_id, queue=config.queue)
    except Exception as error:  # noqa: BLE001 - broker down: the job must not stay queued forever
        jobs.fail_unless_finished(job_id, "enqueue_failed", f"could not queue the job: {error}")
        raise ApiError(
            503,
            "queue_unavailable",
            f"the job queue is unreachable ({type(error).__name__}); retry later",
            headers={"Retry-After": "10"},
        ) from None
    response.headers["Location"] = f"/v1/generations/{job_id}"
    return job_view(created, config.max_attempts)


@router.get("", response_model=JobPage, responses=ERRORS, summary="List jobs, newest first")
def list_generations(
    status: Status | None = Query(None, description="only jobs in this status"),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, pattern=r"^[0-9]{1,18}$", description="next_cursor of the previous page"),
    config: Settings = Depends(deps.settings),
    jobs: JobStore = Depends(deps.store),
    owner: str | None = Depends(deps.owner_scope),
) -> dict:
    records, next_seq = jobs.list(status, limit, int(cursor) if cursor else None, owner=owner)
    return {
        "items": [job_view(r, config.max_attempts, full=False) for r in records],
        "next_cursor": None if next_seq is None else str(next_seq),
    }


@router.get("/{job_id}", response_model=Job, responses=ERRORS, summary="One job: status, progress, telemetry")
def get_generation(job: dict = Depends(deps.job_or_404), config: Settings = Depends(deps.settings)) -> dict:
    return job_view(job, config.max_attempts)


@router.post(
    "/{job_id}/cancel",
    response_model=Job,
    responses={**ERRORS, 409: {"model": ErrorResponse}},
    summary="Cancel a queued job at once, a running one within one sampler step",
)
def cancel_generation(
    response: Response,
    job: dict = Depends(deps.job_or_404),
    config: Settings = Depends(deps.settings),
    jobs: JobStore = Depends(deps.store),
    celery=Depends(deps.celery),
) -> dict:
    outcome, previous = jobs.cancel(job["id"])
    if outcome == "requested" and jobs.cancel_if_worker_lost(job["id"], registry.alive(jobs.r)):
        outcome = "cancelled"  # its worker is gone: nobody would see the flag, so it ends here
    if outcome == "cancelled":
        try:
            celery.control.revoke(job["id"])  # spare the worker the delivery; the record already says cancelled
        except Exception:  # noqa: BLE001 - revoke is an optimisation only
            pass
    elif outcome == "requested":
        response.status_code = 202
    elif outcome == "terminal" and previous != "cancelled":
        raise ApiError(409, "job_finished", f"the job already {previous}; there is nothing to cancel", "id")
    elif outcome == "missing":
        raise ApiError(404, "job_not_found", f"no generation job {job['id']!r}", "id")
    return job_view(jobs.get(job["id"]), config.max_attempts)


@router.get(
    "/{job_id}/images/{name}.png",
    response_class=Response,
    summary="One image (0, 1, …) or the grid, as PNG; a paired job's software twin as twin-0, …, twin-grid",
    responses={200: {"content": {"image/png": {}}}, **ERRORS},
)
def get_image(
    name: str = Path(
        ...,
        pattern=r"^(twin-)?(grid|[0-9]{1,3})$",
        description="image index or 'grid', 'twin-' for a paired job's twin",
    ),
    job: dict = Depends(deps.job_or_404),
    jobs: JobStore = Depends(deps.store),
) -> Response:
    if job["status"] != "succeeded":
        raise ApiError(404, "images_not_ready", f"the job is {job['status']}; images exist once it has succeeded", "id")
    png = jobs.image(job["id"], name)
    if png is None:
        twins = " (and twin-0 … twin-grid)" if (job.get("request") or {}).get("paired") else ""
        raise ApiError(
            404,
            "image_not_found",
            f"no image {name!r}: this job has images 0–{job['num_images'] - 1} and 'grid'{twins}",
            "name",
        )
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400, immutable"})
