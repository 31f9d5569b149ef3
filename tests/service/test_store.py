"""worker/store.py against a real Redis: atomic transitions, idempotency, the cap, attempts, retention."""

from __future__ import annotations

import time

import pytest

from worker import metrics_store, registry
from worker.store import JobStore

REQUEST = {"num_images": 2, "steps": 3}


@pytest.fixture()
def store(redis_client):
    return JobStore(redis_client, retention_s=3600)


def make(store, job_id="a", **kwargs):
    return store.create(job_id, REQUEST, profile_label="software", body_hash="h-" + job_id, **kwargs)


def test_create_then_read(store):
    assert make(store).outcome == "created"
    job = store.get("a")
    assert job["status"] == "queued" and job["request"] == REQUEST and job["attempts"] == 0 and job["created_at"] > 0
    assert 0 < store.r.ttl(store.job_key("a")) <= 3600
    assert [e[1] for e in store.events("a")] == ["queued"]
    assert store.get("missing") is None and store.counts()["queued"] == 1


def test_idempotency_key_returns_the_first_job_and_its_hash(store):
    assert make(store, "a", idempotency_key="k").outcome == "created"
    again = store.create("b", REQUEST, profile_label="software", body_hash="other", idempotency_key="k")
    assert (again.outcome, again.job_id, again.body_hash) == ("existing", "a", "h-a")
    assert not store.exists("b")


def test_queue_cap_refuses_without_writing(store):
    make(store, "a", queue_cap=1)
    full = make(store, "b", queue_cap=1)
    assert full.outcome == "full" and full.depth == 1 and not store.exists("b")
    assert make(store, "c", queue_cap=0).outcome == "created"  # 0: no cap


def test_begin_counts_attempts_and_fails_past_the_cap(store):
    make(store)
    assert store.begin("a", 2, {"pid": 1}) == ("started", "1")
    assert store.begin("a", 2, {"pid": 2}) == ("started", "2")  # redelivered while running
    assert store.get("a")["worker"] == {"pid": 2}
    assert store.begin("a", 2, {"pid": 3}) == ("exhausted", "2")
    job = store.get("a")
    assert job["status"] == "failed" and job["error"]["code"] == "worker_lost" and job["attempts"] == 2
    assert store.begin("a", 2, {}) == ("skip", "failed")
    assert store.counts() == {"queued": 0, "running": 0, "succeeded": 0, "failed": 1, "cancelled": 0}


def test_a_stale_attempt_cannot_write(store):
    make(store)
    store.begin("a", 3, {})
    store.begin("a", 3, {})  # attempt 2 took over
    assert store.progress("a", 1, {"step": 1}, None) == "stale"
    assert store.finish("a", 1, "succeeded", {}, {"status": "succeeded"}) == "stale"
    assert store.progress("a", 2, {"step": 1, "total": 3}, {"step": 1}) == "0"
    assert store.finish("a", 2, "succeeded", {"telemetry": {"x": 1}}, {"status": "succeeded"}) == "ok"
    job = store.get("a")
    assert job["status"] == "succeeded" and job["telemetry"] == {"x": 1} and job["finished_at"] >= job["started_at"]


def test_cancel_queued_running_and_finished(store):
    make(store, "q")
    assert store.cancel("q") == ("cancelled", "queued")
    assert store.begin("q", 3, {}) == ("skip", "cancelled")
    make(store, "r")
    store.begin("r", 3, {})
    assert store.cancel("r") == ("requested", "running") and store.cancel_requested("r")
    assert store.progress("r", 1, {"step": 1}, None) == "1"  # the worker sees the flag
    store.finish("r", 1, "cancelled", {}, {"status": "cancelled"})
    assert store.cancel("r") == ("terminal", "cancelled") and store.cancel("nope") == ("missing", "")


def test_transition_refuses_a_status_it_is_not_allowed_from(store):
    make(store)
    assert store.transition("a", ("running",), "succeeded") == ("conflict", "queued")
    assert store.fail_unless_finished("a", "enqueue_failed", "broker down") == "ok"
    assert store.get("a")["error"]["code"] == "enqueue_failed"
    assert store.fail_unless_finished("a", "x", "y") == "conflict"


def test_listing_pages_and_forgets_expired_jobs(store):
    for name in "abcde":
        make(store, name)
    page, cursor = store.list(limit=2)
    assert [j["id"] for j in page] == ["e", "d"]
    page, cursor = store.list(limit=2, before=cursor)
    assert [j["id"] for j in page] == ["c", "b"]
    store.r.delete(store.job_key("a"))  # as if expired by retention
    page, cursor = store.list(limit=2, before=cursor)
    assert page == [] and cursor is None
    assert store.r.zscore("spindiff:jobs", "a") is None
    store.r.delete(store.job_key("b"))
    assert store.prune() == 1 and store.counts()["queued"] == 3


def test_finished_jobs_expire_after_the_retention(store):
    short = JobStore(store.r, retention_s=2)
    short.create("t", REQUEST, profile_label="software", body_hash="h")
    short.begin("t", 3, {})
    short.put_images("t", [b"png"], b"grid")
    short.finish("t", 1, "succeeded", {}, {"status": "succeeded"})
    for key in (short.job_key("t"), short.events_key("t"), short.images_key("t")):
        assert 0 < short.r.pttl(key) <= 2000
    time.sleep(2.2)
    assert short.get("t") is None and short.image("t", "0") is None


def test_worker_registry_and_metrics(store):
    registry.beat(store.r, "w1@host", {"concurrency": 2}, ttl_s=0.3)
    assert [w["hostname"] for w in registry.alive(store.r)] == ["w1@host"]
    time.sleep(0.4)
    assert registry.alive(store.r) == []
    metrics_store.record_job(store.r, "succeeded", 3.0, 4, "vcma-default", 2e-6)
    metrics_store.record_job(store.r, "succeeded", 70.0, 4, "vcma-default", None)
    snap = metrics_store.snapshot(store.r)
    duration = snap["duration"]["succeeded"]
    assert duration["count"] == 2 and duration["sum"] == 73.0
    assert (
        dict(duration["buckets"])["5.0"] == 1
        and dict(duration["buckets"])["120.0"] == 2
        and duration["buckets"][-1] == ("+Inf", 2)
    )
    assert snap["images"] == {"vcma-default": 8} and snap["energy"]["vcma-default"]["count"] == 1


def test_running_jobs_without_a_heartbeat_are_failed_as_stale(store):
    make(store, "old")
    make(store, "fresh")
    store.begin("old", 3, {})
    store.begin("fresh", 3, {})
    store.r.hset(store.job_key("old"), "heartbeat_at", repr(time.time() - 500))
    assert store.reap_stale(stale_after_s=300) == ["old"]
    old = store.get("old")
    assert (
        old["status"] == "failed" and old["error"]["code"] == "stale" and "submit it again" in old["error"]["message"]
    )
    assert store.get("fresh")["status"] == "running"
