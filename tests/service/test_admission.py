"""Admission control: past SPINDIFF_QUEUE_CAP, 429 with Retry-After and nothing enqueued; /readyz
without a worker.

In process (``make_api``, tests/service/conftest.py), with no worker: admitted jobs stay queued, on
the real Redis queue Celery's client put them on."""

from __future__ import annotations

from tests.service.helpers import TINY, submit


def test_queue_cap_answers_429_and_enqueues_nothing(make_api):
    api = make_api(queue_cap=2)
    client = api.client
    first, second = submit(client), submit(client)
    response = client.post("/v1/generations", json=TINY)
    assert response.status_code == 429
    # no job has finished yet: 30 s a job (the assumed mean), two waiting, one slot (no worker beats)
    assert response.headers["Retry-After"] == "60"
    error = response.json()["error"]
    assert error["code"] == "queue_full" and "nothing was queued" in error["message"]
    assert api.store.counts()["queued"] == 2
    assert api.redis.llen("spindiff") == 2  # Celery's queue holds the two admitted jobs only
    assert {j["id"] for j in client.get("/v1/generations").json()["items"]} == {first["id"], second["id"]}

    # a cancelled queued job frees its slot at once
    assert client.post(f"/v1/generations/{first['id']}/cancel").json()["status"] == "cancelled"
    assert client.post("/v1/generations", json=TINY).status_code == 202


def test_readyz_is_503_without_a_worker_and_says_how_to_fix_it(api):
    response = api.client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["ok"] is True and checks["workers"]["alive"] == 0
    assert "spindiff worker" in checks["workers"]["message"]
