"""One blocking reader per API process for every event stream: SSE routes wait on it, not on a pooled connection.

Each Server-Sent-Events route used to hold a connection of the async Redis pool in a blocking
``XREAD`` for as long as its client watched, so the pool's cap (100) was also the cap on open
streams, and the next stream or any other async call failed. Here one task (`EventHub.run`) holds
the only blocking ``XREAD``, over every stream key some route waits on, and wakes the waiters of a
key when it grows; the routes read their entries with short non-blocking ``XREAD`` calls, which
return their connection at once (the pool is a `redis.asyncio.BlockingConnectionPool`, so a burst
waits for a free connection instead of failing).

`EventHub.read` has ``XREAD``'s contract — {key: cursor} in, ``[(key, [(id, fields), …]), …]`` out,
empty after ``timeout_s`` without news — so a route's loop is the loop it had around ``XREAD``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import redis.asyncio as aredis

log = logging.getLogger("spindiff.events")

#: how long the shared reader blocks in one XREAD: the latency for a key it started watching meanwhile
BLOCK_MS = 250


class EventHub:
    """``EventHub(url)``: its own connection for the blocking reader; ``pool`` is the app's async Redis."""

    def __init__(self, url: str, pool: aredis.Redis):
        self.pool = pool
        self.reader = aredis.Redis.from_url(
            url, socket_timeout=30, socket_connect_timeout=5, single_connection_client=True
        )
        self.waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self.cursors: dict[str, str] = {}  # the reader's position per watched key
        self.task: asyncio.Task | None = None
        self.changed = asyncio.Event()

    async def read(self, cursors: dict[str, str], timeout_s: float, count: int = 100) -> list:
        """Entries after each key's cursor, like ``XREAD COUNT count BLOCK timeout``, without holding a connection.

        A cursor ``$`` means "after the newest entry now", as in ``XREAD``."""
        cursors = await self._resolve(cursors)
        answer = await self.pool.xread(cursors, count=count)
        if answer:
            return answer
        event = asyncio.Event()
        for key, cursor in cursors.items():
            self.waiters[key].add(event)
            self.cursors.setdefault(key, cursor)
        self.changed.set()
        self._start()
        try:
            answer = await self.pool.xread(cursors, count=count)  # what came while registering
            if answer:
                return answer
            try:
                await asyncio.wait_for(event.wait(), timeout_s)
            except TimeoutError:
                return []
            return await self.pool.xread(cursors, count=count)
        finally:
            for key in cursors:
                self.waiters[key].discard(event)
                if not self.waiters[key]:
                    del self.waiters[key]
                    self.cursors.pop(key, None)

    async def _resolve(self, cursors: dict[str, str]) -> dict[str, str]:
        """``$`` cursors replaced by the id of their stream's newest entry (``0-0`` for an empty stream)."""
        resolved = dict(cursors)
        for key, cursor in cursors.items():
            if cursor == "$":
                newest = await self.pool.xrevrange(key, count=1)
                last = newest[0][0] if newest else "0-0"
                resolved[key] = last.decode() if isinstance(last, bytes) else last
        return resolved

    def watched(self) -> int:
        """Stream keys the reader watches now (for tests and /metrics)."""
        return len(self.waiters)

    def _start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run(), name="spindiff-event-hub")

    async def run(self) -> None:
        """The reader: block on every watched key at once and wake their waiters as they grow."""
        while True:
            if not self.cursors:
                self.changed.clear()
                await self.changed.wait()
                continue
            keys = dict(self.cursors)
            try:
                answer = await self.reader.xread(keys, block=BLOCK_MS, count=1000)
            except (aredis.ConnectionError, aredis.TimeoutError) as error:
                log.warning("event reader: %s; retrying", error)
                for events in list(self.waiters.values()):
                    for event in events:
                        event.set()  # let the routes find out for themselves
                await asyncio.sleep(1.0)
                continue
            for raw_key, entries in answer or []:
                key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
                last = entries[-1][0]
                if key in self.cursors:
                    self.cursors[key] = last.decode() if isinstance(last, bytes) else last
                for event in self.waiters.get(key, ()):
                    event.set()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
        await self.reader.aclose()
