"""The job store: job records, progress, events, images and idempotency keys in Redis.

The job record is the source of truth (docs/serving.md: Celery's result backend reports every unknown id
as PENDING). Layout, below the prefix ``spindiff:``:

| key | type | holds |
|---|---|---|
| ``job:{id}`` | hash | status, request, timestamps, attempts, progress, cancel flag, telemetry, error |
| ``job:{id}:events`` | stream | queued / running / progress / succeeded / failed / cancelled events (SSE ids) |
| ``job:{id}:images`` | hash | ``0``, ``1``, … and ``grid``: PNG bytes with the reproducibility record; |
| | | a paired job also ``twin-0``, ``twin-1``, … and ``twin-grid`` (its software twin) |
| ``job:{id}:checkpoint`` | string | the running job's last stored sampler state (`worker.checkpoints`); deleted when it ends |
| ``jobs``, ``status:{name}`` | sorted sets | job ids by creation sequence, for listing and counting |
| ``idem:{scope}:{key}`` | string | job id and request hash of an ``Idempotency-Key`` |
| ``seq`` | counter | creation sequence |

A job's keys expire ``retention_s`` after it ends (and, while it waits, ``retention_s`` after it
was created). Status changes are Lua scripts (`worker.store_scripts`), each atomic. Workers pass
their attempt number to every write, so a stale delivery can never overwrite a newer one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis

from worker import registry, store_scripts

PREFIX = "spindiff:"
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_JSON_FIELDS = ("request", "progress", "error", "telemetry", "reproducibility", "worker", "timings", "resumed")


def dumps(obj) -> str:
    """Compact JSON; numpy scalars and arrays become numbers and lists."""
    return json.dumps(obj, separators=(",", ":"), default=_json_default)


def _json_default(value):
    for attr in ("tolist", "item"):  # numpy arrays and scalars, without importing numpy here
        if hasattr(value, attr):
            return getattr(value, attr)()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


@dataclass(frozen=True)
class CreateResult:
    """What `JobStore.create` did: ``created``, ``existing`` (idempotent replay) or ``full`` (cap)."""

    outcome: str
    job_id: str | None = None
    body_hash: str | None = None
    depth: int | None = None


class JobStore:
    """Synchronous access to jobs (API routes, workers, tests). One per process; thread-safe."""

    def __init__(self, client: redis.Redis, retention_s: int = 7 * 24 * 3600):
        self.r = client
        self.retention_s = int(retention_s)
        self._create = client.register_script(store_scripts.CREATE)
        self._transition = client.register_script(store_scripts.TRANSITION)
        self._begin = client.register_script(store_scripts.BEGIN)
        self._cancel = client.register_script(store_scripts.CANCEL)
        self._progress = client.register_script(store_scripts.PROGRESS)
        self._requeue_stopped = client.register_script(store_scripts.REQUEUE_STOPPED)
        self._save_checkpoint = client.register_script(store_scripts.SAVE_CHECKPOINT)

    @classmethod
    def from_url(cls, url: str, retention_s: int = 7 * 24 * 3600) -> JobStore:
        return cls(redis.Redis.from_url(url, health_check_interval=30, socket_connect_timeout=5), retention_s)

    # --- keys -----------------------------------------------------------------------------------------
    @staticmethod
    def job_key(job_id: str) -> str:
        return f"{PREFIX}job:{job_id}"

    @classmethod
    def events_key(cls, job_id: str) -> str:
        return cls.job_key(job_id) + ":events"

    @classmethod
    def images_key(cls, job_id: str) -> str:
        return cls.job_key(job_id) + ":images"

    @classmethod
    def checkpoint_key(cls, job_id: str) -> str:  # the scripts that end a job delete it by this name
        return cls.job_key(job_id) + ":checkpoint"

    def _keys(self, job_id: str) -> list[str]:
        return [self.job_key(job_id), self.events_key(job_id), self.images_key(job_id)]

    # --- creating and reading -------------------------------------------------------------------------
    def create(
        self,
        job_id: str,
        request: dict,
        *,
        profile_label: str,
        body_hash: str,
        idempotency_key: str | None = None,
        queue_cap: int = 0,
        owner: str = "",
    ) -> CreateResult:
        """Store a new queued job, unless the idempotency key is known or the queue is full.

        ``owner``: the id of the API key that made it ("" without keys); the job is then listed in
        that owner's index too (`list` with ``owner``).
        """
        now = time.time()
        fields = {
            "owner": owner,
            "id": job_id,
            "created_at": repr(now),
            "request": dumps(request),
            "profile_label": profile_label,
            "num_images": str(request["num_images"]),
            "attempts": "0",
            "cancel_requested": "0",
            "body_hash": body_hash,
        }
        idem = f"{PREFIX}idem:{idempotency_key}" if idempotency_key else ""
        outcome, value = self._create(
            keys=[self.job_key(job_id), self.events_key(job_id), idem],
            args=[
                PREFIX,
                job_id,
                dumps(fields),
                int(queue_cap),
                self.retention_s,
                f"{job_id}\n{body_hash}",
                dumps({"status": "queued"}),
            ],
        )
        outcome, value = outcome.decode(), value.decode()
        if outcome == "existing":
            existing_id, _, existing_hash = value.partition("\n")
            return CreateResult("existing", existing_id, existing_hash)
        if outcome == "full":
            return CreateResult("full", depth=int(value))
        if owner:
            seq = int(self.r.hget(self.job_key(job_id), "seq"))
            self.r.zadd(self.owner_key(owner), {job_id: seq})
        return CreateResult("created", job_id, body_hash)

    @staticmethod
    def owner_key(owner: str) -> str:
        return f"{PREFIX}owner:{owner}"

    def get(self, job_id: str) -> dict | None:
        """The job record with JSON fields decoded and numbers parsed, or None."""
        raw = self.r.hgetall(self.job_key(job_id))
        return _decode(raw) if raw else None

    def get_many(self, job_ids) -> list[dict | None]:
        """The records of several jobs (None for one that does not exist), in order, in one round trip."""
        pipe = self.r.pipeline()
        for job_id in job_ids:
            pipe.hgetall(self.job_key(job_id))
        return [_decode(raw) if raw else None for raw in pipe.execute()]

    def exists(self, job_id: str) -> bool:
        return bool(self.r.exists(self.job_key(job_id)))

    def status(self, job_id: str) -> str | None:
        value = self.r.hget(self.job_key(job_id), "status")
        return value.decode() if value is not None else None

    def list(
        self, status: str | None = None, limit: int = 20, before: int | None = None, owner: str | None = None
    ) -> tuple[list[dict], int | None]:
        """Newest first: (jobs, cursor of the next page or None). ``before`` is a creation sequence number;
        ``owner`` (an API key id) lists only that owner's jobs."""
        if owner is not None:
            return self._list_owned(owner, status, limit, before)
        index = f"{PREFIX}status:{status}" if status else f"{PREFIX}jobs"
        upper = f"({before}" if before is not None else "+inf"
        entries = self.r.zrevrangebyscore(index, upper, "-inf", start=0, num=limit + 1, withscores=True)
        page, more = entries[:limit], len(entries) > limit
        pipe = self.r.pipeline()
        for job_id, _ in page:
            pipe.hgetall(self.job_key(job_id.decode()))
        jobs, gone = [], []
        for (job_id, _), raw in zip(page, pipe.execute()):
            if raw:
                jobs.append(_decode(raw))
            else:
                gone.append(job_id)
        if gone:  # expired by retention: drop from the indexes lazily
            self._forget(gone)
        cursor = int(page[-1][1]) if more and page else None
        return jobs, cursor

    def _list_owned(self, owner: str, status: str | None, limit: int, before: int | None):
        """`list` over one owner's index, the status filter applied to the records (read in chunks)."""
        index, upper, found, more = self.owner_key(owner), f"({before}" if before is not None else "+inf", [], False
        while True:
            entries = self.r.zrevrangebyscore(index, upper, "-inf", start=0, num=4 * (limit + 1), withscores=True)
            if not entries:
                break
            records = self.get_many([job_id.decode() for job_id, _ in entries])
            gone = [job_id for (job_id, _), record in zip(entries, records) if record is None]
            if gone:
                self.r.zrem(index, *gone)
            for record in records:
                if record is not None and (status is None or record["status"] == status):
                    found.append(record)
            if len(found) > limit:
                more = True
                break
            upper = f"({int(entries[-1][1])}"
        page = found[:limit]
        return page, (page[-1]["seq"] if more and page else None)

    def _forget(self, job_ids) -> None:
        pipe = self.r.pipeline()
        for key in [f"{PREFIX}jobs"] + [f"{PREFIX}status:{s}" for s in STATUSES]:
            pipe.zrem(key, *job_ids)
        pipe.execute()

    def counts(self) -> dict[str, int]:
        """Jobs per status (expired ones are removed by `prune`)."""
        pipe = self.r.pipeline()
        for s in STATUSES:
            pipe.zcard(f"{PREFIX}status:{s}")
        return dict(zip(STATUSES, pipe.execute()))

    def prune(self, batch: int = 500) -> int:
        """Remove index entries of expired jobs (the oldest ``batch`` of each index); returns how many."""
        removed = 0
        for key in [f"{PREFIX}jobs"] + [f"{PREFIX}status:{s}" for s in STATUSES]:
            ids = self.r.zrange(key, 0, batch - 1)
            if not ids:
                continue
            pipe = self.r.pipeline()
            for job_id in ids:
                pipe.exists(self.job_key(job_id.decode()))
            gone = [job_id for job_id, alive in zip(ids, pipe.execute()) if not alive]
            if gone:
                self._forget(gone)
                removed += len(gone)
        return removed

    # --- status changes -------------------------------------------------------------------------------
    def transition(
        self,
        job_id: str,
        allowed: tuple[str, ...],
        new: str,
        fields: dict | None = None,
        event: dict | None = None,
        attempt: int | None = None,
        expire: bool = False,
    ) -> tuple[str, str]:
        """Move ``job_id`` from one of ``allowed`` to ``new``: ('ok'|'missing'|'conflict'|'stale', previous)."""
        encoded = {k: (v if isinstance(v, str) else dumps(v)) for k, v in (fields or {}).items()}
        outcome, previous = self._transition(
            keys=self._keys(job_id),
            args=[
                PREFIX,
                "," + ",".join(allowed) + ",",
                new,
                dumps(encoded) if encoded else "{}",
                dumps(event) if event is not None else "",
                "" if attempt is None else str(attempt),
                self.retention_s if expire else "",
            ],
        )
        return outcome.decode(), previous.decode()

    def begin(self, job_id: str, max_attempts: int, worker: dict) -> tuple[str, str]:
        """A worker takes the job: ('started', attempt) | ('skip', status) | ('exhausted', attempts) | ('missing', '')."""
        outcome, value = self._begin(
            keys=self._keys(job_id)[:2],
            args=[PREFIX, int(max_attempts), repr(time.time()), dumps(worker), self.retention_s],
        )
        return outcome.decode(), value.decode()

    def cancel(self, job_id: str) -> tuple[str, str]:
        """('cancelled', 'queued') at once, ('requested', 'running'), ('terminal', status) or ('missing', '')."""
        outcome, value = self._cancel(
            keys=self._keys(job_id)[:2],
            args=[PREFIX, repr(time.time()), self.retention_s, dumps({"status": "cancelled"})],
        )
        return outcome.decode(), value.decode()

    def progress(self, job_id: str, attempt: int, progress: dict, event: dict | None) -> str:
        """Record progress (and an event when given): returns 'stale', or the cancel flag '0'/'1'."""
        result = self._progress(
            keys=self._keys(job_id)[:2],
            args=[str(attempt), repr(time.time()), dumps(progress), dumps(event) if event else ""],
        )
        return result.decode()

    def cancel_requested(self, job_id: str) -> bool:
        return self.r.hget(self.job_key(job_id), "cancel_requested") == b"1"

    def stop_flags(self, job_id: str) -> tuple[bool, bool]:
        """(cancel requested, stop requested): what a running job checks before each sampler step."""
        cancel, stop = self.r.hmget(self.job_key(job_id), "cancel_requested", "preempt")
        return cancel == b"1", stop == b"1"

    def request_stop(self, host: str, ppid: int) -> list[str]:
        """Ask the running jobs of the worker whose Celery parent is ``ppid`` on ``host`` to stop at their next
        step (checkpointed and requeued, `requeue_stopped`); returns their ids."""
        asked = []
        for raw in self.r.zrange(f"{PREFIX}status:running", 0, -1):
            record = self.get(raw.decode())
            worker = (record or {}).get("worker") or {}
            if record and record["status"] == "running" and worker.get("host") == host and worker.get("ppid") == ppid:
                self.r.hset(self.job_key(record["id"]), "preempt", "1")
                asked.append(record["id"])
        return asked

    def requeue_stopped(self, job_id: str, attempt: int, event: dict) -> str:
        """running → queued for a job its stopping worker gives back, its attempt not counted: 'ok' or 'stale'."""
        return self._requeue_stopped(keys=self._keys(job_id)[:2], args=[PREFIX, str(attempt), dumps(event)]).decode()

    def save_checkpoint(self, job_id: str, attempt: int, data: bytes) -> bool:
        """Store ``attempt``'s sampler checkpoint (kept for the retention at most); False if it no longer holds the job."""
        keys = [self.job_key(job_id), self.checkpoint_key(job_id)]
        return bool(self._save_checkpoint(keys=keys, args=[str(attempt), data, self.retention_s]))

    def checkpoint(self, job_id: str) -> bytes | None:
        return self.r.get(self.checkpoint_key(job_id))

    def finish(self, job_id: str, attempt: int, status: str, fields: dict, event: dict) -> str:
        """running → ``status`` for this attempt, keys set to expire after the retention; returns the outcome."""
        fields = {**fields, "finished_at": repr(time.time())}
        outcome, _ = self.transition(job_id, ("running",), status, fields, event, attempt=attempt, expire=True)
        return outcome

    def fail_unless_finished(self, job_id: str, code: str, message: str) -> str:
        """Mark a queued or running job failed (hard time limit, enqueue failure); returns the outcome."""
        error = {"code": code, "message": message, "field": None}
        fields = {"error": error, "finished_at": repr(time.time())}
        outcome, _ = self.transition(
            job_id, ("queued", "running"), "failed", fields, {"status": "failed", "error": error}, expire=True
        )
        return outcome

    def recover_lost(self, live_workers: list[dict], lost_after_s: float) -> list[str]:
        """Put back on the queue the running jobs whose worker is gone; returns their ids (to send again).

        A job is lost when the Celery worker that ran it no longer beats (`worker.registry`: its parent
        pid on its host is not among ``live_workers``) and it has had no heartbeat for ``lost_after_s``.
        The move is the attempt-checked transition running → queued, so two workers recovering at
        once requeue a job once; the next delivery counts the attempt and applies the attempt cap.
        """
        now, lost = time.time(), []
        for raw in self.r.zrange(f"{PREFIX}status:running", 0, -1):
            job_id = raw.decode()
            record = self.get(job_id)
            if record is None or record["status"] != "running":
                continue
            gone_here = registry.process_gone_here(record.get("worker"))  # e.g. cancelled on a broker loss
            if not gone_here and registry.runs_on_a_live_worker(record.get("worker"), live_workers) is not False:
                continue
            beat = record.get("heartbeat_at") or record.get("started_at") or now
            if now - beat < lost_after_s:
                continue
            event = {
                "status": "queued",
                "reason": f"its worker is gone (no heartbeat for {now - beat:.0f} s); requeued",
            }
            outcome, _ = self.transition(
                job_id, ("running",), "queued", {"progress": ""}, event, attempt=record["attempts"]
            )
            if outcome == "ok":
                lost.append(job_id)
        return lost

    def cancel_if_worker_lost(self, job_id: str, live_workers: list[dict]) -> bool:
        """Cancel at once a running job whose worker is gone (nobody would see the cancel flag)."""
        record = self.get(job_id)
        if record is None or record["status"] != "running":
            return False
        if registry.runs_on_a_live_worker(record.get("worker"), live_workers) is not False:
            return False
        outcome, _ = self.transition(
            job_id,
            ("running",),
            "cancelled",
            {"finished_at": repr(time.time())},
            {"status": "cancelled", "reason": "cancelled while its worker was gone"},
            attempt=record["attempts"],
            expire=True,
        )
        return outcome == "ok"

    def reap_stale(self, stale_after_s: float) -> list[str]:
        """Fail running jobs without a heartbeat for ``stale_after_s`` (longer than any redelivery
        takes): e.g. a job whose worker lost Redis mid-job and could not record its end."""
        now, reaped = time.time(), []
        for raw in self.r.zrange(f"{PREFIX}status:running", 0, -1):
            job_id = raw.decode()
            beat = self.r.hget(self.job_key(job_id), "heartbeat_at")
            if beat is not None and now - float(beat) > stale_after_s:
                message = (
                    f"no progress from its worker for {now - float(beat):.0f} s (more than {stale_after_s:.0f} s, "
                    "by which time a lost job would have been redelivered); submit it again"
                )
                if (
                    self.transition(
                        job_id,
                        ("running",),
                        "failed",
                        {"error": {"code": "stale", "message": message, "field": None}, "finished_at": repr(now)},
                        {"status": "failed", "error": {"code": "stale", "message": message}},
                        expire=True,
                    )[0]
                    == "ok"
                ):
                    reaped.append(job_id)
        return reaped

    # --- images and events ----------------------------------------------------------------------------
    def put_images(
        self,
        job_id: str,
        pngs: list[bytes],
        grid: bytes,
        twin_pngs: list[bytes] | None = None,
        twin_grid: bytes | None = None,
    ) -> None:
        """The job's PNGs and grid; a paired job's software twin as ``twin-{k}`` and ``twin-grid``."""
        mapping = {str(k): png for k, png in enumerate(pngs)}
        mapping["grid"] = grid
        mapping.update({f"twin-{k}": png for k, png in enumerate(twin_pngs or [])})
        if twin_grid is not None:
            mapping["twin-grid"] = twin_grid
        pipe = self.r.pipeline()
        pipe.hset(self.images_key(job_id), mapping=mapping)
        pipe.expire(self.images_key(job_id), self.retention_s)
        pipe.execute()

    def image(self, job_id: str, name: str) -> bytes | None:
        return self.r.hget(self.images_key(job_id), name)

    def events(self, job_id: str, after: str = "0-0", count: int = 1000) -> list[tuple[str, str, dict]]:
        """Events after the stream id ``after``: [(id, type, data)]."""
        raw = self.r.xrange(self.events_key(job_id), min=f"({after}" if after != "0-0" else "-", count=count)
        return [decode_event(entry_id, fields) for entry_id, fields in raw]


def decode_event(entry_id, fields: dict) -> tuple[str, str, dict]:
    """(id, type, data) of one raw stream entry."""
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    get = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in fields.items()
    }
    return entry_id, get["type"], json.loads(get["data"])


def _decode(raw: dict) -> dict:
    record = {k.decode(): v.decode() for k, v in raw.items()}
    for name in _JSON_FIELDS:
        value = record.get(name)
        record[name] = json.loads(value) if value else None
    for name in ("created_at", "started_at", "finished_at", "heartbeat_at"):
        record[name] = float(record[name]) if record.get(name) else None
    for name in ("attempts", "seq", "num_images", "stops"):
        record[name] = int(record[name]) if record.get(name) else 0
    record["cancel_requested"] = record.get("cancel_requested") == "1"
    return record
