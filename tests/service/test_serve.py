"""``spindiff serve``: one command starts Redis, a worker and the API, and one Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
import redis

from tests.service.cluster import start_serve
from tests.service.helpers import TINY, wait_until


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_runs_everything_and_stops_cleanly(tmp_path, stop_signal):
    serve = start_serve(tmp_path)
    proc, url, log = serve.proc, serve.url, serve.log
    try:
        serve.wait_ready()
        text = log.read_text()
        assert f"spindiff is at {url}/" in text
        redis_url = text.split("Redis ", 1)[1].split()[0]
        worker_pid = int(text.split("worker pid ", 1)[1].split(";")[0])
        with httpx.Client(base_url=url, timeout=30) as client:
            job = client.post("/v1/generations", json=TINY).json()
            wait_until(lambda: client.get(f"/v1/generations/{job['id']}").json()["status"] == "succeeded", 120)
        assert (tmp_path / "data" / "redis" / "redis.conf").read_text().count("appendonly yes") == 1
    finally:
        proc.send_signal(stop_signal)  # Ctrl-C, or what docker/systemd send
        code = proc.wait(timeout=90)
    assert code == 0, log.read_text()
    text = log.read_text()
    assert "[spindiff serve] stopped" in text
    assert "Traceback" not in text, text  # a stop is not a crash
    assert "SecurityWarning" not in text  # Celery's multi-line root warning, as one line (worker.celery_app)
    if os.geteuid() == 0:
        assert "[spindiff worker] running as root: accepted" in text
    assert not _alive(worker_pid)
    with pytest.raises(redis.ConnectionError):  # the embedded Redis has stopped too
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    assert any((tmp_path / "data" / "redis").glob("appendonly*")), "no AOF written"


def _loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def test_a_ctrl_c_while_serve_starts_is_one_line_not_a_traceback(tmp_path):
    serve = start_serve(tmp_path)
    # MarkupSafe's extension comes with Jinja2, among the API's imports (seconds before Redis starts)
    wait_until(lambda: _loaded(serve.proc.pid, "markupsafe/_speedups"), 30, 0.01, "serve never imported the API")
    serve.proc.send_signal(signal.SIGINT)
    code = serve.proc.wait(timeout=60)
    text = serve.text()
    assert "Traceback" not in text, text
    if "[spindiff serve] Redis" in text:  # it got further than its imports: the ordinary stop
        assert code == 0 and "[spindiff serve] stopped" in text, text
    else:
        assert code == 130 and text.strip().endswith("spindiff: interrupted (Ctrl-C)"), text
