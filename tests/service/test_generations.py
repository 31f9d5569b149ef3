"""/v1/generations through HTTP against a real API, worker and Redis: submit → events → images →
telemetry, reproducibility, listing, idempotency, unknown ids."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from diffusion.generation.images import read_record
from tests.service.helpers import TINY, job, read_events, submit, wait_status


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_submit_stream_images_and_telemetry_on_software(service):
    with service.client() as client:
        created = submit(client, {**TINY, "steps": 4})
        assert created["status"] == "queued" and created["links"]["events"].endswith("/events")
        assert created["request"]["seed"] >= 0  # chosen by the server and returned

        events = read_events(client, created["id"])
        kinds = [e["event"] for e in events]
        assert kinds[0] == "queued" and "running" in kinds and kinds[-1] == "succeeded"
        steps = [e["data"]["step"] for e in events if e["event"] == "progress"]
        assert steps == sorted(steps) and steps[-1] == 4
        assert [e["id"] for e in events] == sorted(e["id"] for e in events)

        done = job(client, created["id"])
        assert done["status"] == "succeeded" and done["progress"]["fraction"] == 1.0
        assert done["timings"]["running_s"] > 0 and done["attempts"] == 1
        assert [i["url"] for i in done["images"]] == [
            f"/v1/generations/{created['id']}/images/{k}.png" for k in range(2)
        ]
        record = done["reproducibility"]
        assert record["seed"] == created["request"]["seed"] and record["profile_hash"] is None
        assert len(record["model_sha256"]) == 64 and record["sampler"]["steps"] == 4 and record["code_version"]
        telemetry = done["telemetry"]
        assert "a100_sxm" in telemetry["energy"]["baseline"]["accelerators"]
        assert telemetry["quality"]["available"] is False and "not requested" in telemetry["quality"]["reason"]

        png = client.get(done["images"][1]["url"])
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert pixels(png.content).shape == (28, 28)
        embedded = read_record(png.content)
        assert embedded["index"] == 1 and embedded["job_id"] == created["id"] and embedded["seed"] == record["seed"]
        grid = client.get(done["grid_url"])
        assert grid.status_code == 200 and read_record(grid.content)["model_sha256"] == record["model_sha256"]
        missing = client.get(f"/v1/generations/{created['id']}/images/7.png")
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "name"


def test_same_seed_gives_the_same_images(service):
    with service.client() as client:
        first = submit(client, {**TINY, "sampler": "ddim", "eta": 0.5})
        wait_status(client, first["id"], "succeeded")
        again = submit(client, {**TINY, "sampler": "ddim", "eta": 0.5, "seed": first["request"]["seed"]})
        wait_status(client, again["id"], "succeeded")
        for k in range(2):
            a = client.get(f"/v1/generations/{first['id']}/images/{k}.png").content
            b = client.get(f"/v1/generations/{again['id']}/images/{k}.png").content
            assert np.array_equal(pixels(a), pixels(b))


def test_a_small_chip_job_reports_energy_area_latency_and_the_profile(service):
    with service.client() as client:
        created = submit(client, {"num_images": 2, "steps": 3, "hardware": {"profile": "vcma-default"}, "seed": 3})
        done = wait_status(client, created["id"], ("succeeded", "failed"), timeout=300)
        assert done["status"] == "succeeded", done["error"]
        energy = done["telemetry"]["energy"]
        assert energy["energy_total_j"] > 0 and energy["energy_per_image_j"] > 0 and energy["area_total_mm2"] > 0
        assert (
            energy["latency_s"]["per_image"] > 0 and energy["ratios"]["energy_per_image_gpu_over_chip"]["a100_sxm"] > 0
        )
        assert done["telemetry"]["programming"]["energy_total_j"] >= 0
        record = done["reproducibility"]
        assert (
            record["profile"]["name"] == "vcma-default"
            and record["profile_hash"] == done["request"]["hardware"]["profile_hash"]
        )
        quality = done["telemetry"]["quality"]
        if quality.get("available") is False:  # a checkout without the reference statistics says why
            assert "reference statistics" in quality["reason"]
        else:  # the shipped statistics: a batch KID and a batch FID labelled with its N
            assert quality["n"] == 2 and quality["batch_fid"]["n"] == 2 and quality["reference"]["n"] == 10000
        metrics = client.get("/metrics").text
        assert 'spindiff_energy_per_image_joules_count{profile="vcma-default"}' in metrics


def test_overrides_are_applied_and_hashed(service):
    with service.client() as client:
        body = {**TINY, "hardware": {"profile": "ideal", "overrides": {"rng": {"dac_bits": 8}}}}
        created = submit(client, body)
        default = client.get("/v1/profiles/ideal").json()
        assert created["request"]["hardware"]["profile_hash"] != default["hash"]
        assert created["request"]["hardware"]["overrides"] == {"rng": {"dac_bits": 8}}
        client.post(f"/v1/generations/{created['id']}/cancel")  # the chip is not needed for this check
        wait_status(client, created["id"], ("cancelled", "succeeded"), timeout=300)


def test_listing_pages_newest_first_and_filters_by_status(service):
    with service.client() as client:
        ids = [submit(client)["id"] for _ in range(3)]
        for job_id in ids:
            wait_status(client, job_id, "succeeded")
        page = client.get("/v1/generations", params={"limit": 2}).json()
        assert [j["id"] for j in page["items"]] == ids[::-1][:2] and page["next_cursor"]
        assert "telemetry" not in page["items"][0] or page["items"][0]["telemetry"] is None
        older = client.get("/v1/generations", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        assert older["items"][0]["id"] == ids[0]
        succeeded = client.get("/v1/generations", params={"status": "succeeded", "limit": 100}).json()
        assert set(ids) <= {j["id"] for j in succeeded["items"]} and all(
            j["status"] == "succeeded" for j in succeeded["items"]
        )
        bad = client.get("/v1/generations", params={"status": "done"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"


def test_idempotency_key_returns_the_same_job_and_409_for_another_body(service):
    with service.client() as client:
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
        assert service.store.counts()["queued"] + service.store.counts()["running"] <= 2


def test_unknown_ids_are_404_with_the_error_shape(service):
    with service.client() as client:
        for method, path in [
            ("GET", "/v1/generations/nope"),
            ("GET", "/v1/generations/nope/events"),
            ("POST", "/v1/generations/nope/cancel"),
            ("GET", "/v1/generations/nope/images/0.png"),
            ("GET", "/v1/profiles/nope"),
            ("GET", "/v1/nothing-here"),
        ]:
            response = client.request(method, path)
            assert response.status_code == 404, (path, response.text)
            error = response.json()["error"]
            assert set(error) == {"code", "message", "field"} and error["message"]
        assert client.get("/v1/generations/nope").json()["error"]["code"] == "job_not_found"


def test_images_of_an_unfinished_job_are_not_there_yet(make_service):
    svc = make_service().start_api()  # no worker: the job stays queued
    with svc.client() as client:
        created = submit(client)
        response = client.get(f"/v1/generations/{created['id']}/images/0.png")
        assert response.status_code == 404 and response.json()["error"]["code"] == "images_not_ready"
