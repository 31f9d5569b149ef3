"""worker/settings.py: defaults derived as documented, and inconsistent limits refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from worker.settings import Settings

# the defaults are tested, not the developer's SPINDIFF_* or REDIS_URL (tests/service/conftest.py)
pytestmark = pytest.mark.usefixtures("clean_env")


def test_derived_defaults(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    s = Settings(_env_file=None, time_limit_s=3600, worker_concurrency=2)
    assert s.soft_limit == 3570 and s.visibility_timeout == 7200
    assert s.threads_per_process == 4 and s.concurrency == 2
    assert Settings(time_limit_s=60).soft_limit == 48  # short limits: 0.8 × hard
    assert s.redis == "redis://127.0.0.1:6379/0" and s.api_key_list == []
    assert Settings(api_keys=" a, ,b ").api_key_list == ["a", "b"]


def test_environment_names(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://example:1/2")
    monkeypatch.setenv("SPINDIFF_QUEUE_CAP", "7")
    s = Settings()
    assert s.redis == "redis://example:1/2" and s.queue_cap == 7


@pytest.mark.parametrize(
    "values, words",
    [
        ({"time_limit_s": 100, "visibility_timeout_s": 100}, "must exceed SPINDIFF_TIME_LIMIT_S"),
        ({"time_limit_s": 100, "soft_time_limit_s": 100}, "SPINDIFF_SOFT_TIME_LIMIT_S must lie in"),
        ({"queue_cap": -1}, "greater than or equal to 0"),
        ({"max_attempts": 0}, "greater than or equal to 1"),
    ],
)
def test_inconsistent_settings_are_refused(values, words):
    with pytest.raises(ValidationError, match=words.replace("(", r"\(")):
        Settings(**values)
