"""The typed telemetry through the service: published in the OpenAPI schema and jobs stored before it
(schema-1 records, kept in tests/dashboard/data/) still read and render (in process, the ``api``
fixture); a new chip job, run by the cluster's worker, is returned with schema_version 2."""

from __future__ import annotations

import json
from pathlib import Path

from tests.service.helpers import submit, wait_status

DATA = Path(__file__).resolve().parents[1] / "dashboard" / "data"


def test_the_openapi_schema_types_the_telemetry(api):
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    job = schemas["Job"]["properties"]
    assert {"$ref": "#/components/schemas/Telemetry"} in job["telemetry"]["anyOf"]
    assert {"$ref": "#/components/schemas/Reproducibility"} in job["reproducibility"]["anyOf"]
    telemetry = schemas["Telemetry"]["properties"]
    assert {"schema_version", "request", "timings", "energy", "programming", "quality", "fidelity", "cancelled"} <= set(
        telemetry
    )
    assert telemetry["schema_version"]["default"] == 2
    energy = telemetry["energy"]["anyOf"][0]
    assert energy["discriminator"]["mapping"] == {
        "chip": "#/components/schemas/ChipEnergy",
        "gpu_baseline": "#/components/schemas/BaselineEnergy",
    }
    chip = schemas["ChipEnergy"]["properties"]
    assert {
        "energy_per_image_j",
        "energy_j",
        "area_um2",
        "latency_s",
        "ratios",
        "ratio_ranges",
        "energy_per_bit_area",
    } <= set(chip)
    assert {"low", "high", "headline", "by_assumption"} <= set(schemas["Range"]["properties"])
    assert {"n", "mean", "std", "interval"} <= set(schemas["KidEstimate"]["properties"])
    assert {"n", "value", "sd", "sets", "interval"} <= set(schemas["FidPoint"]["properties"])
    assert {"software_at_same_n", "fid_at_n", "batch_kid", "batch_fid"} <= set(schemas["Quality"]["properties"])
    assert {"definition", "chip_j_mm2", "accelerators"} <= set(schemas["BitAreaMetric"]["properties"])
    assert "W" in schemas["AcceleratorBaseline"]["properties"]["tdp_w"]["description"]  # units stated


def test_a_job_stored_before_schema_2_still_reads_and_renders(api):
    old = json.loads((DATA / "vcma_job.json").read_text())
    assert "schema_version" not in old["telemetry"]
    job_id = "0ld5c4e3a1000000000000000000001"
    store = api.store
    store.create(job_id, old["request"], profile_label="vcma-default", body_hash="old-schema")
    store.begin(job_id, 3, {"pid": 0})
    assert (
        store.finish(
            job_id,
            1,
            "succeeded",
            {"telemetry": old["telemetry"], "reproducibility": old["reproducibility"]},
            {"status": "succeeded"},
        )
        == "ok"
    )
    client = api.client
    got = client.get(f"/v1/generations/{job_id}")
    assert got.status_code == 200, got.text
    telemetry = got.json()["telemetry"]
    assert (
        telemetry["schema_version"] == 2 and telemetry["upgraded_from"] == 1 and telemetry["energy"]["kind"] == "chip"
    )
    assert telemetry["energy"]["energy_per_image_j"] == old["telemetry"]["energy"]["energy_per_image_j"]
    assert telemetry["energy"]["counts"] == old["telemetry"]["energy"]["counts"]  # documented extras kept
    assert telemetry["energy"]["ratio_ranges"] is None and telemetry["energy"]["energy_per_bit_area"]["chip_j_mm2"] > 0
    page = client.get(f"/dashboard/jobs/{job_id}/report")
    assert page.status_code == 200 and "stored before telemetry schema 2" in page.text


def test_a_new_chip_job_returns_schema_2_with_ratio_ranges(service):
    with service.client() as client:
        created = submit(
            client, {"num_images": 2, "steps": 2, "hardware": "vcma-default", "seed": 5, "quality": {"enabled": False}}
        )
        done = wait_status(client, created["id"], ("succeeded", "failed"), timeout=300)
        assert done["status"] == "succeeded", done["error"]
    telemetry = done["telemetry"]
    assert telemetry["schema_version"] == 2 and telemetry["upgraded_from"] is None
    ranges = telemetry["energy"]["ratio_ranges"]
    assert [a["name"] for a in ranges["assumptions"]] == ["adc_model", "utilisation", "post_layout_factor"]
    a100 = ranges["energy_per_image_gpu_over_chip"]["a100_sxm"]
    assert a100["low"] < a100["headline"] < a100["high"]
    assert (
        telemetry["quality"]["available"] is False and telemetry["quality"]["fid_at_n"] == []
    )  # steps = 2: nothing measured offline
