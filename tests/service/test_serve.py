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
    assert "[spindiff serve] stopped" in log.read_text()
    assert not _alive(worker_pid)
    with pytest.raises(redis.ConnectionError):  # the embedded Redis has stopped too
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    assert any((tmp_path / "data" / "redis").glob("appendonly*")), "no AOF written"
