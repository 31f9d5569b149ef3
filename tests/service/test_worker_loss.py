"""A worker killed mid-job (SIGKILL): the job is redelivered and finishes, or fails with the reason
after the attempt cap, or at the time limit; it is never left ``running``.

These services run short limits: SPINDIFF_MAX_ATTEMPTS=2, a 30 s hard time limit (24 s soft) and a
35 s visibility timeout, and store a sampler checkpoint after every step (SPINDIFF_CHECKPOINT_INTERVAL_S=0),
so a redelivered job resumes from the last step its killed process finished. A job whose whole worker died (nothing acknowledges or rejects it) is
recovered by the live workers' beats within a minute at default settings: tests/service/test_lost_worker.py.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.service.helpers import job, submit, wait_status, wait_until

pytestmark = pytest.mark.drill  # pool process SIGKILLed, attempt cap, time limit

FRAGILE = {
    "SPINDIFF_MAX_ATTEMPTS": "2",
    "SPINDIFF_TIME_LIMIT_S": "30",
    "SPINDIFF_VISIBILITY_TIMEOUT_S": "35",
    "SPINDIFF_RESTORE_INTERVAL_S": "1",
    "SPINDIFF_CHECKPOINT_INTERVAL_S": "0",
}
# long enough to be killed mid-way (≈ 0.1 s a step on one thread), well inside the time limit
SLOW = {"num_images": 16, "steps": 40, "hardware": "software", "quality": {"enabled": False}}


@pytest.fixture()
def fragile(make_service):
    svc = make_service(FRAGILE).start_api()
    svc.start_worker()
    return svc


def kill_the_pool_process(client, job_id: str, attempt: int) -> None:
    """SIGKILL the pool process running ``attempt`` of the job, once it is two steps in."""

    def in_attempt():
        current = job(client, job_id)
        assert current["status"] in ("queued", "running"), current
        return current if current["attempts"] == attempt and current["progress"]["step"] >= 2 else None

    current = wait_until(in_attempt, 120, 0.05, f"attempt {attempt} of job {job_id} did not start")
    os.kill(current["worker"]["pid"], signal.SIGKILL)


def test_killed_pool_process_redelivers_the_job_which_then_resumes_and_finishes(fragile):
    with fragile.client() as client:
        created = submit(client, SLOW)
        kill_the_pool_process(client, created["id"], attempt=1)
        killed_at = time.monotonic()
        done = wait_status(client, created["id"], ("succeeded", "failed"), timeout=180)
        recovered_s = time.monotonic() - killed_at
        assert done["status"] == "succeeded" and done["attempts"] == 2
        assert done["progress"]["step"] == 40 and len(done["images"]) == 16
        kinds = [e[1] for e in fragile.store.events(created["id"])]
        assert kinds.count("running") == 2  # a second delivery ...
        assert done["resumed"]["from_step"] >= 2 and done["telemetry"]["resumed"]["from_step"] >= 2  # ... resumed
    print(
        f"pool process SIGKILLed: job resumed from step {done['resumed']['from_step']}, done {recovered_s:.1f} s later"
    )


def test_attempt_cap_fails_the_job_with_the_reason(fragile):
    with fragile.client() as client:
        created = submit(client, SLOW)
        kill_the_pool_process(client, created["id"], attempt=1)
        kill_the_pool_process(client, created["id"], attempt=2)
        done = wait_status(client, created["id"], ("succeeded", "failed"), timeout=180)
        assert done["status"] == "failed" and done["error"]["code"] == "worker_lost"
        assert "lost 2 time(s)" in done["error"]["message"] and "SPINDIFF_MAX_ATTEMPTS=2" in done["error"]["message"]
        assert done["finished_at"] is not None
        assert fragile.store.counts()["running"] == 0
        # the worker is healthy again and takes the next job
        wait_status(client, submit(client, {**SLOW, "steps": 2})["id"], "succeeded", timeout=180)


def test_a_job_past_the_soft_time_limit_fails_with_the_reason(make_service):
    svc = make_service({**FRAGILE, "SPINDIFF_TIME_LIMIT_S": "10", "SPINDIFF_VISIBILITY_TIMEOUT_S": "15"}).start_api()
    svc.start_worker()  # soft limit 8 s
    with svc.client() as client:
        created = submit(client, {**SLOW, "num_images": 64, "steps": 1000})
        done = wait_status(client, created["id"], ("succeeded", "failed"), timeout=120)
        assert done["status"] == "failed" and done["error"]["code"] == "time_limit", done
        assert svc.store.counts()["running"] == 0
        assert "SPINDIFF_SOFT_TIME_LIMIT_S" in done["error"]["message"]
