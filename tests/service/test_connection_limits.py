"""The API's connections are bounded (issue 16: half-sent requests were never timed out; nothing capped the
connections): app/api/connections.py under a real uvicorn server on loopback, as `spindiff serve` runs it.

A slowloris client that trickles its headers is answered 408 and cut after SPINDIFF_HEADER_TIMEOUT_S; an idle
kept-alive connection is closed after SPINDIFF_KEEP_ALIVE_S; past SPINDIFF_MAX_CONNECTIONS a request is answered
503 in the error shape; and under overload (200 concurrent submissions, a queue cap of 20, a cap of 60 connections)
every client gets 202, 429 or 503 and exactly the 202s are queued."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from app.api.connections import uvicorn_options
from app.api.main import create_app
from tests.service.helpers import TINY
from worker.settings import Settings
from worker.store import JobStore

pytestmark = pytest.mark.drill


@pytest.fixture()
def serve_api(redis_server, redis_client, clean_env):
    """``serve_api(**settings) -> (port, store)``: the app under uvicorn with `uvicorn_options`, in a thread."""
    servers = []

    def start(**values):
        db = redis_client.connection_pool.connection_kwargs["db"]
        settings = Settings(redis_url=f"redis://127.0.0.1:{redis_server.port}/{db}", rate_limit_per_minute=0, **values)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(settings)
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        return port, JobStore(redis_client)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(15)


def _read_until_closed(conn: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """What the server sends until it closes the connection (or ``limit_s`` passes), and when it closed."""
    started, answer = time.monotonic(), b""
    conn.settimeout(0.2)
    while time.monotonic() - started < limit_s:
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            return answer, time.monotonic() - started
        answer += chunk
    return answer, float("inf")


def _error(answer: bytes) -> dict:
    return json.loads(answer.partition(b"\r\n\r\n")[2])["error"]


def test_a_slowloris_client_is_answered_408_and_cut_after_the_header_timeout(serve_api):
    port, _ = serve_api(header_timeout_s=1.0)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        answer = b""
        # one header byte every 0.2 s, as a slowloris client sends them, for up to 4 s
        for byte in b"Host: 127.0.0.1\r\nX-Slow: " + b"a" * 20:
            try:
                conn.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            conn.settimeout(0.2)
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            answer += chunk
            break
        rest, _ = _read_until_closed(conn, 3)
        answer += rest
        cut_after = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    error = _error(answer)
    assert error["code"] == "header_timeout" and "SPINDIFF_HEADER_TIMEOUT_S" in error["message"]
    assert 0.9 < cut_after < 2.5, cut_after
    print(f"slowloris: 408 and cut {cut_after:.2f} s after its first byte (header timeout 1 s)")


def test_a_connection_that_sends_nothing_is_closed_silently_and_a_kept_alive_one_after_its_idle_time(serve_api):
    port, _ = serve_api(header_timeout_s=1.0, keep_alive_s=0.5)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        answer, closed_after = _read_until_closed(conn, 3)
    assert answer == b"" and 0.9 < closed_after < 2.5, closed_after
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer, closed_after = _read_until_closed(conn, 3)
    assert answer.startswith(b"HTTP/1.1 200") and closed_after < 1.5, closed_after  # keep-alive 0.5 s, then closed


def test_the_next_request_on_a_kept_alive_connection_has_the_header_timeout_too(serve_api):
    port, _ = serve_api(header_timeout_s=1.0, keep_alive_s=30)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(5)
        first = conn.recv(4096)
        assert first.startswith(b"HTTP/1.1 200"), first
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        started = time.monotonic()
        answer, _ = _read_until_closed(conn, 3)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408") and 0.9 < waited < 2.5, (answer[:100], waited)


def test_past_the_connection_cap_a_request_is_answered_503_in_the_error_shape(serve_api):
    port, _ = serve_api(max_connections=3, header_timeout_s=10)
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    try:
        time.sleep(0.2)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            refused = client.get("/healthz")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        error = refused.json()["error"]
        assert error["code"] == "too_many_connections" and "SPINDIFF_MAX_CONNECTIONS" in error["message"]
        idle.pop().close()
        time.sleep(0.2)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/healthz").status_code == 200  # a freed slot serves again
    finally:
        for conn in idle:
            conn.close()


def test_overload_every_client_gets_an_answer_and_exactly_the_admitted_jobs_are_queued(serve_api):
    port, store = serve_api(queue_cap=20, max_connections=60)
    clients = 200

    async def main():
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
            started = time.monotonic()
            answers = await asyncio.gather(*(client.post("/v1/generations", json=TINY) for _ in range(clients)))
            return answers, time.monotonic() - started

    outcome: list = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(main())))  # as in test_many_streams
    runner.start()
    runner.join(120)
    assert outcome, "the clients did not finish (see the thread's traceback above)"
    answers, seconds = outcome[0]
    codes = [a.status_code for a in answers]
    assert set(codes) <= {202, 429, 503}, sorted(set(codes))
    for answer in answers:
        if answer.status_code != 202:
            assert answer.json()["error"]["code"] in ("queue_full", "too_many_connections")
            assert "retry-after" in answer.headers
    admitted = {a.json()["id"] for a in answers if a.status_code == 202}
    assert len(admitted) == 20 and store.counts()["queued"] == 20
    assert store.r.llen("spindiff") == 20  # Celery's queue holds the admitted jobs, nothing else
    print(
        json.dumps(
            {"clients": clients, "202": codes.count(202), "429": codes.count(429), "503": codes.count(503)}
            | {"seconds": round(seconds, 2)}
        )
    )
