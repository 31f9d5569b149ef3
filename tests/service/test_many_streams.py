"""Event streams scale past the async Redis pool (issue 16: the 101st stream got 200 and was cut with no event,
a resumed one a 500 MaxConnectionsError). 500 clients watch 500 jobs at once through a real uvicorn server on
loopback; every one receives its job's queued and cancelled events, and other requests are answered meanwhile."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from app.api.main import ASYNC_REDIS_CONNECTIONS, create_app
from worker.settings import Settings
from worker.store import JobStore

pytestmark = pytest.mark.drill  # 500 streams

STREAMS = 500


@pytest.fixture()
def live(redis_server, redis_client, clean_env):
    """(port, store, app): the API under uvicorn in a thread, on the test's own Redis database."""
    db = redis_client.connection_pool.connection_kwargs["db"]
    settings = Settings(redis_url=f"redis://127.0.0.1:{redis_server.port}/{db}", rate_limit_per_minute=0)
    app = create_app(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", backlog=2048, timeout_keep_alive=60)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port, JobStore(redis_client), app
    server.should_exit = True
    thread.join(15)


async def _watch(client: httpx.AsyncClient, job_id: str, opened: asyncio.Event, count: list) -> list[str]:
    kinds = []
    async with client.stream("GET", f"/v1/generations/{job_id}/events") as response:
        assert response.status_code == 200
        count.append(1)
        if len(count) == STREAMS:
            opened.set()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kinds.append(line.split(":", 1)[1].strip())
                if kinds[-1] == "cancelled":
                    break
    return kinds


def test_500_concurrent_streams_all_get_their_events(live):
    port, store, app = live
    assert STREAMS > 3 * ASYNC_REDIS_CONNECTIONS
    ids = [f"job{k:04d}" for k in range(STREAMS)]
    for job_id in ids:
        store.create(job_id, {"num_images": 1}, profile_label="software", body_hash="h")

    async def main():
        limits = httpx.Limits(max_connections=STREAMS + 10, max_keepalive_connections=STREAMS + 10)
        timeout = httpx.Timeout(60.0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=timeout) as client:
            opened, count = asyncio.Event(), []
            watchers = [asyncio.create_task(_watch(client, job_id, opened, count)) for job_id in ids]
            await asyncio.wait_for(opened.wait(), 60)
            await asyncio.sleep(1.0)  # every stream has read its queued event and waits
            listing = await client.get("/v1/generations", params={"limit": 5})  # the API still answers
            assert listing.status_code == 200 and len(listing.json()["items"]) == 5
            started = time.monotonic()
            for job_id in ids:
                store.cancel(job_id)
            results = await asyncio.wait_for(asyncio.gather(*watchers), 60)
            return results, time.monotonic() - started

    # a thread of its own: the suite may leave an event loop running in this one (asyncio.run refuses that)
    outcome: list = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(main())))
    runner.start()
    runner.join(180)
    assert outcome, "the clients did not finish (see the thread's traceback above)"
    results, seconds = outcome[0]
    assert all(kinds == ["queued", "cancelled"] for kinds in results), {tuple(k) for k in results}
    print(json.dumps({"streams": STREAMS, "all_cancelled_events_within_s": round(seconds, 2)}))
    assert seconds < 30
