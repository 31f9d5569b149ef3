"""/v1/generations end to end, through HTTP against a real API, worker and Redis: submit → events →
images → telemetry, reproducibility. The routes' own answers (listing, idempotency, overrides,
unknown ids) are tested in process in tests/service/test_generations_api.py."""

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
        # the cluster's settings are the defaults (tests/service/cluster.py): the shipped reference
        # statistics, so a batch KID and a batch FID labelled with its N
        quality = done["telemetry"]["quality"]
        assert quality["available"] is True, quality["reason"]
        assert quality["n"] == 2 and quality["batch_fid"]["n"] == 2 and quality["reference"]["n"] == 10000
        metrics = client.get("/metrics").text
        assert 'spindiff_energy_per_image_joules_count{profile="vcma-default"}' in metrics
