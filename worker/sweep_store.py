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
`SweepStore.submit` stores a planned sweep and its queued point jobs; ``POST /v1/sweeps`` then fans
them out on Celery, ``spindiff sweep`` runs them in its own processes.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid

from worker.store import PREFIX, JobStore, dumps
from worker.sweep_plan import Point, point_request


class SweepStore:
    """Sweep records in the job store's Redis."""

    def __init__(self, jobs: JobStore):
        self.jobs = jobs
        self.r = jobs.r
        self.retention_s = jobs.retention_s

    @staticmethod
    def key(sweep_id: str) -> str:
        return f"{PREFIX}sweep:{sweep_id}"

    def submit(self, body: dict, model: dict, points: list[Point], seed: int, owner: str = "") -> dict:
        """Store one queued generation job per planned point and the sweep that lists them; returns the sweep.

        ``body`` is the sweep's body as JSON (``SweepCreate``), ``model`` the resolved model (``id``,
        ``sha256``), ``points`` from `worker.sweep_plan.plan`, ``seed`` the sampling seed every point
        shares, ``owner`` the id of the API key that asked (the sweep and its jobs are that key's).
        Nothing is enqueued here: the caller sends the jobs to whatever runs them.
        """
        sweep_id = uuid.uuid4().hex
        stored = []
        for point in points:
            job_id = uuid.uuid4().hex
            request = point_request(
                body, model, point.overrides, point.profile_hash, seed, {"id": sweep_id, "point": point.index}
            )
            body_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
            self.jobs.create(
                job_id, request, profile_label=f"{body['profile']}+sweep", body_hash=body_hash, owner=owner
            )
            stored.append(
                {"index": point.index, "values": point.values, "profile_hash": point.profile_hash, "job_id": job_id}
            )
        accepted = {**body, "seed": seed, "model": model["id"], "model_sha256": model["sha256"]}
        self.create(sweep_id, accepted, stored, owner=owner)
        return self.get(sweep_id)

    def create(self, sweep_id: str, request: dict, points: list[dict], owner: str = "") -> None:
        """Store a sweep: ``points`` are [{index, values, profile_hash, job_id}]; ``owner``: the API key id."""
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
                "owner": owner,
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
            "owner": record.get("owner", ""),
        }

    def point_jobs(self, sweep: dict) -> list[dict | None]:
        """Each point's job record (None once expired), in point order, in one round trip."""
        return self.jobs.get_many([point["job_id"] for point in sweep["points"]])

    def request_cancel(self, sweep_id: str) -> None:
        self.r.hset(self.key(sweep_id), "cancel_requested", "1")

    def list(self, limit: int = 20, owner: str | None = None) -> list[dict]:
        """The newest sweeps first, only ``owner``'s when given (expired ones dropped from the index)."""
        found, gone, start = [], [], 0
        while len(found) < limit:
            ids = [i.decode() for i in self.r.zrevrange(f"{PREFIX}sweeps", start, start + 4 * limit - 1)]
            if not ids:
                break
            start += len(ids)
            for sweep_id in ids:
                record = self.get(sweep_id)
                if record is None:
                    gone.append(sweep_id)
                elif owner is None or record["owner"] == owner:
                    found.append(record)
        if gone:
            self.r.zrem(f"{PREFIX}sweeps", *gone)
        return found[:limit]
