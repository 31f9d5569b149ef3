"""The dashboard's routes: five pages, three HTML fragments, a dry-run validation and the jobs stream.

Pages (``/``, ``/jobs/{id}``, ``/compare``, ``/sweeps``, ``/sweeps/{id}``) are shells without data, so
a browser can open them without an API key; their scripts fetch everything else with the key from
sessionStorage in an ``Authorization`` header (an ``<img src>`` or an ``EventSource`` could not send
it). The fragments are server-rendered HTML with SVG charts, made from the job (and sweep) records
alone: this process never loads torch or numba.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import re
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from app.api import deps
from app.api.errors import ApiError
from app.api.routes.generations import ERRORS, _resolve_hardware
from app.api.routes.sweeps import _SWEEP_ID
from app.api.schemas import GenerationCreate
from app.api.sweep_schemas import MAX_POINTS, MAX_SWEEP_IMAGES, SweepCreate
from app.api.views import job_view
from app.dashboard import figures, form, jobs_table, sweeps, telemetry, uncertainty
from app.dashboard.charts import plain, si
from diffusion.generation.sampler_names import SAMPLERS
from worker import models, registry
from worker.settings import Settings
from worker.store import STATUSES, JobStore
from worker.sweep_results import summary as sweep_summary
from worker.sweep_store import SweepStore

HERE = Path(__file__).resolve().parent
JOB_ID = r"^[A-Za-z0-9_-]{1,64}$"
WAKE_MS = 1_000  # the jobs stream re-reads the list at least this often (new jobs, worker changes)
# No inline script or style, nothing from another origin: the pages work offline and an injected
# <script> would not run. Images are blob: URLs (fetched with the key) or data: (previews).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

#: The data routes' error answers: JSON in the API's error shape, whatever the route's own media type
#: (an HTML fragment, an event stream), so the OpenAPI document says what is really sent.
JSON_ERRORS = {
    status: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    for status, description in (
        (401, "missing or unknown API key"),
        (404, "unknown id, or another key's"),
        (422, "invalid request; error.field names the field"),
        (429, "rate limit reached; see Retry-After"),
        (503, "the job store is unreachable"),
    )
}

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    si=si,
    plain=plain,
    seconds=lambda v: "—" if v is None else (f"{v:.2f} s" if v < 100 else f"{v:.0f} s"),
    ratio_range=uncertainty.range_text,
)

pages = APIRouter(include_in_schema=False)
data = APIRouter(prefix="/dashboard", tags=["dashboard"], dependencies=[Depends(deps.api_key)])


def _page(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    # the key button and dialog only where the server asks for keys
    keys_on = bool(request.app.state.settings.api_key_list)
    return templates.TemplateResponse(
        request, name, {"keys_on": keys_on, **context}, status_code=status_code, headers=HEADERS
    )


def _error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    """A page's own error as a page (a wrong id in the address), not the API's JSON."""
    context = {"page": "error", "title": title, "message": message}
    return _page(request, "error.html", context, status_code=status_code)


@functools.cache
def form_fields(schema: type[GenerationCreate] | type[SweepCreate] = GenerationCreate) -> dict:
    """Defaults, bounds and help of the request fields, from the API's own schema (of a generation,
    or of a sweep for the sweep form).

    The sampler menu's options are the schema's enum, each with what the sampler registry
    (`diffusion.generation.sampler_names`) says of it: its description and whether it takes η (the
    form enables the η field for those alone).
    """
    properties = schema.model_json_schema()["properties"]
    fields = {}
    for name in ("num_images", "steps", "eta", "seed", "chip_seed"):
        spec = dict(properties[name])
        for option in spec.pop("anyOf", []):  # seed: integer or null
            spec.update({k: v for k, v in option.items() if k != "type"})
        low, high = spec.get("minimum"), spec.get("maximum", spec.get("exclusiveMaximum"))
        bounds = "" if low is None else (f"{low:g}–{high:g}" if high is not None and high < 1e6 else f"≥ {low:g}")
        fields[name] = {"default": spec.get("default"), "help": spec.get("description", ""), "bounds": bounds}
    fields["sampler"] = {
        "options": [
            {"name": name, "description": SAMPLERS[name].description, "takes_eta": SAMPLERS[name].takes_eta}
            for name in properties["sampler"]["enum"]
        ],
        "default": properties["sampler"]["default"],
    }
    return fields


@pages.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return _page(request, "index.html", {"page": "index", **form.page_context(form_fields())})


@pages.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> HTMLResponse:
    if not re.match(JOB_ID, job_id):
        return _error_page(request, 422, "Not a job id", f"{job_id[:80]!r} is not a job id.")
    return _page(request, "job.html", {"page": "job", "job_id": job_id})


@pages.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, ids: str = "") -> HTMLResponse:
    try:
        chosen = _ids(ids[:400], required=False)
    except ApiError as error:
        return _error_page(request, 422, "Cannot compare these jobs", error.message.removeprefix("ids: ") + ".")
    return _page(request, "compare.html", {"page": "compare", "ids": ",".join(chosen)})


@pages.get("/sweeps", response_class=HTMLResponse)
def sweeps_page(request: Request) -> HTMLResponse:
    context = {
        "page": "sweeps",
        "fields": form_fields(SweepCreate),
        "limits": {"points": MAX_POINTS, "images": MAX_SWEEP_IMAGES},
        "parameter_types": sweeps.parameter_types(),
    }
    return _page(request, "sweeps.html", context)


@pages.get("/sweeps/{sweep_id}", response_class=HTMLResponse)
def sweep_page(request: Request, sweep_id: str = PathParam(..., pattern=_SWEEP_ID)) -> HTMLResponse:
    return _page(request, "sweep.html", {"page": "sweep", "sweep_id": sweep_id})


def _ids(text: str, required: bool = True) -> list[str]:
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids and not required:
        return []
    if not 2 <= len(ids) <= 4:
        raise ApiError(422, "validation_error", f"ids: name 2 to 4 jobs separated by commas, got {len(ids)}", "ids")
    for job_id in ids:
        if not re.match(JOB_ID, job_id):
            raise ApiError(422, "validation_error", f"ids: {job_id!r} is not a job id", "ids")
    return ids


def _report_context(job: dict) -> dict:
    energy = telemetry.energy_view(job)
    return {
        "job": job,
        "s": telemetry.summary(job),
        "energy": energy,
        "figures": figures.job_figures(energy),
        "quality": telemetry.quality_view(job),
        "record": telemetry.record_view(job),
        "timings": telemetry.timings_view(job),
        "geometry": telemetry.grid_geometry(job) if job["status"] == "succeeded" else None,
        "rerun": json.loads(telemetry.rerun_body(job)) if job["status"] in telemetry.TERMINAL else None,
        "partial": (job.get("telemetry") or {}).get("cancelled"),
    }


@data.get(
    "/jobs/{job_id}/report",
    response_class=HTMLResponse,
    summary="A job as HTML with SVG charts (the job page's body)",
    responses=JSON_ERRORS,
)
def job_report(
    request: Request,
    job: dict = Depends(deps.job_or_404),
    jobs: JobStore = Depends(deps.store),
    config: Settings = Depends(deps.settings),
) -> HTMLResponse:
    view = job_view(job, config.max_attempts)
    context = {**_report_context(view), "stopped": _stopped(jobs, view)}
    return templates.TemplateResponse(request, "_job_report.html", context, headers={"Cache-Control": "no-store"})


def _stopped(jobs: JobStore, job: dict) -> dict | None:
    """Where a failed or cancelled job stopped: the step it reached and its last preview (base64 PNG)."""
    if job["status"] not in jobs_table.STOPPED:
        return None
    progress = job.get("progress") or {}
    preview = jobs_table.last_preview(jobs, job["id"]) if (job.get("request") or {}).get("preview") else None
    return {
        "status": job["status"],
        "step": progress.get("step") or 0,
        "total": progress.get("total") or (job.get("request") or {}).get("steps"),
        "preview": base64.b64encode(preview["png"]).decode() if preview else None,
        "preview_step": preview["step"] if preview else None,
    }


@data.get(
    "/compare",
    response_class=HTMLResponse,
    summary="2–4 jobs side by side as HTML with SVG charts",
    responses=JSON_ERRORS,
)
def compare_report(
    request: Request,
    ids: str = Query(..., max_length=400, description="2–4 job ids, comma-separated"),
    jobs: JobStore = Depends(deps.store),
    config: Settings = Depends(deps.settings),
    owner: str | None = Depends(deps.owner_scope),
) -> HTMLResponse:
    found = []
    for job_id in _ids(ids):
        record = jobs.get(job_id)
        if record is None or not deps.visible(record, owner):
            raise ApiError(
                404,
                "job_not_found",
                f"no generation job {job_id!r} (unknown id, or removed after the retention period)",
                "ids",
            )
        found.append(job_view(record, config.max_attempts))
    columns = [
        {**_report_context(job), "label": f"#{k + 1} {telemetry.profile_label(job['request'])}"}
        for k, job in enumerate(found)
    ]
    charts = figures.compare_figures([c["label"] for c in columns], [c["energy"] for c in columns])
    quality_rows = uncertainty.compare_rows([c["quality"] for c in columns])
    return templates.TemplateResponse(
        request,
        "_compare_report.html",
        {"columns": columns, "figures": charts, "quality_rows": quality_rows},
        headers={"Cache-Control": "no-store"},
    )


@data.get(
    "/sweeps/{sweep_id}/report",
    response_class=HTMLResponse,
    summary="A sweep as HTML: status, the FID/energy scatter with its Pareto front (SVG), the points (the sweep page's body)",
    responses=JSON_ERRORS,
)
def sweep_report(
    request: Request,
    sweep_id: str = PathParam(..., pattern=_SWEEP_ID),
    jobs: JobStore = Depends(deps.store),
    owner: str | None = Depends(deps.owner_scope),
) -> HTMLResponse:
    store = SweepStore(jobs)
    sweep = store.get(sweep_id)
    # another key's sweep is 404, as an unknown id is (a record stored before sweeps had owners: everyone's)
    if sweep is None or ("owner" in sweep and not deps.visible(sweep, owner)):
        raise ApiError(404, "sweep_not_found", f"no sweep {sweep_id!r} (unknown id, or removed after retention)", "id")
    return templates.TemplateResponse(
        request,
        "_sweep_report.html",
        sweeps.report_context(sweep_summary(sweep, store.point_jobs(sweep))),
        headers={"Cache-Control": "no-store"},
    )


@data.post(
    "/validate",
    summary="Check a generation request without queueing it",
    responses={**ERRORS, 200: {"content": {"application/json": {"example": {"ok": True}}}}},
)
def validate_generation(
    body: GenerationCreate, config: Settings = Depends(deps.settings), jobs: JobStore = Depends(deps.store)
) -> dict:
    """The checks of ``POST /v1/generations`` (body, model, profile and overrides) with the same
    422 answers, and nothing queued: the dashboard's form shows each field's error before submitting.
    A valid request is answered with its estimated duration (``estimate``: seconds by part, from the
    workers' measured rates, `worker.estimates`)."""
    model = models.resolve(config, body.model)
    if model is None:
        known = ", ".join(m["id"] for m in models.catalog(config))
        raise ApiError(
            422, "unknown_model", f"unknown model {body.model!r}; known models: {known} (GET /v1/models)", "model"
        )
    hardware, _ = _resolve_hardware(body)
    estimate = form.estimate(jobs, body, hardware, model.get("sha256"))
    return {"ok": True, "model": model["id"], "hardware": hardware, "estimate": estimate}


@data.get(
    "/jobs/{job_id}/request",
    summary="A job's request as the generation form's values (Edit and run; seeds as text)",
    responses=JSON_ERRORS,
)
def job_request(job: dict = Depends(deps.job_or_404)) -> dict:
    return {"id": job["id"], "status": job["status"], "request": form.edit_body(job)}


def _filters(
    limit: int = Query(jobs_table.LIMIT, ge=1, le=100, description="rows per page"),
    before: int | None = Query(None, ge=0, description="the page's cursor: jobs created before this sequence number"),
    status: str | None = Query(None, pattern="^(" + "|".join(STATUSES) + ")$"),
    profile: str | None = Query(
        None, pattern=jobs_table.PROFILE.pattern, description="a profile name (overrides or not)"
    ),
    q: str | None = Query(None, pattern=jobs_table.ID_PREFIX.pattern, description="a job id or the start of one"),
) -> jobs_table.Filters:
    """The jobs table's page and filters, checked (a bad value is a 422 naming it)."""
    return jobs_table.Filters(limit=limit, before=before, status=status, profile=profile, q=q)


def _snapshot(store: JobStore, filters: jobs_table.Filters, owner: str | None, queue: str) -> tuple[str, list[str]]:
    return jobs_table.snapshot(store, filters, owner, queue, len(registry.alive(store.r)))


@data.get(
    "/jobs", summary="One page of the jobs table as JSON (what one event of the stream carries)", responses=JSON_ERRORS
)
def jobs_page(
    filters: jobs_table.Filters = Depends(_filters),
    jobs: JobStore = Depends(deps.store),
    owner: str | None = Depends(deps.owner_scope),
    config: Settings = Depends(deps.settings),
) -> Response:
    payload, _ = _snapshot(jobs, filters, owner, config.queue)
    return Response(payload, media_type="application/json", headers={"Cache-Control": "no-store"})


@data.get(
    "/jobs/{job_id}/queue",
    summary="A queued job's place in the queue: position (1 = next), jobs waiting",
    responses={
        200: {"content": {"application/json": {"example": {"status": "queued", "position": 2, "waiting": 3}}}},
        **JSON_ERRORS,
    },
)
def job_queue(
    job: dict = Depends(deps.job_or_404),
    jobs: JobStore = Depends(deps.store),
    config: Settings = Depends(deps.settings),
) -> dict:
    """``position`` is null for a job that is not queued, or queued and already handed to a worker."""
    if job["status"] != "queued":
        return {"status": job["status"], "position": None, "waiting": None}
    positions = jobs_table.queue_positions(jobs, config.queue)
    position, waiting = positions.get(job["id"], (None, None))
    return {"status": "queued", "position": position, "waiting": waiting if waiting is not None else len(positions)}


@data.get(
    "/jobs/{job_id}/thumbnail.png",
    response_class=Response,
    summary="A job's picture for the jobs table: its grid, or the last preview of a failed or cancelled job",
    responses={200: {"content": {"image/png": {}}}, **JSON_ERRORS},
)
def job_thumbnail(job: dict = Depends(deps.job_or_404), jobs: JobStore = Depends(deps.store)) -> Response:
    png = None
    if job["status"] == "succeeded":
        png = jobs.image(job["id"], "grid")
    elif job["status"] in jobs_table.STOPPED:
        preview = jobs_table.last_preview(jobs, job["id"])
        png = preview["png"] if preview else None
    if png is None:
        raise ApiError(404, "no_picture", f"job {job['id']!r} has no picture ({job['status']}, no preview kept)", "id")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@data.get(
    "/jobs/stream",
    response_class=EventSourceResponse,
    summary="The newest jobs as Server-Sent Events (the live jobs table)",
    responses={200: {"content": {"text/event-stream": {}}}, **JSON_ERRORS},
)
async def jobs_stream(
    request: Request,
    filters: jobs_table.Filters = Depends(_filters),
    jobs: JobStore = Depends(deps.store),
    owner: str | None = Depends(deps.owner_scope),
    config: Settings = Depends(deps.settings),
):
    """A ``jobs`` event with one page of the table (the newest ``limit`` jobs older than ``before``
    that pass the filters; `app.dashboard.jobs_table`), status counts and live workers whenever any
    of it changes: woken by the events of the queued and running jobs, and re-read every second
    for new jobs and queue positions."""
    hub = request.app.state.events

    async def stream():
        last, positions = None, {}
        while True:
            payload, active = await run_in_threadpool(_snapshot, jobs, filters, owner, config.queue)
            if payload != last:
                last = payload
                yield ServerSentEvent(data=payload, event="jobs")
            positions = {job_id: positions.get(job_id, "$") for job_id in active}
            if not positions:
                await asyncio.sleep(WAKE_MS / 1000)
                continue
            answer = await hub.read({JobStore.events_key(k): v for k, v in positions.items()}, WAKE_MS / 1000)
            for key, entries in answer or []:
                job_id = (key.decode() if isinstance(key, bytes) else key).split(":")[2]
                last_id = entries[-1][0]
                positions[job_id] = last_id.decode() if isinstance(last_id, bytes) else last_id

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
