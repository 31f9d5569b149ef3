"""Shape a stored job record into the API's `Job` (links, image URLs, timings, ISO times)."""

from __future__ import annotations

from datetime import UTC, datetime

PREFIX = "/v1/generations"


def iso(epoch: float | None) -> str | None:
    return (
        None
        if epoch is None
        else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def job_view(record: dict, max_attempts: int | None = None, full: bool = True) -> dict:
    """The public view of ``record``; ``full=False`` leaves out telemetry and the record (lists)."""
    job_id, status = record["id"], record["status"]
    base = f"{PREFIX}/{job_id}"
    progress = dict(record.get("progress") or {})
    total = progress.get("total") or 0
    progress["fraction"] = (
        round(progress.get("step", 0) / total, 4) if total else (1.0 if status == "succeeded" else 0.0)
    )
    created, started, finished = record.get("created_at"), record.get("started_at"), record.get("finished_at")
    timings = {
        "queued_s": (started or finished) - created if (started or finished) else None,
        "running_s": finished - started if (finished and started) else None,
        "total_s": finished - created if finished else None,
    }
    links = {"self": base, "events": f"{base}/events"}
    if status in ("queued", "running"):
        links["cancel"] = f"{base}/cancel"
    view = {
        "id": job_id,
        "status": status,
        "created_at": iso(created),
        "started_at": iso(started),
        "finished_at": iso(finished),
        "request": record.get("request") or {},
        "progress": progress,
        "attempts": record.get("attempts", 0),
        "max_attempts": max_attempts,
        "resumed": record.get("resumed"),
        "cancel_requested": record.get("cancel_requested", False),
        "worker": record.get("worker"),
        "timings": timings,
        "error": record.get("error"),
        "links": links,
    }
    if status == "succeeded":
        view["images"] = [{"index": k, "url": f"{base}/images/{k}.png"} for k in range(record.get("num_images", 0))]
        view["grid_url"] = links["grid"] = f"{base}/images/grid.png"
        if (record.get("request") or {}).get("paired"):
            view["twin_images"] = [
                {"index": k, "url": f"{base}/images/twin-{k}.png"} for k in range(record.get("num_images", 0))
            ]
            view["twin_grid_url"] = links["twin_grid"] = f"{base}/images/twin-grid.png"
    if full:
        view["telemetry"] = record.get("telemetry")
        view["reproducibility"] = record.get("reproducibility")
    return view
