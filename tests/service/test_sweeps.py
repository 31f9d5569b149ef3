"""A sweep end to end on the real cluster (API and Celery worker processes, tests/service/cluster.py): the
issue's example body runs, each point's progress streams over SSE, the results carry quality and energy, the
points are ordinary jobs with images, the CSV has a row per point."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from app.api.sweep_schemas import SWEEP_EXAMPLE
from tests.service.helpers import wait_until

EXAMPLE = SWEEP_EXAMPLE  # the example body, as the OpenAPI document shows it


def sweep_events(client: httpx.Client, sweep_id: str, timeout: float = 300) -> list[dict]:
    """Every SSE event of a sweep until its closing 'sweep' event: [{event, data}]."""
    events, current = [], {}
    with client.stream(
        "GET", f"/v1/sweeps/{sweep_id}/events", timeout=httpx.Timeout(timeout, read=timeout)
    ) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith(":"):
                continue
            if not line:
                if "event" in current:
                    events.append(current)
                    if current["event"] == "sweep":
                        break
                current = {}
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            current[name] = json.loads(value) if name == "data" else value
    return events


def test_the_example_sweep_runs_on_the_workers_and_reports_every_point(service):
    with service.client() as client:
        created = client.post("/v1/sweeps", json=EXAMPLE)
        assert created.status_code == 202, created.text
        sweep_id = created.json()["id"]
        events = sweep_events(client, sweep_id)
        by_point = {0: [], 1: []}
        for e in events[:-1]:
            by_point[e["data"]["point"]].append(e["event"])
        for kinds in by_point.values():
            assert kinds[0] == "queued" and "running" in kinds and "progress" in kinds and kinds[-1] == "succeeded"
        assert events[-1]["event"] == "sweep" and events[-1]["data"]["status"] == "succeeded"

        done = wait_until(
            lambda: (s := client.get(f"/v1/sweeps/{sweep_id}").json())["status"] == "succeeded" and s,
            timeout=30,
            message="sweep not succeeded",
        )
        assert done["counts"] == {"succeeded": 2}
        energies = []
        for point in done["points"]:
            results = point["results"]
            assert results["n"] == 4 and results["energy_per_image_j"] > 0 and results["area_total_mm2"] > 0
            parts = results["energy_per_image_by_component_j"]
            assert sum(parts.values()) == pytest.approx(results["energy_per_image_j"], rel=1e-9) and parts["adc"] > 0
            assert results["latency_per_image_s"] > 0 and results["energy_ratio_gpu_over_chip"]["h100_sxm"] > 1
            energies.append(results["energy_per_image_j"])
            job = client.get(point["job_url"]).json()  # an ordinary job with its images
            assert job["status"] == "succeeded" and len(job["images"]) == 4
            assert job["reproducibility"]["profile_hash"] == point["profile_hash"]
            assert client.get(job["images"][0]["url"]).status_code == 200
        assert energies[1] > energies[0]  # 8-bit ADCs cost more per conversion than 6-bit ones
        assert done["pareto"] and set(done["pareto"]) <= {0, 1}

        text = client.get(f"/v1/sweeps/{sweep_id}.csv").text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [(r["crossbar.adc_bits"], r["status"]) for r in rows] == [("6", "succeeded"), ("8", "succeeded")]
        assert float(rows[0]["energy_per_image_j"]) == energies[0]
