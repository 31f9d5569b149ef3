"""The FastAPI application: `create_app` wires settings, job store and Celery client.

Run it with ``spindiff api`` (uvicorn), inside ``spindiff serve``, or as the compose ``api``
service. Nothing here imports torch or numba (profiles resolve in this process through the numba-free
`device.profiles`); tests check that in a fresh process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import asynccontextmanager

import redis.asyncio as aredis
from fastapi import FastAPI

from app import dashboard
from app.api import docs, errors
from app.api.event_hub import EventHub
from app.api.limits import BodyLimits
from app.api.rate_limit import RateLimiter
from app.api.routes import catalog, events, generations, health, sweeps
from worker.celery_app import make_celery
from worker.settings import Settings, get_settings
from worker.store import JobStore

DESCRIPTION = """Generate Fashion-MNIST images by reverse diffusion on an emulated VCMA-MTJ chip, with
energy, area, latency and quality telemetry. Jobs are queued (202), watched (poll or SSE), cancelled,
and their images fetched as PNG carrying the reproducibility record. Errors are
`{"error": {"code", "message", "field"}}`. When `SPINDIFF_API_KEYS` is set, every route needs
`Authorization: Bearer KEY` or `X-API-Key: KEY`, /metrics and /openapi.json included, but /healthz, /readyz
and the pages a browser opens (the dashboard, /docs, /redoc): shells whose scripts send the key kept in the tab."""


#: connections of the async Redis pool (event streams' short reads); streams are not bounded by it
ASYNC_REDIS_CONNECTIONS = 32


def create_app(settings: Settings | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    """The app for ``settings`` (default: the environment's); ``clock`` is the rate limiter's wall clock."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await app.state.events.close()
        await app.state.aredis.aclose()

    # /openapi.json, /docs and /redoc are app.api.docs' (served offline, the document behind the API key)
    app = FastAPI(
        title="spindiff",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = JobStore.from_url(settings.redis, settings.retention_s)
    # Async Redis for the event streams: short calls only (the one blocking XREAD is the hub's own
    # connection), from a pool that makes a burst wait for a free connection instead of failing.
    app.state.aredis = aredis.Redis(
        connection_pool=aredis.BlockingConnectionPool.from_url(
            settings.redis,
            max_connections=ASYNC_REDIS_CONNECTIONS,
            timeout=10,
            health_check_interval=30,
            socket_timeout=30,
            socket_connect_timeout=5,
        )
    )
    app.state.events = EventHub(settings.redis, app.state.aredis)
    app.state.celery = make_celery(settings)
    app.state.rate_limiter = RateLimiter(app.state.store.r, settings.rate_limit_per_minute, clock)
    errors.install(app)
    for module in (generations, events, sweeps, catalog, health):
        app.include_router(module.router)
    dashboard.install(app)  # the dashboard at /
    docs.install(app)  # the API reference at /docs and /redoc
    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    return app
