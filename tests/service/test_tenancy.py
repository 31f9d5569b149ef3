"""Jobs and sweeps belong to the API key that made them (issue 16: key B listed, read, downloaded and cancelled
key A's jobs). Another key gets 404 on every route, as for an unknown id; an admin key sees everything."""

from __future__ import annotations

import pytest

from tests.service.helpers import TINY

A, B, ADMIN = ({"Authorization": f"Bearer {k}"} for k in ("key-a", "key-b", "key-admin"))
SWEEP = {"profile": "vcma-default", "axes": {"crossbar.adc_bits": [6, 8]}, "num_images": 1, "steps": 1}


@pytest.fixture()
def tenants(make_api):
    return make_api(api_keys="key-a,key-b", admin_api_keys="key-admin", rate_limit_per_minute=0)


def test_each_key_lists_only_its_own_jobs_and_the_admin_all(tenants):
    client = tenants.client
    mine = [client.post("/v1/generations", json=TINY, headers=A).json()["id"] for _ in range(3)]
    theirs = client.post("/v1/generations", json=TINY, headers=B).json()["id"]
    assert [j["id"] for j in client.get("/v1/generations", headers=A).json()["items"]] == mine[::-1]
    assert [j["id"] for j in client.get("/v1/generations", headers=B).json()["items"]] == [theirs]
    assert len(client.get("/v1/generations", headers=ADMIN).json()["items"]) == 4
    page = client.get("/v1/generations", params={"limit": 2}, headers=A).json()
    assert [j["id"] for j in page["items"]] == mine[::-1][:2]
    rest = client.get("/v1/generations", params={"limit": 2, "cursor": page["next_cursor"]}, headers=A).json()
    assert [j["id"] for j in rest["items"]] == [mine[0]] and rest["next_cursor"] is None
    client.post(f"/v1/generations/{mine[1]}/cancel", headers=A)
    cancelled = client.get("/v1/generations", params={"status": "cancelled"}, headers=A).json()["items"]
    assert [j["id"] for j in cancelled] == [mine[1]]
    assert client.get("/v1/generations", params={"status": "cancelled"}, headers=B).json()["items"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/generations/{id}"),
        ("post", "/v1/generations/{id}/cancel"),
        ("get", "/v1/generations/{id}/images/0.png"),
        ("get", "/v1/generations/{id}/events"),
    ],
)
def test_another_keys_job_is_404_on_every_route_and_the_admin_reaches_it(tenants, method, path):
    client = tenants.client
    job_id = client.post("/v1/generations", json=TINY, headers=A).json()["id"]
    refused = getattr(client, method)(path.format(id=job_id), headers=B)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "job_not_found"
    assert tenants.store.get(job_id)["status"] == "queued"  # B's cancel changed nothing
    if path.endswith("/events"):
        return  # a queued job's stream stays open: the admin's reach is shown by the other routes
    allowed = getattr(client, method)(path.format(id=job_id), headers=ADMIN)
    assert allowed.status_code != 404 or allowed.json()["error"]["code"] == "images_not_ready"


def test_sweeps_belong_to_their_key_too(tenants):
    client = tenants.client
    sweep = client.post("/v1/sweeps", json=SWEEP, headers=A).json()
    for path in (f"/v1/sweeps/{sweep['id']}", f"/v1/sweeps/{sweep['id']}.csv"):
        assert client.get(path, headers=B).status_code == 404 and client.get(path, headers=A).status_code == 200
    assert client.post(f"/v1/sweeps/{sweep['id']}/cancel", headers=B).status_code == 404
    assert client.get("/v1/sweeps", headers=B).json()["items"] == []
    assert [s["id"] for s in client.get("/v1/sweeps", headers=ADMIN).json()["items"]] == [sweep["id"]]
    point_job = sweep["points"][0]["job_id"]
    assert client.get(f"/v1/generations/{point_job}", headers=B).status_code == 404  # its points are A's jobs
    assert client.get(f"/v1/generations/{point_job}", headers=A).status_code == 200


def test_without_keys_everyone_sees_everything(api):
    job_id = api.client.post("/v1/generations", json=TINY).json()["id"]
    assert api.client.get(f"/v1/generations/{job_id}").status_code == 200
    assert api.store.get(job_id)["owner"] == ""
