"""Stopping ``spindiff serve`` lets a running job finish within ``--grace`` (issue 16: the stop signal reached the
worker's pool processes too, so the job died and restarted from step 0 whatever the grace period said)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import redis

from app.embedded_redis import EmbeddedRedis, free_port
from tests.service.cluster import BASE_ENV, REPO, clean_environ
from tests.service.helpers import wait_until

SLOW = {"num_images": 16, "steps": 150, "hardware": "software", "quality": {"enabled": False}}


def test_a_running_job_finishes_when_serve_is_stopped_within_its_grace(tmp_path):
    port = free_port()
    env = {**clean_environ(), **BASE_ENV, "SPINDIFF_DATA_DIR": str(tmp_path / "data")}
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--concurrency", "1", "--grace", "120"],
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

        wait_until(ready, timeout=120, message="serve not ready", on_fail=lambda: print(log.read_text()))
        with httpx.Client(base_url=url, timeout=30) as client:
            job_id = client.post("/v1/generations", json=SLOW).json()["id"]

            def running():
                job = client.get(f"/v1/generations/{job_id}").json()
                return job["status"] == "running" and (job["progress"] or {}).get("step", 0) >= 5

            wait_until(running, timeout=120, message="the job did not start")
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=180)
        waited = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, log.read_text()
    # read the job from the append-only file serve's Redis left behind
    with EmbeddedRedis(tmp_path / "data" / "redis") as server:
        record = redis.Redis.from_url(server.url).hgetall(f"spindiff:job:{job_id}")
    assert record[b"status"] == b"succeeded", (record.get(b"status"), log.read_text()[-3000:])
    assert record[b"attempts"] == b"1"  # finished by the attempt that was running, not restarted
    assert waited < 150
