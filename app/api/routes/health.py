"""/healthz (the process is up), /readyz (Redis reachable, a worker alive), /metrics (Prometheus).

/healthz and /readyz need no API key (load balancers and compose healthchecks call them; with keys
set /readyz names no host); /metrics needs one when keys are set (Prometheus sends it as a bearer
token: ``authorization: {credentials: KEY}`` in the scrape config).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from app.api import deps
from app.api.metrics import render
from worker import registry
from worker.settings import Settings
from worker.store import JobStore

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is up")
def healthz() -> dict:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready to take jobs: Redis reachable and at least one worker alive",
    responses={503: {"description": "not ready: the body's checks say which part is missing and how to fix it"}},
)
def readyz(jobs: JobStore = Depends(deps.store), config: Settings = Depends(deps.settings)) -> JSONResponse:
    """Public (load balancers call it); with API keys set it names no internal host."""
    checks: dict = {}
    try:
        jobs.r.ping()
        checks["redis"] = {"ok": True}
        workers = registry.alive(jobs.r)
        checks["workers"] = {
            "ok": bool(workers),
            "alive": len(workers),
            "processes": sum(int(w.get("concurrency") or 0) for w in workers),
        }
        if not config.api_key_list:
            checks["workers"]["hosts"] = sorted(w["hostname"] for w in workers)
        if not workers:
            checks["workers"]["message"] = "no worker is alive: start one with `spindiff worker`"
    except Exception as error:  # noqa: BLE001 - any Redis failure means not ready
        checks["redis"] = {"ok": False, "message": f"{type(error).__name__}: {error}"}
        checks["workers"] = {"ok": False, "alive": 0}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics (needs a key when API keys are set)", response_class=Response)
def metrics(
    jobs: JobStore = Depends(deps.store),
    config: Settings = Depends(deps.settings),
    _caller: str | None = Depends(deps.api_key),
) -> Response:
    return Response(render(jobs, config.queue), media_type="text/plain; version=0.0.4; charset=utf-8")
