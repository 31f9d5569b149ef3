"""Retry-After on a full queue comes from the queue's measured drain rate (issue 16: it was 20–300× too long,
600 s when the queue drained in 2 s): worker/metrics_store.py drain_rate, app/api/routes/generations.py."""

from __future__ import annotations

import time

import pytest

from app.api.routes.generations import retry_after_s
from tests.service.helpers import TINY, submit
from worker import metrics_store


def _ends(client, times):
    client.zadd(metrics_store.FINISHED, {f"job-{t}": t for t in times})


def test_drain_rate_is_job_ends_per_second_over_the_window(redis_client):
    assert metrics_store.drain_rate(redis_client, now=1000.0) is None  # nothing finished yet
    _ends(redis_client, [990.0])
    assert metrics_store.drain_rate(redis_client, now=1000.0) is None  # one end is no rate
    _ends(redis_client, [992.0, 994.0, 996.0])
    assert metrics_store.drain_rate(redis_client, now=1000.0) == pytest.approx(0.5)  # 3 intervals over 6 s
    _ends(redis_client, [100.0])  # long ago: outside the 600 s window
    assert metrics_store.drain_rate(redis_client, now=1000.0) == pytest.approx(0.5)


def test_record_job_keeps_only_the_latest_ends(redis_client):
    for _ in range(metrics_store.FINISHED_KEPT + 20):
        metrics_store.record_job(redis_client, "succeeded", 0.1, 1, "software", None)
    assert redis_client.zcard(metrics_store.FINISHED) == metrics_store.FINISHED_KEPT


def test_a_fast_queue_is_told_seconds_not_minutes(make_api):
    api = make_api(queue_cap=2)
    submit(api.client), submit(api.client)
    now = time.time()
    _ends(api.redis, [now - 2.0 + 0.1 * k for k in range(21)])  # 20 jobs drained in 2 s: 10 jobs/s
    assert retry_after_s(api.store, 2) == 1  # clamped below at 1 s
    response = api.client.post("/v1/generations", json=TINY)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    api.redis.delete(metrics_store.FINISHED)
    _ends(api.redis, [now - 100.0, now - 50.0])  # one job per 50 s
    assert retry_after_s(api.store, 3) == 150
