"""A finished 2 × 2 sweep for the sweep page's tests, without a worker: its point jobs carry real telemetry.

Every point's telemetry is a copy of the vcma-default record in tests/dashboard/data/current/
(real `generate()` output, written by tests/dashboard/fixtures.py) with its energies scaled and its
batch FID set per point, so that the four points spread out and the Pareto front is known:

| point | crossbar.adc_bits | crossbar.read_time | energy × | batch FID | on the front |
|---|---|---|---|---|---|
| 0 | 6 | 1e-9 | 1.00 | 520.0 | yes (least energy) |
| 1 | 6 | 4e-9 | 1.25 | 495.0 | yes |
| 2 | 8 | 1e-9 | 1.60 | 505.0 | no (point 1 beats it on both) |
| 3 | 8 | 4e-9 | 2.10 | the record's own | yes (best FID) |

`seed_sweep` stores it through the stores' own methods (`JobStore.create`, `begin`, `progress`,
`finish`, `SweepStore.create`): nothing is sent to Celery, so the service's worker never sees these
jobs, and a test can move each point on itself (`start_point`, `progress_point`, `finish_point`).
`summary_of` builds the API's view of the same sweep in memory, for tests without Redis.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from pathlib import Path

from worker.store import JobStore
from worker.sweep_plan import plan
from worker.sweep_results import summary
from worker.sweep_store import SweepStore

RECORD = Path(__file__).resolve().parent / "data" / "current" / "vcma_job.json"
AXES = {"crossbar.adc_bits": [6, 8], "crossbar.read_time": [1e-9, 4e-9]}
ENERGY_SCALE = (1.0, 1.25, 1.6, 2.1)
FIDS = (520.0, 495.0, 505.0, None)  # None: the record's own batch FID
FRONT = [0, 1, 3]


def record() -> dict:
    return json.loads(RECORD.read_text())


def point_telemetry(base: dict, scale: float, fid: float | None) -> dict:
    """The record's telemetry with every chip energy × ``scale`` (GPU/chip ratios ÷ ``scale``) and its batch FID."""
    telemetry = copy.deepcopy(base["telemetry"])
    energy = telemetry["energy"]
    energy["energy_j"] = {k: v * scale for k, v in energy["energy_j"].items()}
    for key in ("energy_total_j", "energy_per_image_j", "energy_per_step_j"):
        energy[key] = energy[key] * scale
    ratios = energy["ratios"]["energy_per_image_gpu_over_chip"]
    energy["ratios"]["energy_per_image_gpu_over_chip"] = {k: v / scale for k, v in ratios.items()}
    if fid is not None:
        telemetry["quality"]["batch_fid"]["value"] = fid
    return telemetry


def body(num_images: int) -> dict:
    return {
        "profile": "vcma-default",
        "axes": AXES,
        "num_images": num_images,
        "steps": 3,
        "sampler": "ddpm",
        "seed": 1,
        "chip_seed": 0,
        "noise": "torch",
        "eta": 0.0,
        "quality": {"enabled": True},
        "overrides": None,
        "emulation": None,
        "points": None,
    }


def _point_request(sweep: dict, model: dict, point, sweep_id: str) -> dict:
    request = {k: v for k, v in sweep.items() if k not in ("profile", "overrides", "emulation", "axes", "points")}
    request.update(
        model=model["id"],
        model_sha256=model["sha256"],
        paired=False,
        preview=False,
        hardware={"profile": sweep["profile"], "overrides": point.overrides, "profile_hash": point.profile_hash},
        sweep={"id": sweep_id, "point": point.index},
    )
    return request


WORKER = {"host": "sweep-test", "pid": 0}


def seed_sweep(store: JobStore, model: dict, owner: str = "", finish: bool = True) -> dict:
    """Store the sweep and its four point jobs, ``owner``'s (an API key id, as `app.api.deps.key_id`
    names it; "" without keys), each run to success unless ``finish`` is false (then they stay
    queued: `start_point`, `progress_point` and `finish_point` move them on); returns the sweep
    record (`SweepStore.get`)."""
    sweep = body(record()["request"]["num_images"])
    sweep_id = uuid.uuid4().hex
    stored = []
    for point in plan("vcma-default", None, None, AXES, None):
        job_id = uuid.uuid4().hex
        request = _point_request(sweep, model, point, sweep_id)
        body_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        created = store.create(job_id, request, profile_label="vcma-default+sweep", body_hash=body_hash, owner=owner)
        assert created.outcome == "created", created
        stored.append(
            {"index": point.index, "values": point.values, "profile_hash": point.profile_hash, "job_id": job_id}
        )
    accepted = {**sweep, "model": model["id"], "model_sha256": model["sha256"]}
    sweeps = SweepStore(store)
    sweeps.create(sweep_id, accepted, stored, owner=owner)
    created = sweeps.get(sweep_id)
    if finish:
        for k in range(len(stored)):
            finish_point(store, created, k, start_point(store, created, k))
    return created


def start_point(store: JobStore, sweep: dict, k: int) -> int:
    """Point ``k``'s job taken as a worker takes it (`JobStore.begin`); returns the attempt."""
    outcome, attempt = store.begin(sweep["points"][k]["job_id"], 3, WORKER)
    assert outcome == "started", (outcome, attempt)
    return int(attempt)


def progress_point(store: JobStore, sweep: dict, k: int, attempt: int, step: int, total: int = 3) -> None:
    """A progress record and event of point ``k``'s job, as `worker.progress.ProgressReporter` writes them."""
    progress = {"step": step, "total": total, "elapsed_s": 0.1 * step, "eta_s": None}
    assert store.progress(sweep["points"][k]["job_id"], attempt, progress, dict(progress)) != "stale"


def finish_point(store: JobStore, sweep: dict, k: int, attempt: int) -> None:
    """Point ``k``'s job succeeded with the fixture's telemetry, scaled for this point (the table above)."""
    base = record()
    point = sweep["points"][k]
    job = store.get(point["job_id"])
    reproducibility = {**base["reproducibility"], "job_id": point["job_id"], "hardware": job["request"]["hardware"]}
    reproducibility["profile_hash"] = point["profile_hash"]
    fields = {
        "telemetry": point_telemetry(base, ENERGY_SCALE[k], FIDS[k]),
        "reproducibility": reproducibility,
        "progress": {"step": 3, "total": 3, "eta_s": 0.0},
    }
    done = store.finish(point["job_id"], attempt, "succeeded", fields, {"status": "succeeded", "images": 0})
    assert done == "ok", done


def summary_of(statuses: tuple[str, ...] = ("succeeded",) * 4) -> dict:
    """The API's view (`worker.sweep_results.summary`) of the sweep, in memory; points get ``statuses``."""
    base = record()
    points, jobs = [], []
    for point, scale, fid, status in zip(plan("vcma-default", None, None, AXES, None), ENERGY_SCALE, FIDS, statuses):
        job_id = f"{point.index:032x}"
        points.append(
            {"index": point.index, "values": point.values, "profile_hash": point.profile_hash, "job_id": job_id}
        )
        job = {"id": job_id, "status": status, "num_images": base["request"]["num_images"], "error": None}
        job["progress"] = {"step": 3 if status == "succeeded" else 1, "total": 3}
        if status == "succeeded":
            job["telemetry"] = point_telemetry(base, scale, fid)
        jobs.append(job)
    sweep = {
        "id": "ab" * 16,
        "created_at": time.time(),
        "request": body(base["request"]["num_images"]),
        "points": points,
        "cancel_requested": False,
    }
    return summary(sweep, jobs)
