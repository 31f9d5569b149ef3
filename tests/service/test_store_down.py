"""With Redis unreachable every route that needs it answers 503 in the error shape, with Retry-After, and the
connection stays open (issue 16: the API answered 500 internal_error and closed keep-alive connections)."""

from __future__ import annotations

import socket
import warnings

import pytest

from app.api.main import create_app
from worker.settings import Settings

pytestmark = pytest.mark.drill  # Redis unreachable

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient


@pytest.fixture()
def no_redis(clean_env):
    """An API whose Redis URL points at a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/generations", {"num_images": 1, "steps": 1, "hardware": "software"}),
        ("get", "/v1/generations", None),
        ("get", "/v1/generations/abc", None),
        ("post", "/v1/generations/abc/cancel", None),
        ("post", "/v1/sweeps", {"axes": {"crossbar.adc_bits": [6, 8]}, "num_images": 1, "steps": 1}),
        ("get", "/v1/sweeps", None),
        ("get", "/metrics", None),
    ],
)
def test_every_store_route_answers_503_with_the_error_shape(no_redis, method, path, body):
    response = getattr(no_redis, method)(path, **({"json": body} if body is not None else {}))
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "store_unavailable" and "Redis" in error["message"] and error["field"] is None
    assert response.headers["Retry-After"] == "5" and response.headers.get("connection") != "close"


def test_liveness_stays_up_and_readiness_says_why(no_redis):
    assert no_redis.get("/healthz").status_code == 200
    ready = no_redis.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"]["ok"] is False
