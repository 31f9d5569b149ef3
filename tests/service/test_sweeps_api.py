"""/v1/sweeps in process (the ``api`` fixture, tests/service/conftest.py), no worker: validation before anything
is queued, the points as ordinary queued jobs, the queue cap, cancel, CSV, unknown ids.

Sweeps run to the end on a real worker in tests/service/test_sweeps.py."""

from __future__ import annotations

import csv
import io

from app.api.sweep_schemas import SWEEP_EXAMPLE
from device import profiles

EXAMPLE = SWEEP_EXAMPLE  # the example body, as the OpenAPI document shows it


def test_a_sweep_queues_one_ordinary_job_per_point(api):
    response = api.client.post("/v1/sweeps", json=EXAMPLE)
    assert response.status_code == 202, response.text
    sweep = response.json()
    assert response.headers["Location"] == f"/v1/sweeps/{sweep['id']}"
    assert sweep["status"] == "queued" and sweep["counts"] == {"queued": 2} and sweep["axes"] == ["crossbar.adc_bits"]
    assert [p["values"] for p in sweep["points"]] == [{"crossbar.adc_bits": 6}, {"crossbar.adc_bits": 8}]
    for point in sweep["points"]:
        job = api.client.get(point["job_url"]).json()
        assert job["status"] == "queued" and job["request"]["num_images"] == 4 and job["request"]["seed"] == 0
        assert job["request"]["hardware"]["overrides"] == {
            "crossbar": {"adc_bits": point["values"]["crossbar.adc_bits"]}
        }
        assert job["request"]["hardware"]["profile_hash"] == point["profile_hash"]
        assert point["profile_hash"] == profiles.resolve("vcma-default", job["request"]["hardware"]["overrides"]).hash
        assert job["request"]["sweep"] == {"id": sweep["id"], "point": point["index"]}
    assert api.redis.llen(api.settings.queue) == 2  # two Celery messages on the workers' queue
    again = api.client.get(f"/v1/sweeps/{sweep['id']}").json()
    assert again["points"] == sweep["points"] and again["request"]["seed"] == 0
    assert [s["id"] for s in api.client.get("/v1/sweeps").json()["items"]] == [sweep["id"]]


def test_a_bad_value_names_its_axis_and_nothing_is_queued(api):
    response = api.client.post("/v1/sweeps", json={**EXAMPLE, "axes": {"crossbar.adc_bits": [6, 99]}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_sweep" and error["field"] == "axes.crossbar.adc_bits"
    assert error["message"].startswith("crossbar.adc_bits = 99: ")
    assert api.store.counts().get("queued", 0) == 0 and api.client.get("/v1/sweeps").json()["items"] == []
    assert api.redis.llen(api.settings.queue) == 0


def test_size_limits_and_the_queue_cap_refuse_the_whole_sweep(make_api):
    api = make_api(queue_cap=3)
    big = api.client.post(
        "/v1/sweeps",
        json={
            **EXAMPLE,
            "axes": {
                "crossbar.adc_bits": list(range(2, 15)),
                "crossbar.read_noise": [0.001, 0.002, 0.004, 0.008, 0.016],
            },
            "num_images": 64,
        },
    )
    assert big.status_code == 422 and big.json()["error"]["code"] == "sweep_too_large"
    assert big.json()["error"]["message"].startswith("65 points × 64 images = 4160 images; at most 4096")
    three = {**EXAMPLE, "axes": {"crossbar.adc_bits": [4, 6, 8]}}
    assert api.client.post("/v1/sweeps", json=three).status_code == 202  # fills the cap of 3 exactly
    full = api.client.post("/v1/sweeps", json=EXAMPLE)
    assert full.status_code == 429 and full.json()["error"]["code"] == "queue_full" and full.headers["Retry-After"]
    assert api.store.counts()["queued"] == 3 and len(api.client.get("/v1/sweeps").json()["items"]) == 1


def test_body_validation_is_the_generation_routes(api):
    unknown = api.client.post("/v1/sweeps", json={**EXAMPLE, "colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "colour"
    model = api.client.post("/v1/sweeps", json={**EXAMPLE, "model": "nope"})
    assert model.status_code == 422 and model.json()["error"]["code"] == "unknown_model"
    both = api.client.post("/v1/sweeps", json={**EXAMPLE, "points": [{"crossbar.adc_bits": 6}]})
    assert both.status_code == 422 and "not both" in both.json()["error"]["message"]


def test_cancel_stops_every_queued_point_and_csv_lists_them(api):
    sweep = api.client.post("/v1/sweeps", json=EXAMPLE).json()
    cancelled = api.client.post(f"/v1/sweeps/{sweep['id']}/cancel")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["counts"] == {"cancelled": 2} and body["cancel_requested"]
    text = api.client.get(f"/v1/sweeps/{sweep['id']}.csv")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.text)))
    assert [(r["point"], r["crossbar.adc_bits"], r["status"], r["fid"]) for r in rows] == [
        ("0", "6", "cancelled", ""),
        ("1", "8", "cancelled", ""),
    ]


def test_unknown_sweeps_are_404_and_malformed_ids_422(api):
    missing = api.client.get("/v1/sweeps/" + "0" * 32)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "sweep_not_found"
    assert api.client.get("/v1/sweeps/" + "0" * 32 + ".csv").status_code == 404
    assert api.client.post("/v1/sweeps/" + "0" * 32 + "/cancel").status_code == 404
    assert api.client.get("/v1/sweeps/not-an-id").status_code == 422
