"""/healthz, /readyz, /metrics, the catalog routes, and what the API process has loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.service.helpers import submit, wait_status

REPO = Path(__file__).resolve().parents[2]


def test_health_and_readiness(service):
    with service.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert checks["workers"]["alive"] >= 1 and checks["workers"]["processes"] >= 1
        assert set(checks) == {"redis", "workers"}  # profiles resolve in the API process: no helper to wait for


def test_metrics_count_jobs_durations_and_images(service):
    with service.client() as client:
        created = submit(client)
        wait_status(client, created["id"], "succeeded")
        text = client.get("/metrics").text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    assert samples['spindiff_jobs{state="succeeded"}'] >= 1
    assert "spindiff_queue_depth" in samples and "spindiff_broker_queue_length" in samples
    assert samples["spindiff_workers_alive"] >= 1
    assert samples['spindiff_job_duration_seconds_count{outcome="succeeded"}'] >= 1
    assert (
        samples['spindiff_job_duration_seconds_bucket{le="+Inf",outcome="succeeded"}']
        == samples['spindiff_job_duration_seconds_count{outcome="succeeded"}']
    )
    assert samples['spindiff_images_generated_total{profile="software"}'] >= 2
    assert "# TYPE spindiff_energy_per_image_joules histogram" in text


def test_profiles_and_models(service):
    with service.client() as client:
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
