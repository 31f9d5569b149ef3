"""/v1/generations in process (the ``api`` fixture, tests/service/conftest.py), no worker: hardware
overrides resolved and hashed, listing, idempotency, unknown ids, images before the end.

What needs a worker to run the job (events, images, telemetry, reproducibility) is in
tests/service/test_generations.py, against the real cluster."""

from __future__ import annotations

from device import profiles
from tests.service.helpers import TINY, submit


def test_overrides_are_applied_and_hashed(api):
    body = {**TINY, "hardware": {"profile": "ideal", "overrides": {"rng": {"dac_bits": 8}}}}
    created = submit(api.client, body)
    default = api.client.get("/v1/profiles/ideal").json()
    hardware = created["request"]["hardware"]
    assert hardware["profile_hash"] != default["hash"]
    assert hardware["profile_hash"] == profiles.resolve("ideal", {"rng": {"dac_bits": 8}}).hash
    assert hardware["overrides"] == {"rng": {"dac_bits": 8}}
    assert api.store.get(created["id"])["profile_label"] == "ideal+overrides"  # the metrics label


def test_listing_pages_newest_first_and_filters_by_status(api):
    client = api.client
    ids = [submit(client)["id"] for _ in range(3)]
    assert client.post(f"/v1/generations/{ids[1]}/cancel").json()["status"] == "cancelled"
    page = client.get("/v1/generations", params={"limit": 2}).json()
    assert [j["id"] for j in page["items"]] == ids[::-1][:2] and page["next_cursor"]
    assert page["items"][0]["telemetry"] is None and page["items"][0]["reproducibility"] is None  # lists stay small
    older = client.get("/v1/generations", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [j["id"] for j in older["items"]] == [ids[0]] and older["next_cursor"] is None
    cancelled = client.get("/v1/generations", params={"status": "cancelled"}).json()
    assert [j["id"] for j in cancelled["items"]] == [ids[1]]
    queued = client.get("/v1/generations", params={"status": "queued"}).json()
    assert [j["id"] for j in queued["items"]] == [ids[2], ids[0]]
    bad = client.get("/v1/generations", params={"status": "done"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"


def test_idempotency_key_returns_the_same_job_and_409_for_another_body(api):
    client = api.client
    headers = {"Idempotency-Key": "retry-me-1"}
    first = submit(client, TINY, headers)
    replay = client.post("/v1/generations", json=TINY, headers=headers)
    assert replay.status_code == 202 and replay.json()["id"] == first["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = client.post("/v1/generations", json={**TINY, "steps": 2}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"] == {
        "code": "idempotency_key_reused",
        "field": "Idempotency-Key",
        "message": other.json()["error"]["message"],
    }
    assert submit(client, TINY, {"Idempotency-Key": "retry-me-2"})["id"] != first["id"]
    assert api.store.counts()["queued"] == 2 and api.redis.llen(api.settings.queue) == 2  # the replay queued nothing


def test_unknown_ids_are_404_with_the_error_shape(api):
    for method, path in [
        ("GET", "/v1/generations/nope"),
        ("GET", "/v1/generations/nope/events"),
        ("POST", "/v1/generations/nope/cancel"),
        ("GET", "/v1/generations/nope/images/0.png"),
        ("GET", "/v1/profiles/nope"),
        ("GET", "/v1/nothing-here"),
    ]:
        response = api.client.request(method, path)
        assert response.status_code == 404, (path, response.text)
        error = response.json()["error"]
        assert set(error) == {"code", "message", "field"} and error["message"]
    assert api.client.get("/v1/generations/nope").json()["error"]["code"] == "job_not_found"


def test_images_of_an_unfinished_job_are_not_there_yet(api):
    created = submit(api.client)  # no worker: the job stays queued
    response = api.client.get(f"/v1/generations/{created['id']}/images/0.png")
    assert response.status_code == 404 and response.json()["error"]["code"] == "images_not_ready"
