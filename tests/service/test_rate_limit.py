"""app/api/rate_limit.py against a real Redis, on a clock the test steps: window edges, the count
starting again in the next window, keys counted apart, replicas counting together.

The 429 over HTTP (key checked first, per key, health routes never limited) is in tests/service/test_auth.py."""

from __future__ import annotations

import pytest

from app.api.errors import ApiError
from app.api.rate_limit import KEY, RateLimiter
from tests.service.helpers import Clock

MINUTE = 60 * 29_000_000  # the start of a one-minute window, about 2025 in epoch seconds


def allowed(limiter: RateLimiter, ident: str) -> bool:
    try:
        limiter.check(ident)
    except ApiError as error:
        assert error.status == 429 and error.code == "rate_limited", error
        return False
    return True


@pytest.fixture()
def clock():
    return Clock(MINUTE + 10.0)


def test_the_limit_holds_within_a_window_and_starts_again_at_its_edge(redis_client, clock):
    limiter = RateLimiter(redis_client, 3, clock)
    assert [allowed(limiter, "alpha") for _ in range(4)] == [True, True, True, False]
    clock.now = MINUTE + 59.999  # still the same window
    assert not allowed(limiter, "alpha")
    clock.now = MINUTE + 60.0  # the next one: three more
    assert [allowed(limiter, "alpha") for _ in range(4)] == [True, True, True, False]


def test_a_window_is_a_fixed_minute_not_a_sliding_one(redis_client, clock):
    limiter = RateLimiter(redis_client, 3, clock)
    clock.now = MINUTE + 59.0
    assert [allowed(limiter, "alpha") for _ in range(3)] == [True, True, True]
    clock.now = MINUTE + 61.0  # two seconds later, but a new window: six requests in two seconds pass
    assert [allowed(limiter, "alpha") for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize(
    "second, retry",
    [(0.0, 61), (0.5, 60), (10.0, 51), (30.25, 30), (59.0, 2), (59.5, 1), (59.999, 1)],
)
def test_retry_after_is_the_rest_of_the_window_rounded_down_plus_one(redis_client, clock, second, retry):
    limiter = RateLimiter(redis_client, 1, clock)
    clock.now = MINUTE + second
    limiter.check("alpha")
    with pytest.raises(ApiError) as refused:
        limiter.check("alpha")
    assert refused.value.headers == {"Retry-After": str(retry)}
    assert refused.value.message == f"more than 1 requests this minute for this API key; retry in {retry} s"
    clock.now = MINUTE + second + retry  # waiting as told is never early
    assert allowed(limiter, "alpha")


def test_keys_are_counted_apart(redis_client, clock):
    limiter = RateLimiter(redis_client, 2, clock)
    assert [allowed(limiter, "alpha") for _ in range(3)] == [True, True, False]
    assert [allowed(limiter, "beta") for _ in range(3)] == [True, True, False]
    window = MINUTE // 60
    assert int(redis_client.get(f"{KEY}alpha:{window}")) == 3 and int(redis_client.get(f"{KEY}beta:{window}")) == 3
    assert 0 < redis_client.ttl(f"{KEY}alpha:{window}") <= 120  # gone after the next window


def test_replicas_share_the_count(redis_client, clock):
    first, second = RateLimiter(redis_client, 3, clock), RateLimiter(redis_client, 3, clock)
    assert [allowed(first, "alpha"), allowed(second, "alpha"), allowed(first, "alpha")] == [True, True, True]
    assert not allowed(second, "alpha")


def test_zero_is_unlimited_and_counts_nothing(redis_client, clock):
    limiter = RateLimiter(redis_client, 0, clock)
    assert all(allowed(limiter, "alpha") for _ in range(500))
    assert list(redis_client.scan_iter(match=KEY + "*")) == []
