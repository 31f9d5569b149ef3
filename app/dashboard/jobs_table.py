"""The jobs table's data: which jobs a page shows (paging, filters, search by id), one row per job
with its results, the queue positions of queued jobs, and the last preview of a stopped job.

A page is the newest ``limit`` jobs older than the cursor ``before`` (a creation sequence number,
as ``GET /v1/generations`` pages) that pass the filters: a status (the store's per-status index), a
profile name and an id prefix (read from the records, `SCAN_BUDGET` records at most per page — a
page that hit the budget says so with ``scanned_to``, and "older" goes on from there). A caller
with an API key sees its own jobs only (``owner``, as every data route).

Queue positions come from the Celery queue itself (the broker's Redis list, which workers take
from its right end): a queued job's position is its place among the messages of jobs still
queued — a cancelled job's message stays in the list until a worker skips it, and is not counted.
A queued job with no message in the list has been handed to a worker and is starting.
"""

from __future__ import annotations

import base64
import json
import re
from collections import OrderedDict
from dataclasses import dataclass

from app.api.views import job_view
from app.dashboard import telemetry, uncertainty
from app.dashboard.charts import si
from worker.store import JobStore, decode_event

LIMIT = 25  # rows per page
SCAN_BUDGET = 1_000  # records read at most to fill one filtered page
QUEUE_READ = 1_000  # broker messages read at most (the next ones to be taken); later jobs are "> QUEUE_READ"
ID_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FULL_ID = re.compile(r"^[0-9a-f]{32}$")
PROFILE = re.compile(r"^[A-Za-z0-9_.+/-]{1,64}$")
STOPPED = ("failed", "cancelled")


@dataclass(frozen=True)
class Filters:
    """What one page of the table shows (each already checked by the route's query parameters)."""

    limit: int = LIMIT
    before: int | None = None
    status: str | None = None
    profile: str | None = None
    q: str | None = None  # an id or the start of one

    def matches(self, record: dict) -> bool:
        if self.status and record.get("status") != self.status:
            return False
        if self.profile and profile_name(record.get("request") or {}) != self.profile:
            return False
        return not self.q or record["id"].startswith(self.q.lower())


def profile_name(request: dict) -> str:
    hardware = request.get("hardware") or {}
    return hardware.get("profile", "?") if isinstance(hardware, dict) else str(hardware)


def select(store: JobStore, filters: Filters, owner: str | None = None) -> dict:
    """{"records": the page, "next": cursor of the next (older) page or None, "scanned_to": the cursor
    where the scan budget ran out before the page filled (None when it did not)}."""
    if filters.q and FULL_ID.match(filters.q.lower()):  # a whole id: one read, however old the job
        record = store.get(filters.q.lower())
        found = record is not None and (owner is None or record.get("owner", "") == owner) and filters.matches(record)
        return {"records": [record] if found else [], "next": None, "scanned_to": None}
    if not filters.profile and not filters.q:  # the store's own indexes do all of it
        records, cursor = store.list(filters.status, filters.limit, filters.before, owner=owner)
        return {"records": records, "next": cursor, "scanned_to": None}
    found, before, scanned = [], filters.before, 0
    chunk = max(4 * filters.limit, 100)
    while scanned < SCAN_BUDGET:
        records, cursor = store.list(filters.status, min(chunk, SCAN_BUDGET - scanned), before, owner=owner)
        scanned += len(records)
        for record in records:
            if filters.matches(record):
                found.append(record)
                if len(found) > filters.limit:
                    page = found[: filters.limit]
                    return {"records": page, "next": page[-1]["seq"], "scanned_to": None}
        if cursor is None:
            return {"records": found, "next": None, "scanned_to": None}
        before = cursor
    return {"records": found, "next": before, "scanned_to": before}


def queue_positions(store: JobStore, queue: str) -> dict[str, tuple[int, int]]:
    """{job id: (position, waiting)} of the jobs whose message waits in the Celery queue ``queue``:
    1 is taken next; ``waiting`` counts the messages of jobs still queued (`QUEUE_READ` at most)."""
    raw = store.r.lrange(queue, -QUEUE_READ, -1)  # LPUSH in, BRPOP out: the right end goes first
    ids = []
    for message in reversed(raw):
        try:
            payload = json.loads(message)
        except ValueError:
            continue
        job_id = (payload.get("headers") or {}).get("id") or (payload.get("properties") or {}).get("correlation_id")
        if isinstance(job_id, str) and job_id not in ids:
            ids.append(job_id)
    pipe = store.r.pipeline()
    for job_id in ids:
        pipe.hget(JobStore.job_key(job_id), "status")
    waiting = [job_id for job_id, status in zip(ids, pipe.execute()) if status == b"queued"]
    return {job_id: (k + 1, len(waiting)) for k, job_id in enumerate(waiting)}


