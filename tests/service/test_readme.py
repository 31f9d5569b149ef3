"""The README's curl session and Python client run as written against a real service, and its
configuration table lists every setting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from worker.settings import Settings

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def block(heading: str, language: str) -> str:
    """The first fenced ``language`` block after ``heading``."""
    start = README.index(heading)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(README, start)
    return match.group(1)


def test_the_curl_session_runs_as_written(service, tmp_path):
    script = block("### A session with curl", "sh")
    env = {**os.environ, "SPINDIFF_URL": service.url}
    out = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"status":"ready"' in out.stdout and "event: succeeded" in out.stdout
    assert "chip energy per image (J):" in out.stdout and "PNG image data" in out.stdout
    assert 'spindiff_jobs{state="succeeded"}' in out.stdout
    assert (tmp_path / "grid.png").read_bytes().startswith(b"\x89PNG")


def test_the_python_client_runs_as_written(service, tmp_path):
    code = block("### A Python client", "python")
    env = {**os.environ, "SPINDIFF_URL": service.url}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1].startswith("succeeded 1 ")
    assert sorted(p.name for p in tmp_path.glob("image-*.png")) == [f"image-{k}.png" for k in range(4)]


def test_configuration_table_lists_every_setting():
    table = README[README.index("### Configuration") :]
    table = table[: table.index("\n## ")]
    documented = set(re.findall(r"`((?:SPINDIFF_|REDIS_URL|FLOWER_)[A-Z_]*)`", table))
    settings = {"REDIS_URL" if name == "redis_url" else f"SPINDIFF_{name.upper()}" for name in Settings.model_fields}
    assert settings <= documented, f"missing from the README table: {sorted(settings - documented)}"
    compose_only = {"SPINDIFF_PORT", "FLOWER_PORT", "SPINDIFF_BIND", "FLOWER_BASIC_AUTH"}  # see docker-compose.yml
    assert documented - settings == compose_only
    compose = (REPO / "docker-compose.yml").read_text()
    for name in set(re.findall(r"\$\{([A-Z_]+)", compose)):
        assert name in documented, f"docker-compose.yml reads {name}, which the README does not document"
