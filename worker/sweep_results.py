"""A sweep's state and results from its point jobs: per-point quality, energy, area, latency; the Pareto front; CSV.

Each point's results come from its job's telemetry (`diffusion.telemetry.report`): the batch FID
and KID at the point's N (all points of a sweep share N, seeds and sampler, so their batch FIDs
compare with each other, not with FID@10k: docs/quality.md), the KID's spread over its subsets,
the energy per image in total and by component, the area, the latency per image and the
GPU/TPU-over-chip energy ratios. The Pareto front is the set of succeeded points that no other
point beats on both FID (lower) and energy per image (lower). Imports no torch.
"""

from __future__ import annotations

import csv
import io

from worker.store import TERMINAL

#: the energy components of the telemetry's ``energy.energy_j``, per image in a point's results
ENERGY_COMPONENTS = ("array_read", "adc", "dac", "shift_add", "digital", "rng", "rng_calibration", "programming")


def point_results(job: dict | None) -> dict | None:
    """The results of one succeeded point job, None otherwise."""
    if job is None or job.get("status") != "succeeded":
        return None
    telemetry = job.get("telemetry") or {}
    energy = telemetry.get("energy") or {}
    quality = telemetry.get("quality") or {}
    images = energy.get("images") or job.get("num_images") or 1
    fid = (quality.get("batch_fid") or {}).get("value")
    kid = quality.get("batch_kid") or {}
    return {
        "n": quality.get("n") or images,  # the quality block has n: null without reference statistics
        "fid": fid,
        "fid_note": "batch FID at this N: comparable across the sweep's points (same N, seeds, sampler), not with FID@10k",
        "kid_mean": kid.get("mean"),
        "kid_std": kid.get("std"),
        "quality_available": bool(quality.get("available")),
        "energy_per_image_j": energy.get("energy_per_image_j"),
        "energy_per_image_by_component_j": {
            k: v / images for k, v in (energy.get("energy_j") or {}).items() if k in ENERGY_COMPONENTS
        },
        "area_total_mm2": energy.get("area_total_mm2"),
        "latency_per_image_s": (energy.get("latency_s") or {}).get("per_image"),
        "energy_ratio_gpu_over_chip": (energy.get("ratios") or {}).get("energy_per_image_gpu_over_chip"),
    }


def pareto(points: list[dict]) -> list[int]:
    """Indices of the points on the front of (FID, energy per image), both lower-better, by ascending energy."""
    scored = [
        p
        for p in points
        if p.get("results") and p["results"]["fid"] is not None and p["results"]["energy_per_image_j"] is not None
    ]

    def dominated(p: dict) -> bool:
        a = p["results"]
        for q in scored:
            b = q["results"]
            if q is not p and b["fid"] <= a["fid"] and b["energy_per_image_j"] <= a["energy_per_image_j"]:
                if b["fid"] < a["fid"] or b["energy_per_image_j"] < a["energy_per_image_j"]:
                    return True
        return False

    front = [p for p in scored if not dominated(p)]
    return [p["index"] for p in sorted(front, key=lambda p: p["results"]["energy_per_image_j"])]


def sweep_status(statuses: list[str | None], cancel_requested: bool) -> str:
    """queued (nothing started), running, or once every point is terminal: succeeded, cancelled or failed."""
    known = ["failed" if s is None else s for s in statuses]  # an expired point job is lost: count it failed
    if not all(s in TERMINAL for s in known):
        return "queued" if all(s == "queued" for s in known) else "running"
    if all(s == "succeeded" for s in known):
        return "succeeded"
    return "cancelled" if cancel_requested else "failed"


def summary(sweep: dict, jobs: list[dict | None]) -> dict:
    """The sweep as the API returns it: request, status, counts, points with their results, the Pareto front."""
    points = []
    for point, job in zip(sweep["points"], jobs):
        status = None if job is None else job.get("status")
        points.append(
            {
                "index": point["index"],
                "values": point["values"],
                "profile_hash": point["profile_hash"],
                "job_id": point["job_id"],
                "job_url": f"/v1/generations/{point['job_id']}",
                "status": status or "expired",
                "progress": None if job is None else job.get("progress"),
                "error": None if job is None else job.get("error"),
                "results": point_results(job),
            }
        )
    statuses = [None if job is None else job.get("status") for job in jobs]
    counts: dict[str, int] = {}
    for p in points:
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    return {
        "id": sweep["id"],
        "created_at": sweep["created_at"],
        "status": sweep_status(statuses, sweep["cancel_requested"]),
        "cancel_requested": sweep["cancel_requested"],
        "request": sweep["request"],
        "axes": list(sweep["points"][0]["values"]) if sweep["points"] else [],
        "counts": counts,
        "points": points,
        "pareto": pareto(points),
        "links": {"self": f"/v1/sweeps/{sweep['id']}", "csv": f"/v1/sweeps/{sweep['id']}.csv"},
    }


def to_csv(view: dict) -> str:
    """One row per point: its parameters, status, job, quality, energy (total and by component), area, latency."""
    axes = view["axes"]
    gpus = sorted(
        {g for p in view["points"] if p["results"] for g in (p["results"]["energy_ratio_gpu_over_chip"] or {})}
    )
    header = [
        "point",
        *axes,
        "status",
        "job_id",
        "profile_hash",
        "n",
        "fid",
        "kid_mean",
        "kid_std",
        "energy_per_image_j",
        *(f"energy_{c}_per_image_j" for c in ENERGY_COMPONENTS),
        "area_total_mm2",
        "latency_per_image_s",
        *(f"energy_ratio_{g}_over_chip" for g in gpus),
        "pareto",
    ]
    front = set(view["pareto"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for p in view["points"]:
        r = p["results"] or {}
        by = r.get("energy_per_image_by_component_j") or {}
        ratios = r.get("energy_ratio_gpu_over_chip") or {}
        writer.writerow(
            [
                p["index"],
                *(p["values"].get(a) for a in axes),
                p["status"],
                p["job_id"],
                p["profile_hash"],
                r.get("n"),
                r.get("fid"),
                r.get("kid_mean"),
                r.get("kid_std"),
                r.get("energy_per_image_j"),
                *(by.get(c) for c in ENERGY_COMPONENTS),
                r.get("area_total_mm2"),
                r.get("latency_per_image_s"),
                *(ratios.get(g) for g in gpus),
                int(p["index"] in front),
            ]
        )
    return out.getvalue()
