"""``spindiff serve`` supervises its children (issue 16: when the worker or redis-server died, the API kept
accepting jobs that stayed queued forever): a killed worker or Redis is restarted with a log line saying why,
/readyz says not-ready meanwhile, and jobs run again after."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx

from app.embedded_redis import free_port
from tests.service.cluster import BASE_ENV, REPO, clean_environ
from tests.service.helpers import TINY, wait_until


def test_a_killed_worker_and_a_killed_redis_are_restarted(tmp_path):
    port = free_port()
    env = {**clean_environ(), **BASE_ENV, "SPINDIFF_DATA_DIR": str(tmp_path / "data")}
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

    def ready():
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def a_job_succeeds():
        with httpx.Client(base_url=url, timeout=30) as client:
            job_id = client.post("/v1/generations", json=TINY).json()["id"]
            wait_until(lambda: client.get(f"/v1/generations/{job_id}").json()["status"] == "succeeded", 180)

    try:
        wait_until(ready, timeout=120, message="serve not ready", on_fail=lambda: print(log.read_text()))
        a_job_succeeds()
        worker_pid = int(re.search(r"worker pid (\d+)", log.read_text()).group(1))
        os.killpg(worker_pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: "worker restarted" in log.read_text(), 30, message="no worker restart")
        assert "the worker exited (code -9); restarting it" in log.read_text()
        wait_until(ready, timeout=120, message="not ready after the worker restart")
        a_job_succeeds()
        worker_back_s = time.monotonic() - killed

        redis_pid = int(re.search(r"Redis \S+ pid (\d+)", log.read_text()).group(1))
        os.kill(redis_pid, signal.SIGKILL)
        wait_until(lambda: "redis restarted" in log.read_text(), 30, message="no Redis restart")
        wait_until(ready, timeout=120, message="not ready after the Redis restart")
        a_job_succeeds()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    assert code == 0, log.read_text()[-3000:]
    print(f"worker killed: serving again (a job done) {worker_back_s:.0f} s later")
