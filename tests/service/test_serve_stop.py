"""Stopping ``spindiff serve`` checkpoints and requeues a job still running after ``--grace``, without counting an
attempt; the next start resumes it, and lets it finish when stopped within its grace (issue 16: the stop signal
reached the worker's pool processes too, so the job died and restarted from step 0 whatever the grace period said,
and three restarts during one job ended it failed/worker_lost)."""

from __future__ import annotations

import signal
import time

import httpx
import pytest
import redis

from app.embedded_redis import EmbeddedRedis
from tests.service.cluster import start_serve
from tests.service.helpers import wait_until

pytestmark = pytest.mark.drill

SLOW = {"num_images": 4, "steps": 100, "hardware": "software", "quality": {"enabled": False}}


def stored(tmp_path, job_id: str) -> tuple[dict, bytes | None]:
    """The job's record and checkpoint, read from the append-only file serve's Redis left behind."""
    with EmbeddedRedis(tmp_path / "data" / "redis") as server:
        client = redis.Redis.from_url(server.url)
        record = {k.decode(): v.decode() for k, v in client.hgetall(f"spindiff:job:{job_id}").items()}
        return record, client.get(f"spindiff:job:{job_id}:checkpoint")


def progress(client: httpx.Client, job_id: str) -> int:
    return (client.get(f"/v1/generations/{job_id}").json()["progress"] or {}).get("step", 0)


def stop(serve) -> tuple[int, float]:
    """SIGTERM to serve (what Ctrl-C and a service manager send): (exit status, seconds it took)."""
    started = time.monotonic()
    serve.proc.send_signal(signal.SIGTERM)
    try:
        return serve.proc.wait(timeout=150), time.monotonic() - started
    finally:
        if serve.proc.poll() is None:
            serve.proc.kill()


def test_a_job_past_the_grace_is_checkpointed_then_resumed_and_finished_within_the_next_grace(tmp_path):
    first = start_serve(tmp_path, "--grace", "1")
    try:
        first.wait_ready()
        with httpx.Client(base_url=first.url, timeout=30) as client:
            job_id = client.post("/v1/generations", json=SLOW).json()["id"]
            wait_until(lambda: progress(client, job_id) >= 5, timeout=120, message="the job did not start")
    finally:
        code, first_stop_s = stop(first)
    assert code == 0 and "its running job is checkpointed" in first.text(), first.text()[-3000:]
    record, checkpoint = stored(tmp_path, job_id)
    assert record["status"] == "queued" and record["attempts"] == "0" and record["stops"] == "1", record
    assert checkpoint is not None

    second = start_serve(tmp_path, "--grace", "120")  # the same data directory: the job is still queued
    try:
        second.wait_ready()
        with httpx.Client(base_url=second.url, timeout=30) as client:
            wait_until(lambda: progress(client, job_id) > 5, timeout=120, message="the job did not resume")
    finally:
        code, second_stop_s = stop(second)  # within its grace: the job finishes before the worker stops
    assert code == 0, second.text()[-3000:]
    record, checkpoint = stored(tmp_path, job_id)
    assert record["status"] == "succeeded" and record["attempts"] == "1" and checkpoint is None, record
    assert '"from_step"' in record["resumed"] and second_stop_s < 140
    print(
        f"serve stopped past its grace: exited {first_stop_s:.1f} s after SIGTERM, job requeued (attempt not "
        f"counted); the next start resumed it ({record['resumed']}) and finished it within its grace"
    )
