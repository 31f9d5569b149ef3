"""Jobs written straight into the job store, with no worker ever seeing them: queued, running, or
ended (succeeded, failed, cancelled) at a chosen step, with progress events carrying previews and,
for a succeeded job, its PNGs. They let the dashboard's tests show many jobs, a job that failed at
step 3 with its last preview, or two override runs, in milliseconds instead of real generations.

Nothing here sends a Celery message: a worker never takes these jobs. They go through the store's
own transitions (`worker.store.JobStore`: create, begin, progress, finish), so their records are
shaped as a worker's are.
"""

from __future__ import annotations

import base64
import io
import itertools
import uuid

from worker.store import JobStore

_colours = itertools.count(1)
WORKER = {"host": "stored-jobs", "pid": 0, "parent_pid": 0}


def png(size: int = 28, shade: int | None = None) -> bytes:
    """A small grey PNG (each call a different shade unless one is given)."""
    from PIL import Image

    shade = (next(_colours) * 37) % 256 if shade is None else shade
    buffer = io.BytesIO()
    Image.new("L", (size, size), shade).save(buffer, format="PNG")
    return buffer.getvalue()


def request(profile: str = "vcma-default", overrides: dict | None = None, steps: int = 10, **extra) -> dict:
    hardware = "software" if profile == "software" else {"profile": profile, "overrides": overrides}
    return {
        "num_images": 4,
        "steps": steps,
        "sampler": "ddim",
        "seed": 7,
        "chip_seed": 0,
        "hardware": hardware,
        **extra,
    }


def store_job(
    store: JobStore,
    body: dict,
    status: str = "succeeded",
    *,
    owner: str = "",
    step: int | None = None,
    previews: bool = False,
    fields: dict | None = None,
) -> str:
    """A job of request ``body`` left in ``status``; running, failed and cancelled ones reach ``step``
    (default: half the steps), with a progress event per step carrying a preview PNG when ``previews``.
    Returns its id."""
    job_id = uuid.uuid4().hex
    body = {"preview": previews, **body}
    result = store.create(job_id, body, profile_label="stored", body_hash=job_id, owner=owner)
    assert result.outcome == "created", result
    if status == "queued":
        return job_id
    if status == "cancelled" and step is None:
        store.cancel(job_id)
        return job_id
    outcome, attempt = store.begin(job_id, 3, WORKER)
    assert outcome == "started", (outcome, attempt)
    total = body["steps"]
    reached = total if status == "succeeded" else (total // 2 if step is None else step)
    for k in range(1, reached + 1):
        progress = {"step": k, "total": total, "elapsed_s": 0.1 * k, "eta_s": 0.1 * (total - k)}
        event = (
            dict(progress, preview_png_base64=base64.b64encode(png(56, min(250, 60 + 15 * k))).decode())
            if previews
            else None
        )
        store.progress(job_id, int(attempt), progress, event)
    if status == "running":
        return job_id
    end = dict(fields or {})
    if status == "succeeded":
        pictures = [png() for _ in range(body["num_images"])]
        store.put_images(job_id, pictures, png(60))
    if status == "failed":
        end.setdefault("error", {"code": "emulation_error", "message": "stored for a test", "field": None})
    if status == "cancelled":
        store.cancel(job_id)
    finished = store.finish(job_id, int(attempt), status, end, {"status": status})
    assert finished == "ok", finished
    return job_id


def remove(store: JobStore, job_ids: list[str], owner: str = "") -> None:
    """Take jobs made by `store_job` out of the store again (keys and indexes), so that they do not
    push other tests' jobs off the jobs table's first page."""
    if not job_ids:
        return
    keys = [
        key for job_id in job_ids for key in (store.job_key(job_id), store.events_key(job_id), store.images_key(job_id))
    ]
    store.r.delete(*keys)
    store.r.zrem(store.owner_key(owner), *job_ids)
    store.prune(batch=100_000)  # the index entries of jobs whose record is gone
