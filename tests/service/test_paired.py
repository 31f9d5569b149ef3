"""Paired noise through the service: a request's ``noise`` and ``paired`` reach the worker, a paired job
keeps its software twin's images beside its own and reports fidelity; old stored requests still run."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from diffusion.generation.images import read_record
from tests.service.helpers import submit, wait_status
from worker.runner import generation_request


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_a_request_stored_before_noise_existed_gets_the_defaults():
    stored = {
        "hardware": {"profile": "software", "overrides": None},
        "num_images": 2,
        "steps": 3,
        "sampler": "ddpm",
        "eta": 0.0,
        "seed": 4,
        "chip_seed": 0,
    }
    request = generation_request(stored)
    assert request.noise == "torch" and request.paired is False
    chip = generation_request({**stored, "hardware": {"profile": "vcma-default"}, "noise": "mtj", "paired": True})
    assert chip.noise == "mtj" and chip.paired is True
    # an old chip job ran on its MTJ array's noise: read back that way, "run again" reproduces it
    old_chip = generation_request({**stored, "hardware": {"profile": "vcma-default", "overrides": None}})
    assert old_chip.noise == "mtj" and old_chip.paired is False


def test_a_paired_ideal_job_equals_software_and_serves_its_twin(service):
    body = {"num_images": 2, "steps": 3, "seed": 13}
    with service.client() as client:
        software = submit(client, {**body, "hardware": "software", "quality": {"enabled": False}})
        paired = submit(client, {**body, "hardware": "ideal", "paired": True})
        assert paired["request"]["noise"] == "torch" and paired["request"]["paired"] is True
        done_sw = wait_status(client, software["id"], "succeeded")
        done = wait_status(client, paired["id"], ("succeeded", "failed"), timeout=300)
        assert done["status"] == "succeeded", done["error"]
        assert done_sw["twin_images"] == [] and done_sw["twin_grid_url"] is None
        assert [i["url"] for i in done["twin_images"]] == [
            f"/v1/generations/{paired['id']}/images/twin-{k}.png" for k in range(2)
        ]
        for k in range(2):
            chip = pixels(client.get(done["images"][k]["url"]).content)
            twin_png = client.get(done["twin_images"][k]["url"])
            assert twin_png.status_code == 200 and read_record(twin_png.content)["twin"]
            reference = pixels(client.get(done_sw["images"][k]["url"]).content)
            np.testing.assert_array_equal(chip, reference)  # ideal reproduces software exactly
            np.testing.assert_array_equal(pixels(twin_png.content), reference)
        assert client.get(done["twin_grid_url"]).status_code == 200
        fidelity = done["telemetry"]["fidelity"]
        assert fidelity["identical"] == 2 and fidelity["same_noise"] is True and fidelity["ssim"]["mean"] == 1.0
        assert fidelity["psnr_db"]["mean"] is None  # infinite: identical images
        noise = done["reproducibility"]["noise"]
        assert noise["source"] == "torch" and noise["x_T_sha256"] == done_sw["reproducibility"]["noise"]["x_T_sha256"]
        quality = done["telemetry"]["quality"]  # the cluster's default settings: the shipped reference statistics
        assert quality["available"] is True, quality["reason"]
        assert quality["paired"]["n"] == 2 and quality["paired"]["fid_difference"] == 0.0
        missing = client.get(f"/v1/generations/{software['id']}/images/twin-0.png")
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "name"
