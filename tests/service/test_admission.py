"""Admission control: past SPINDIFF_QUEUE_CAP, 429 with Retry-After and nothing enqueued."""

from __future__ import annotations

from tests.service.helpers import TINY, submit


def test_queue_cap_answers_429_and_enqueues_nothing(make_service):
    svc = make_service({"SPINDIFF_QUEUE_CAP": "2"}).start_api()  # no worker: jobs stay queued
    with svc.client() as client:
        first, second = submit(client), submit(client)
        response = client.post("/v1/generations", json=TINY)
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert (
            response.json()["error"]["code"] == "queue_full"
            and "nothing was queued" in response.json()["error"]["message"]
        )
        assert svc.store.counts()["queued"] == 2
        assert svc.redis.llen("spindiff") == 2  # Celery's queue holds the two admitted jobs only
        assert {j["id"] for j in client.get("/v1/generations").json()["items"]} == {first["id"], second["id"]}

        # a cancelled queued job frees its slot at once
        assert client.post(f"/v1/generations/{first['id']}/cancel").json()["status"] == "cancelled"
        assert client.post("/v1/generations", json=TINY).status_code == 202


def test_readyz_is_503_without_a_worker_and_says_how_to_fix_it(make_service):
    svc = make_service().start_api()
    with svc.client() as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["redis"]["ok"] is True and checks["workers"]["alive"] == 0
        assert "spindiff worker" in checks["workers"]["message"]
