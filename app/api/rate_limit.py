"""Per-API-key rate limit: fixed one-minute windows counted in Redis, shared by every API replica.

A request at time ``now`` (seconds since the epoch) falls in window ``floor(now / 60)``; its key's
counter ``spindiff:rate:{key id}:{window}`` is incremented and expires after two windows. Past
``SPINDIFF_RATE_LIMIT_PER_MINUTE`` requests in a window the answer is 429 with ``Retry-After``: the
seconds left in the window rounded down, plus one, so that a client that waits that long is never
early (the count starts again in the next window).

The clock is the wall clock (`time.time`) because replicas on different hosts must agree on the
window; it is a parameter so that tests step it (tests/service/test_rate_limit.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from app.api.errors import ApiError

WINDOW_S = 60
KEY = "spindiff:rate:"


class RateLimiter:
    def __init__(self, client: redis.Redis, per_minute: int, clock: Callable[[], float] = time.time):
        self.r, self.per_minute, self.clock = client, per_minute, clock

    def check(self, ident: str) -> None:
        """Count one request of key ``ident`` (`app.api.deps.key_id`); 429 past the limit (0: unlimited)."""
        if self.per_minute <= 0:
            return
        now = self.clock()
        window = int(now // WINDOW_S)
        key = f"{KEY}{ident}:{window}"
        pipe = self.r.pipeline()
        pipe.incr(key)
        pipe.expire(key, 2 * WINDOW_S)
        count, _ = pipe.execute()
        if count > self.per_minute:
            retry = max(1, int(WINDOW_S - now % WINDOW_S) + 1)
            raise ApiError(
                429,
                "rate_limited",
                f"more than {self.per_minute} requests this minute for this API key; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )
