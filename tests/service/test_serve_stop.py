"""Stopping ``spindiff serve`` lets a running job finish within ``--grace`` (issue 16: the stop signal reached the
worker's pool processes too, so the job died and restarted from step 0 whatever the grace period said)."""

from __future__ import annotations

import signal
import time

import httpx
import redis

from app.embedded_redis import EmbeddedRedis
from tests.service.cluster import start_serve
from tests.service.helpers import wait_until

SLOW = {"num_images": 16, "steps": 150, "hardware": "software", "quality": {"enabled": False}}


def test_a_running_job_finishes_when_serve_is_stopped_within_its_grace(tmp_path):
    serve = start_serve(tmp_path, "--grace", "120")
    try:
        serve.wait_ready()
        with httpx.Client(base_url=serve.url, timeout=30) as client:
            job_id = client.post("/v1/generations", json=SLOW).json()["id"]

            def running():
                job = client.get(f"/v1/generations/{job_id}").json()
                return job["status"] == "running" and (job["progress"] or {}).get("step", 0) >= 5

            wait_until(running, timeout=120, message="the job did not start")
        stopped_at = time.monotonic()
        serve.proc.send_signal(signal.SIGTERM)
        code = serve.proc.wait(timeout=180)
        waited = time.monotonic() - stopped_at
    finally:
        if serve.proc.poll() is None:
            serve.proc.kill()
    assert code == 0, serve.text()
    # read the job from the append-only file serve's Redis left behind
    with EmbeddedRedis(tmp_path / "data" / "redis") as server:
        record = redis.Redis.from_url(server.url).hgetall(f"spindiff:job:{job_id}")
    assert record[b"status"] == b"succeeded", (record.get(b"status"), serve.text()[-3000:])
    assert record[b"attempts"] == b"1"  # finished by the attempt that was running, not restarted
    assert waited < 150
