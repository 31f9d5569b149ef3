"""A whole worker lost mid-job (issue 16: the job stayed 'running' for the 4-hour visibility timeout and a cancel
answered 202 and did nothing). With the default visibility timeout, a live worker's beat requeues the job once
its worker is gone and it has had no progress for SPINDIFF_LOST_AFTER_S, and a cancel ends such a job at once.

In process (worker/store.py recover_lost, cancel_if_worker_lost) and on the real cluster (a worker group
SIGKILLed, a new worker started)."""

from __future__ import annotations

import time

import pytest

from tests.service.helpers import TINY, job, submit, wait_progress, wait_status
from worker import registry

SLOW = {"num_images": 16, "steps": 60, "hardware": "software", "quality": {"enabled": False}}
HOST = registry.identity()["host"]


def _running(store, job_id: str, ppid: int, beat_age_s: float) -> None:
    """Make a queued job running on the worker whose parent is ``ppid``, its last heartbeat ``beat_age_s`` ago."""
    assert store.begin(job_id, 3, {"host": HOST, "pid": 999_999, "ppid": ppid})[0] == "started"
    store.r.hset(store.job_key(job_id), "heartbeat_at", repr(time.time() - beat_age_s))


def test_a_job_on_a_gone_worker_is_requeued_once_and_one_on_a_live_worker_is_not(api):
    store = api.store
    live = [{"host": HOST, "pid": 4242, "hostname": "w@x"}]
    lost, alive, fresh = (submit(api.client, TINY)["id"] for _ in range(3))
    _running(store, lost, ppid=1111, beat_age_s=120)  # its worker (parent 1111) does not beat
    _running(store, alive, ppid=4242, beat_age_s=600)  # slow, but its worker beats
    _running(store, fresh, ppid=1111, beat_age_s=5)  # gone worker, but within the grace
    assert store.recover_lost(live, lost_after_s=60) == [lost]
    assert store.recover_lost(live, lost_after_s=60) == []  # a second worker recovering finds nothing
    assert [store.status(j) for j in (lost, alive, fresh)] == ["queued", "running", "running"]
    kinds = [e[1] for e in store.events(lost)]
    assert kinds[-1] == "queued" and store.get(lost)["attempts"] == 1  # the next delivery counts attempt 2


def test_cancel_ends_a_job_whose_worker_is_gone_at_once(api):
    job_id = submit(api.client, TINY)["id"]
    _running(api.store, job_id, ppid=1111, beat_age_s=0)
    response = api.client.post(f"/v1/generations/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    live_one = submit(api.client, TINY)["id"]
    registry.beat(api.redis, "w@live", {"host": HOST, "pid": 4242}, ttl_s=60)
    _running(api.store, live_one, ppid=4242, beat_age_s=0)
    requested = api.client.post(f"/v1/generations/{live_one}/cancel")
    assert requested.status_code == 202 and api.store.status(live_one) == "running"  # its worker will see the flag


@pytest.mark.drill
def test_a_killed_whole_worker_s_job_finishes_on_a_new_worker_within_two_minutes(make_service):
    svc = make_service({"SPINDIFF_LOST_AFTER_S": "5"}).start_api()  # the default visibility timeout: 4 h
    svc.start_worker()
    with svc.client() as client:
        created = submit(client, SLOW)
        wait_progress(client, created["id"], step=2)
        svc.kill_group(svc.workers[0])  # parent and pool process: nothing acks, nothing requeues
        killed_at = time.monotonic()
        assert job(client, created["id"])["status"] == "running"
        svc.start_worker()
        done = wait_status(client, created["id"], ("succeeded", "failed"), timeout=180)
        recovered_s = time.monotonic() - killed_at
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert recovered_s < 120, recovered_s
    print(f"whole worker lost: job succeeded {recovered_s:.0f} s after the kill")
