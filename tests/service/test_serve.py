"""``spindiff serve``: one command starts Redis, a worker and the API, and one Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis

from app.embedded_redis import free_port
from tests.service.cluster import BASE_ENV, REPO, clean_environ
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
    port = free_port()
    env = {**clean_environ(), **BASE_ENV, "SPINDIFF_DATA_DIR": str(tmp_path / "data")}  # no REDIS_URL: embedded Redis
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--concurrency", "1"],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready():
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(url + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(
            ready, timeout=120, message="spindiff serve did not become ready", on_fail=lambda: print(log.read_text())
        )
        text = log.read_text()
        assert f"spindiff is at http://127.0.0.1:{port}/" in text
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
