"""Request bodies are bounded (issue 16: five 100 MB bodies took the API from 77 MB to 1.4 GB for a 422, and
half-sent requests were never timed out): app/api/limits.py, in process and over a real socket."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn

from app.api.main import create_app
from worker.settings import Settings

pytestmark = pytest.mark.drill  # oversized and stalled bodies


def test_a_declared_oversized_body_is_413_before_it_is_read(make_api):
    api = make_api(max_body_bytes=4096)
    response = api.client.post(
        "/v1/generations", content=b"{" + b" " * 10_000 + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert (
        error["code"] == "body_too_large" and "at most 4096" in error["message"] and "10002 bytes" in error["message"]
    )
    assert api.store.counts().get("queued", 0) == 0


def test_a_chunked_oversized_body_is_413_while_it_streams(make_api):
    api = make_api(max_body_bytes=4096)

    def chunks():
        yield b'{"num_images": 1, "pad": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}'

    response = api.client.post("/v1/generations", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"


def test_an_ordinary_body_passes(make_api):
    api = make_api(max_body_bytes=4096)
    response = api.client.post("/v1/generations", json={"num_images": 1, "steps": 1, "hardware": "software"})
    assert response.status_code == 202


@pytest.fixture()
def live_api(redis_server, clean_env):
    """The app under uvicorn on a loopback port, with a 1 s body timeout."""
    settings = Settings(redis_url=f"redis://127.0.0.1:{redis_server.port}/15", body_timeout_s=1.0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def test_a_stalled_body_is_answered_408_and_closed(live_api):
    with socket.create_connection(("127.0.0.1", live_api), timeout=10) as conn:
        body = json.dumps({"num_images": 1}).encode()
        conn.sendall(
            b"POST /v1/generations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:5]
        )  # and then nothing
        started = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"body_timeout"' in answer and 0.9 < waited < 5


def test_the_timeout_bounds_only_the_body_not_an_event_stream_that_follows(live_api):
    with socket.create_connection(("127.0.0.1", live_api), timeout=10) as conn:
        conn.sendall(b"GET /dashboard/jobs/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        answer, closed = b"", False
        deadline = time.monotonic() + 2.5  # past the 1 s body timeout
        conn.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                closed = True
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b"event: jobs" in answer
    assert not closed  # still streaming after the body timeout
