"""Small helpers of the service tests: a clock to step, waiting with a timeout, submitting, reading SSE."""

from __future__ import annotations

import json
import time

import httpx

TERMINAL = {"succeeded", "failed", "cancelled"}
TINY = {"num_images": 2, "steps": 3, "hardware": "software", "quality": {"enabled": False}}


class Clock:
    """A clock the test steps (``clock.now += 0.5``), injected where the code would read the time."""

    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def wait_until(predicate, timeout: float, interval: float = 0.1, message: str = "condition not met", on_fail=None):
    """Poll ``predicate`` until it returns a truthy value (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            if on_fail is not None:
                on_fail()
            raise AssertionError(f"{message} (waited {timeout} s)")
        time.sleep(interval)


def submit(client: httpx.Client, body: dict | None = None, headers: dict | None = None) -> dict:
    response = client.post("/v1/generations", json=TINY if body is None else body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def job(client: httpx.Client, job_id: str) -> dict:
    response = client.get(f"/v1/generations/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_status(client: httpx.Client, job_id: str, statuses, timeout: float = 120) -> dict:
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)
    found = {}

    def check():
        found["job"] = job(client, job_id)
        return found["job"]["status"] in statuses

    wait_until(
        check,
        timeout,
        0.1,
        f"job {job_id} never reached {sorted(statuses)} (last: {found.get('job', {}).get('status')})",
    )
    return found["job"]


def wait_progress(client: httpx.Client, job_id: str, step: int = 1, timeout: float = 120) -> dict:
    def check():
        current = job(client, job_id)
        assert current["status"] in ("queued", "running"), current
        return current if current["progress"]["step"] >= step else None

    return wait_until(check, timeout, 0.05, f"job {job_id} did not reach step {step}")


def read_events(
    client: httpx.Client, job_id: str, headers: dict | None = None, params: dict | None = None, timeout: float = 120
) -> list[dict]:
    """All SSE events of a job until its terminal event: [{id, event, data}]."""
    events, current = [], {}
    with client.stream(
        "GET",
        f"/v1/generations/{job_id}/events",
        headers=headers,
        params=params,
        timeout=httpx.Timeout(timeout, read=timeout),
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith(":"):
                continue  # keep-alive comment
            if not line:
                if "event" in current:
                    events.append(current)
                    if current["event"] in TERMINAL:
                        break
                current = {}
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            current[name] = json.loads(value) if name == "data" else value
    return events
