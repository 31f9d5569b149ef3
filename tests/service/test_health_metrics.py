"""/healthz, /readyz, /metrics and the catalog routes (in process, the ``api`` fixture), and what the
API process has loaded (a real API process of the cluster, and fresh interpreters)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.service.helpers import submit, wait_status
from worker import metrics_store, registry

REPO = Path(__file__).resolve().parents[2]


def scrape(client) -> tuple[str, dict[str, float]]:
    """/metrics as text and as {sample name with labels: value}."""
    text = client.get("/metrics").text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return text, samples


def test_health_and_readiness(api):
    client = api.client
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 503  # no worker yet
    registry.beat(api.redis, "w1@host", {"concurrency": 2}, ttl_s=30)  # what a worker's heartbeat thread writes
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"redis": {"ok": True}, "workers": {"ok": True, "alive": 1, "processes": 2, "hosts": ["w1@host"]}},
    }  # profiles resolve in the API process: no helper to wait for


def test_metrics_count_jobs_durations_and_images(api):
    registry.beat(api.redis, "w1@host", {"concurrency": 1}, ttl_s=30)
    submit(api.client)  # queued, and its message on the Celery queue (no worker takes it)
    # what workers record as jobs finish (worker/runner.py; tests/service/test_runner.py)
    metrics_store.record_job(api.redis, "succeeded", 3.0, 2, "software", None)
    metrics_store.record_job(api.redis, "succeeded", 70.0, 4, "vcma-default", 2e-6)
    metrics_store.record_job(api.redis, "failed", 0.2, 0, "vcma-default", None)
    text, samples = scrape(api.client)
    assert samples['spindiff_jobs{state="queued"}'] == 1 and samples['spindiff_jobs{state="succeeded"}'] == 0
    assert samples["spindiff_queue_depth"] == 1 and samples["spindiff_broker_queue_length"] == 1
    assert samples["spindiff_workers_alive"] == 1
    assert samples['spindiff_job_duration_seconds_count{outcome="succeeded"}'] == 2
    assert samples['spindiff_job_duration_seconds_sum{outcome="succeeded"}'] == 73.0
    assert samples['spindiff_job_duration_seconds_bucket{le="5.0",outcome="succeeded"}'] == 1
    assert samples['spindiff_job_duration_seconds_bucket{le="+Inf",outcome="succeeded"}'] == 2
    assert samples['spindiff_job_duration_seconds_count{outcome="failed"}'] == 1
    assert samples['spindiff_images_generated_total{profile="software"}'] == 2
    assert samples['spindiff_images_generated_total{profile="vcma-default"}'] == 4
    assert samples['spindiff_energy_per_image_joules_count{profile="vcma-default"}'] == 1
    assert 'spindiff_energy_per_image_joules_count{profile="software"}' not in samples  # chip jobs only
    assert "# TYPE spindiff_energy_per_image_joules histogram" in text


def test_profiles_and_models(api):
    client = api.client
    names = [p["name"] for p in client.get("/v1/profiles").json()]
    assert "vcma-default" in names and "software" in names
    detail = client.get("/v1/profiles/vcma-default").json()
    assert len(detail["hash"]) == 64 and detail["profile"]["rng"]["dac_bits"] >= 1
    models = client.get("/v1/models").json()
    assert models[0]["id"] == "default" and len(models[0]["sha256"]) == 64 and models[0]["available"]
    spec = client.get("/openapi.json").json()
    body = spec["components"]["schemas"]["GenerationCreate"]
    assert body["properties"]["num_images"]["maximum"] == 64 and body["examples"]


def test_the_running_api_process_has_not_loaded_torch_or_numba(service):
    with service.client() as client:  # resolve profiles and overrides in the API, and run a job, first
        client.get("/v1/profiles/vcma-default")
        bad = {"hardware": {"profile": "vcma-default", "overrides": {"rng": {"dac_bits": 99}}}}
        assert client.post("/v1/generations", json=bad).status_code == 422
        wait_status(client, submit(client)["id"], "succeeded")
    maps = Path(f"/proc/{service.api.pid}/maps").read_text()
    assert "torch" not in maps and "numba" not in maps and "libgomp" not in maps


def test_importing_the_api_and_the_service_commands_loads_neither_torch_nor_numba():
    code = (
        "import sys, json\n"
        "from app.api.main import create_app\n"
        "from app import serve, cli\n"
        "import app.cli.service\n"
        "create_app()\n"
        "cli.build_parser()\n"
        "print(json.dumps([m for m in ('torch', 'numba', 'scipy') if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_importing_and_using_the_profiles_loads_neither_torch_nor_numba():
    # the API resolves profiles and overrides itself: device.profiles and the parameter modules it
    # imports (device/*_parameters.py, device/read_noise.py) must stay free of torch, numba and scipy
    code = (
        "import sys, json\n"
        "from device import profiles\n"
        "base = profiles.get_profile('vcma-default')\n"
        "hashes = [p.hash for p in profiles.list_profiles()]\n"
        "profiles.resolve('vcma-default', {'rng': {'dac_bits': 8}, 'crossbar': {'adc_bits': 6}})\n"
        "assert profiles.failing_override(base, {'rng': {'dac_bits': 99}}) == 'rng.dac_bits'\n"
        "print(json.dumps([m for m in ('torch', 'numba', 'scipy') if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
