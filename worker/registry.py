"""Worker liveness: each `spindiff worker` beats a short-lived key in Redis; /readyz counts them.

A beat is written every ``heartbeat_interval_s`` by a thread of the worker's main process and lives
for three intervals, so a worker that is killed (even with SIGKILL) drops out within three beats.
"""

from __future__ import annotations

import json
import os
import socket
import time

import redis

KEY = "spindiff:workers:"


def beat(client: redis.Redis, hostname: str, info: dict, ttl_s: float) -> None:
    """Mark ``hostname`` alive for ``ttl_s`` seconds with ``info`` (pid, concurrency, started_at)."""
    client.set(KEY + hostname, json.dumps({**info, "hostname": hostname, "beat_at": time.time()}), px=int(ttl_s * 1000))


def forget(client: redis.Redis, hostname: str) -> None:
    client.delete(KEY + hostname)


def alive(client: redis.Redis) -> list[dict]:
    """Every worker whose beat has not expired."""
    keys = sorted(client.scan_iter(match=KEY + "*", count=100))
    if not keys:
        return []
    return [json.loads(value) for value in client.mget(keys) if value is not None]


def identity() -> dict:
    """This process's host, pid and parent pid, stored on the job it runs (the job record shows who ran
    it; the parent is the Celery worker whose beat says whether the job's worker still lives)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "ppid": os.getppid()}


def runs_on_a_live_worker(job_worker: dict | None, live: list[dict]) -> bool | None:
    """Whether the worker process that holds a running job (its ``worker`` record) still beats:
    True / False, or None when the record cannot tell (written before jobs named their parent)."""
    if not job_worker or "ppid" not in job_worker:
        return None
    return any(w.get("host") == job_worker.get("host") and w.get("pid") == job_worker["ppid"] for w in live)


def process_gone_here(job_worker: dict | None) -> bool:
    """Whether the job's pool process ran on this host, under this process as its parent, and has exited
    (checked with signal 0): a job a live worker no longer runs (its pool process died or was replaced)."""
    if not job_worker or job_worker.get("host") != socket.gethostname() or job_worker.get("ppid") != os.getpid():
        return False
    try:
        os.kill(int(job_worker["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
