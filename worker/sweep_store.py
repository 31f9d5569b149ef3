"""Sweep records in Redis, beside the job store: which jobs a sweep's points are.

A sweep owns no computation of its own: each point is an ordinary generation job (`worker.store`),
queued on the same workers, so a point that finished is never recomputed after a worker loss (the
job record says it succeeded; a redelivered message skips it) and each point is linkable as a job
with its images. The sweep record keeps the accepted body and, per point, its parameter values,
profile hash and job id. Layout, below the prefix ``spindiff:``:

| key | type | holds |
|---|---|---|
| ``sweep:{id}`` | hash | id, created_at, request (the accepted body), points (JSON), cancel_requested |
| ``sweeps`` | sorted set | sweep ids by creation time, for listing |

A sweep's record expires ``retention_s`` after it was created, as its point jobs do after they end.
"""

from __future__ import annotations

import json
import time

from worker.store import PREFIX, JobStore, dumps


class SweepStore:
    """Sweep records in the job store's Redis."""

    def __init__(self, jobs: JobStore):
        self.jobs = jobs
        self.r = jobs.r
        self.retention_s = jobs.retention_s

    @staticmethod
    def key(sweep_id: str) -> str:
        return f"{PREFIX}sweep:{sweep_id}"

    def create(self, sweep_id: str, request: dict, points: list[dict]) -> None:
        """Store a sweep: ``points`` are [{index, values, profile_hash, job_id}]."""
        now = time.time()
        pipe = self.r.pipeline()
        pipe.hset(
            self.key(sweep_id),
            mapping={
                "id": sweep_id,
                "created_at": repr(now),
                "request": dumps(request),
                "points": dumps(points),
                "cancel_requested": "0",
            },
        )
        pipe.expire(self.key(sweep_id), self.retention_s)
        pipe.zadd(f"{PREFIX}sweeps", {sweep_id: now})
        pipe.execute()

    def get(self, sweep_id: str) -> dict | None:
        raw = self.r.hgetall(self.key(sweep_id))
        if not raw:
            return None
        record = {k.decode(): v.decode() for k, v in raw.items()}
        return {
            "id": record["id"],
            "created_at": float(record["created_at"]),
            "request": json.loads(record["request"]),
            "points": json.loads(record["points"]),
            "cancel_requested": record.get("cancel_requested") == "1",
        }

    def point_jobs(self, sweep: dict) -> list[dict | None]:
        """Each point's job record (None once expired), in point order, in one round trip."""
        return self.jobs.get_many([point["job_id"] for point in sweep["points"]])

    def request_cancel(self, sweep_id: str) -> None:
        self.r.hset(self.key(sweep_id), "cancel_requested", "1")

    def list(self, limit: int = 20) -> list[dict]:
        """The newest sweeps first (expired ones dropped from the index)."""
        ids = [i.decode() for i in self.r.zrevrange(f"{PREFIX}sweeps", 0, limit - 1)]
        found, gone = [], []
        for sweep_id in ids:
            record = self.get(sweep_id)
            (found if record else gone).append(record or sweep_id)
        if gone:
            self.r.zrem(f"{PREFIX}sweeps", *gone)
        return found
