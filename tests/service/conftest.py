"""Fixtures of the service tests: the Redis server, the shared service, services with own settings."""

from __future__ import annotations

import pytest

from app.embedded_redis import EmbeddedRedis
from tests.service.cluster import Service, next_db


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server


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