def last_preview(store: JobStore, job_id: str, look_back: int = 50) -> dict | None:
    """The job's last progress event that carried a preview: {"step", "total", "png"} (PNG bytes) or None."""
    entries = store.r.xrevrange(JobStore.events_key(job_id), "+", "-", count=look_back)
    for entry_id, fields in entries:
        _, kind, data = decode_event(entry_id, fields)
        if kind == "progress" and data.get("preview_png_base64"):
            return {
                "step": data.get("step"),
                "total": data.get("total"),
                "png": base64.b64decode(data["preview_png_base64"]),
            }
    return None


class _Results:
    """Energy per image, KID and run time of finished jobs, kept per (id, finished_at): the stream
    re-reads its page every second, and a finished job's telemetry never changes."""

    def __init__(self, size: int = 1024):
        self.size, self.kept = size, OrderedDict()

    def __call__(self, record: dict) -> dict:
        key = (record["id"], record.get("finished_at"))
        if key in self.kept:
            self.kept.move_to_end(key)
            return self.kept[key]
        found = _results(record)
        if record.get("finished_at"):
            self.kept[key] = found
            if len(self.kept) > self.size:
                self.kept.popitem(last=False)
        return found


def _results(record: dict) -> dict:
    typed = telemetry.report(record)
    energy = typed.energy if typed is not None else None
    per_image = energy.energy_per_image_j if energy is not None and energy.kind == "chip" else None
    quality = typed.quality if typed is not None else None
    kid = quality.batch_kid.model_dump() if quality is not None and quality.batch_kid is not None else None
    return {
        "energy_per_image_j": per_image,
        "energy_text": si(per_image, "J") if per_image is not None else "",
        "kid": None if kid is None else kid.get("mean"),
        "kid_text": (uncertainty.kid_text(kid) or "") if kid else "",
    }


results = _Results()


def row(record: dict, positions: dict[str, tuple[int, int]]) -> dict:
    """One line of the table (seeds as text: they exceed a browser's exact integers)."""
    view = job_view(record, full=False)
    request = view["request"]
    status = view["status"]
    timings = view["timings"]
    stopped = status in STOPPED and (view["progress"].get("step") or 0) > 0
    position = positions.get(view["id"]) if status == "queued" else None
    return {
        "id": view["id"],
        "status": status,
        "created_at": view["created_at"],
        "started_at": view["started_at"],
        "finished_at": view["finished_at"],
        "progress": view["progress"],
        "cancel_requested": view["cancel_requested"],
        "error": (view.get("error") or {}).get("code"),
        "profile": telemetry.profile_label(request, limit=3),
        "profile_full": telemetry.profile_label(request),
        "profile_name": profile_name(request),
        "sampler": request.get("sampler"),
        "steps": request.get("steps"),
        "num_images": request.get("num_images"),
        "seed": None if request.get("seed") is None else str(request["seed"]),
        "duration_s": timings["running_s"] if timings["running_s"] is not None else view["progress"].get("elapsed_s"),
        "queue": None if status != "queued" else {"position": position[0], "waiting": position[1]} if position else {},
        # a picture of the job: its grid, or the last preview of a stopped one that asked for previews
        "thumbnail": status == "succeeded" or (stopped and bool(request.get("preview"))),
        **(results(record) if status == "succeeded" else {}),
    }


def snapshot(store: JobStore, filters: Filters, owner: str | None, queue: str, workers: int) -> tuple[str, list[str]]:
    """The page as the stream's JSON text, and the ids of its queued and running jobs (whose events wake the stream)."""
    page = select(store, filters, owner)
    records = page["records"]
    positions = queue_positions(store, queue) if any(r["status"] == "queued" for r in records) else {}
    payload = {
        "items": [row(r, positions) for r in records],
        "next": page["next"],
        "scanned_to": page["scanned_to"],
        "counts": store.counts(),
        "workers": workers,
        "filters": {"status": filters.status, "profile": filters.profile, "q": filters.q, "before": filters.before},
    }
    return json.dumps(payload, sort_keys=True), [r["id"] for r in records if r["status"] in ("queued", "running")]
