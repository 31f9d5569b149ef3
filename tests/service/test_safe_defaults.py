"""Deployment defaults (issue 16): the embedded Redis has a password and private files, compose publishes on
localhost and guards Flower, the API warns when it listens beyond this machine without keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import redis

from app.cli.service import open_without_keys_warning
from app.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[2]


def test_the_embedded_redis_wants_its_password_and_keeps_its_files_private(tmp_path):
    with EmbeddedRedis(tmp_path / "redis", password="s3cret/+x") as server:
        assert server.url.startswith("redis://:s3cret%2F%2Bx@127.0.0.1:") and "s3cret" not in server.display_url
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port).ping()
        client = redis.Redis.from_url(server.url)
        assert client.ping() and client.set("k", "v")
        client.close()
        for path in [server.data_dir, *server.data_dir.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, (path, oct(mode))  # nothing for the group or others


def test_compose_publishes_on_localhost_and_flower_needs_basic_auth():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert '"${SPINDIFF_BIND:-127.0.0.1}:${SPINDIFF_PORT:-8000}:8000"' in compose
    assert '"${SPINDIFF_BIND:-127.0.0.1}:${FLOWER_PORT:-5555}:5555"' in compose
    assert "--basic-auth" in compose and "FLOWER_BASIC_AUTH" in compose


def test_listening_beyond_localhost_without_keys_is_warned():
    assert open_without_keys_warning("127.0.0.1", []) is None
    assert open_without_keys_warning("0.0.0.0", ["k"]) is None
    warning = open_without_keys_warning("0.0.0.0", [])
    assert warning.startswith("warning: the API listens on 0.0.0.0 with no API keys") and "SPINDIFF_API_KEYS" in warning
