"""Fixtures of the service tests: the Redis server; in-process APIs over it; the subprocess cluster.

Two layers, one real Redis (`app.embedded_redis.EmbeddedRedis`, one server per test session):

* ``api`` / ``make_api``: the FastAPI app of `app.api.main.create_app` in this process, driven by
  Starlette's `TestClient`, on a Redis database of its own. Real store, real Lua scripts, real
  Celery client (``send_task`` puts the message on the Redis queue), no worker. For what the API
  answers over HTTP: validation, auth and rate limits, admission, listing, catalog, health, metrics.
* ``service`` / ``make_service``: API and worker processes (`tests.service.cluster.Service`), for
  the claims that need a real Celery worker: generations end to end, SSE progress, cancelling a
  running job, redelivery after a lost worker, the README's walk-through.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass

import pytest
import redis
from fastapi import FastAPI

from app.api.main import create_app
from app.embedded_redis import EmbeddedRedis
from tests.service.cluster import Service, next_db
from worker.settings import Settings
from worker.store import JobStore

with warnings.catch_warnings():  # Starlette 1.x would rather drive it with httpx2; httpx (the dev extra) still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture()
def redis_client(redis_server):
    """A client of an emptied Redis database of the session's server (never the shared service's, 0)."""
    client = redis.Redis.from_url(f"redis://127.0.0.1:{redis_server.port}/{next_db()}")
    client.flushdb()
    yield client
    client.close()


@dataclass
class Api:
    """An app of `create_app` in this process: its HTTP client, its settings and its job store."""

    app: FastAPI
    client: TestClient
    settings: Settings

    @property
    def store(self) -> JobStore:
        return self.app.state.store

    @property
    def redis(self) -> redis.Redis:
        return self.store.r


@pytest.fixture()
def clean_env(monkeypatch):
    """No ``SPINDIFF_*`` or ``REDIS_URL`` of the developer's during the test, so that `Settings` built in
    this process are the defaults plus what the test names (`tests.service.cluster` does the same for
    the processes it starts)."""
    for name in list(os.environ):
        if name.startswith("SPINDIFF_") or name == "REDIS_URL":
            monkeypatch.delenv(name)


@pytest.fixture()
def make_api(redis_server, clean_env):
    """``make_api(clock=time.time, **settings)``: in-process APIs, each on an emptied Redis database, closed after the test."""
    made: list[Api] = []

    def make(clock=time.time, **values) -> Api:
        """``clock``: the rate limiter's (a `tests.service.helpers.Clock` steps it); ``values``: `Settings` fields."""
        url = f"redis://127.0.0.1:{redis_server.port}/{next_db()}"
        settings = Settings(redis_url=url, **values)
        app = create_app(settings, clock=clock)
        app.state.store.r.flushdb()
        client = TestClient(app, raise_server_exceptions=True)
        client.__enter__()  # runs the lifespan: the async Redis of the SSE route closes on exit
        made.append(Api(app, client, settings))
        return made[-1]

    yield make
    for api in made:
        api.client.__exit__(None, None, None)
        api.store.r.close()
        api.app.state.celery.close()


@pytest.fixture()
def api(make_api) -> Api:
    """An in-process API with the default settings (no API keys, queue cap 100)."""
    return make_api()


@pytest.fixture(scope="session")
def service(redis_server, tmp_path_factory):
    """The shared service: one API, one worker (one process, one thread), default settings."""
    svc = Service(redis_server, 0, tmp_path_factory.mktemp("service"))
    try:
        svc.start_api()
        svc.start_worker()
        yield svc
    finally:
        svc.stop()


@pytest.fixture()
def make_service(redis_server, tmp_path, request):
    """Services with their own settings and Redis database, stopped after the test."""
    made = []

    def make(env: dict | None = None) -> Service:
        svc = Service(redis_server, next_db(), tmp_path / f"svc{len(made)}", env)
        svc.log_dir.mkdir()
        made.append(svc)
        return svc

    yield make
    for svc in made:
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            svc.dump_logs()
        svc.stop()
