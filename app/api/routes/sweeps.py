"""/v1/sweeps: design-space sweeps — submit, read (with the Pareto front), export as CSV, watch, cancel.

A sweep expands its axes into points (`worker.sweep_plan`), validates every point's profile before
anything is queued, stores one ordinary generation job per point (`SweepStore.submit`, the call
``spindiff sweep`` makes too) and fans them out on the existing workers as one Celery ``group`` (so
more workers on more machines make a sweep faster).
Results are read back from the point jobs (`worker.sweep_results`).
"""

from __future__ import annotations

import json
import secrets

from celery import group
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api import deps
from app.api.errors import ApiError
from app.api.routes.generations import retry_after_s
from app.api.schemas import ErrorResponse
from app.api.sweep_schemas import MAX_SWEEP_IMAGES, Sweep, SweepCreate, SweepList
from worker import models
from worker.celery_app import GENERATE
from worker.settings import Settings
from worker.store import TERMINAL, JobStore, decode_event
from worker.sweep_plan import SweepError, plan
from worker.sweep_results import summary, to_csv
from worker.sweep_store import SweepStore

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"], dependencies=[Depends(deps.api_key)])
ERRORS = {401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
_SWEEP_ID = r"^[0-9a-f]{32}$"
BLOCK_MS = 5_000


def _sweeps(request: Request) -> SweepStore:
    return SweepStore(request.app.state.store)


def _sweep_or_404(sweep_id: str, sweeps: SweepStore, owner: str | None) -> dict:
    sweep = sweeps.get(sweep_id)
    if sweep is None or not deps.visible(sweep, owner):
        raise ApiError(404, "sweep_not_found", f"no sweep {sweep_id!r} (unknown id, or removed after retention)", "id")
    return sweep


@router.post(
    "",
    status_code=202,
    response_model=Sweep,
    responses={**ERRORS, 429: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Submit a sweep: one generation job per point, fanned out on the workers",
)
def create_sweep(
    body: SweepCreate,
    request: Request,
    response: Response,
    config: Settings = Depends(deps.settings),
    jobs: JobStore = Depends(deps.store),
    celery=Depends(deps.celery),
    caller: str | None = Depends(deps.api_key),
) -> dict:
    model = models.resolve(config, body.model)
    if model is None:
        known = ", ".join(m["id"] for m in models.catalog(config))
        raise ApiError(422, "unknown_model", f"unknown model {body.model!r}; known models: {known}", "model")
    try:
        points = plan(body.profile, body.overrides, body.emulation, body.axes, body.points)
    except SweepError as error:
        raise ApiError(422, "invalid_sweep", error.message, error.field) from None
    images = len(points) * body.num_images
    if images > MAX_SWEEP_IMAGES:
        raise ApiError(
            422,
            "sweep_too_large",
            f"{len(points)} points × {body.num_images} images = {images} images; at most {MAX_SWEEP_IMAGES} per sweep",
            "num_images",
        )
    depth = jobs.counts().get("queued", 0)
    if config.queue_cap and depth + len(points) > config.queue_cap:
        retry = retry_after_s(jobs, depth + len(points) - config.queue_cap)
        raise ApiError(
            429,
            "queue_full",
            f"{depth} jobs are waiting and the sweep adds {len(points)} (SPINDIFF_QUEUE_CAP={config.queue_cap}); "
            f"nothing was queued, retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )
    seed = body.seed if body.seed is not None else secrets.randbits(63)
    sweeps = _sweeps(request)
    sweep = sweeps.submit(body.model_dump(mode="json"), model, points, seed, owner=caller or "")
    stored = sweep["points"]
    signatures = [
        celery.signature(GENERATE, args=[p["job_id"]], options={"task_id": p["job_id"], "queue": config.queue})
        for p in stored
    ]
    try:
        group(signatures, app=celery).apply_async()
    except Exception as error:  # noqa: BLE001 - broker down: no point may stay queued forever
        for p in stored:
            jobs.fail_unless_finished(p["job_id"], "enqueue_failed", f"could not queue the sweep: {error}")
        raise ApiError(
            503, "queue_unavailable", f"the job queue is unreachable ({type(error).__name__}); retry later"
        ) from None
    response.headers["Location"] = f"/v1/sweeps/{sweep['id']}"
    return summary(sweep, sweeps.point_jobs(sweep))


@router.get("", response_model=SweepList, responses=ERRORS, summary="List sweeps, newest first")
def list_sweeps(
    request: Request, limit: int = Query(20, ge=1, le=100), owner: str | None = Depends(deps.owner_scope)
) -> dict:
    sweeps = _sweeps(request)
    return {"items": [summary(s, sweeps.point_jobs(s)) for s in sweeps.list(limit, owner=owner)]}


@router.get(
    "/{sweep_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **ERRORS},
    summary="The sweep's points as CSV: parameters, status, job, FID/KID, energy by component, area, latency",
)
def get_sweep_csv(
    request: Request, sweep_id: str = Path(..., pattern=_SWEEP_ID), owner: str | None = Depends(deps.owner_scope)
) -> Response:
    sweeps = _sweeps(request)
    sweep = _sweep_or_404(sweep_id, sweeps, owner)
    return Response(
        to_csv(summary(sweep, sweeps.point_jobs(sweep))),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="sweep-{sweep_id}.csv"'},
    )


@router.get("/{sweep_id}", response_model=Sweep, responses=ERRORS, summary="One sweep: status, points, Pareto front")
def get_sweep(
    request: Request, sweep_id: str = Path(..., pattern=_SWEEP_ID), owner: str | None = Depends(deps.owner_scope)
) -> dict:
    sweeps = _sweeps(request)
    sweep = _sweep_or_404(sweep_id, sweeps, owner)
    return summary(sweep, sweeps.point_jobs(sweep))


@router.post(
    "/{sweep_id}/cancel",
    response_model=Sweep,
    responses=ERRORS,
    summary="Cancel a sweep: its queued points at once, its running ones within a sampler step",
)
def cancel_sweep(
    request: Request,
    sweep_id: str = Path(..., pattern=_SWEEP_ID),
    jobs: JobStore = Depends(deps.store),
    celery=Depends(deps.celery),
    owner: str | None = Depends(deps.owner_scope),
) -> dict:
    sweeps = _sweeps(request)
    sweep = _sweep_or_404(sweep_id, sweeps, owner)
    sweeps.request_cancel(sweep_id)
    for point in sweep["points"]:
        outcome, _ = jobs.cancel(point["job_id"])
        if outcome == "cancelled":
            try:
                celery.control.revoke(point["job_id"])
            except Exception:  # noqa: BLE001 - revoke is an optimisation only
                pass
    sweep = sweeps.get(sweep_id)
    return summary(sweep, sweeps.point_jobs(sweep))


@router.get(
    "/{sweep_id}/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    summary="Every point's progress as Server-Sent Events, then one 'sweep' event with the final status",
)
async def sweep_events(
    request: Request, sweep_id: str = Path(..., pattern=_SWEEP_ID), owner: str | None = Depends(deps.owner_scope)
):
    """Each point job's events (``queued``, ``running``, ``progress``, ``succeeded``, …) with ``point``
    and ``job_id`` added to their data, interleaved as they happen; after the last point ends, a
    ``sweep`` event carries the sweep's status and counts. A reconnect replays from the start."""
    sweeps = _sweeps(request)
    sweep = _sweep_or_404(sweep_id, sweeps, owner)
    aredis, hub = request.app.state.aredis, request.app.state.events
    index = {JobStore.events_key(p["job_id"]): p for p in sweep["points"]}
    cursors = {key: "0-0" for key in index}
    alive = sweeps.point_jobs(sweep)
    open_points = {key for key, job in zip(index, alive) if job is not None}  # an expired point has no stream

    async def stream():
        while open_points:
            answer = await hub.read({k: cursors[k] for k in open_points}, BLOCK_MS / 1000)
            if not answer:
                if not await aredis.exists(SweepStore.key(sweep_id)):
                    return
                continue
            for raw_key, entries in answer:
                key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
                point = index[key]
                for raw_id, fields in entries:
                    event_id, kind, data = decode_event(raw_id, fields)
                    cursors[key] = event_id
                    data.pop("preview_png_base64", None)
                    yield ServerSentEvent(
                        data=json.dumps({"point": point["index"], "job_id": point["job_id"], **data}), event=kind
                    )
                    if kind in TERMINAL:
                        open_points.discard(key)
        final = summary(sweeps.get(sweep_id) or sweep, sweeps.point_jobs(sweep))
        yield ServerSentEvent(
            data=json.dumps({"status": final["status"], "counts": final["counts"], "pareto": final["pareto"]}),
            event="sweep",
        )

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
