"""worker/runner.py's `run_job` with a fake runtime: its control flow without a model or a Celery worker.

The job is submitted through the in-process API (``make_api``, tests/service/conftest.py), so the
stored request is the one the API writes; `run_job` then runs it against the same real Redis with
`FakeRuntime` in place of `worker.runtime.Runtime`: the same settings and job store, and a
``generate`` that keeps `diffusion.generation.loop.sample`'s contract (``cancel()`` before each
step, ``progress(done, total, x̂₀)`` after it) but makes its images from a recipe instead of a
network. What is checked is what `run_job` owns: begin and attempts, progress, cancel, the error
codes, images and record stored under the attempt's number, and the service metrics.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from celery.exceptions import SoftTimeLimitExceeded
from PIL import Image

from device.errors import InputError
from diffusion.generation.generate import GenerationRequest, GenerationResult
from diffusion.generation.images import read_record
from diffusion.generation.loop import Cancelled
from diffusion.generation.resume import GenerationState, StateMismatch
from diffusion.telemetry.report import generation_telemetry
from tests.service.helpers import TINY, submit
from worker import metrics_store, registry
from worker.runner import run_job

MODEL_SHA = "5" * 64


class FakeBundle:
    sha256 = MODEL_SHA  # all the quality block reads of a bundle


def images_of(request: GenerationRequest, offset: int = 0) -> np.ndarray:
    """Distinct, deterministic uint8 images (N, 28, 28) for ``request``."""
    return (
        ((np.arange(request.num_images * 28 * 28) + request.seed + offset) % 256).astype(np.uint8).reshape(-1, 28, 28)
    )


def result_of(request: GenerationRequest, twin: bool = False) -> GenerationResult:
    """What `diffusion.generation.generate.generate` returns, with the record `run_job` stores."""
    reproducibility = {
        "seed": request.seed,
        "chip_seed": request.chip_seed,
        "model_sha256": MODEL_SHA,
        "profile": None,
        "profile_hash": None,
        "sampler": {
            "name": request.sampler,
            "steps": request.steps,
            "eta": request.eta,
            "timesteps": list(range(request.steps))[::-1],
        },
        "noise": {"source": request.noise},
        "code_version": "test",
    }
    telemetry = generation_telemetry(
        request={**request.__dict__, "profile": getattr(request.profile, "name", request.profile)},
        timings={"sampling_s": 0.01, "total_s": 0.02},
        energy=None,
        reproducibility=reproducibility,
    )
    return GenerationResult(images_of(request), telemetry, images_of(request, 1) if twin else None)


class FakeRuntime:
    """The four things `run_job` uses of `worker.runtime.Runtime`; ``generate`` follows a recipe.

    ``during_step(k, store, job_id)`` runs inside step k (k = steps + 1: after the last one), as
    another process might act meanwhile (cancel the job, redeliver it); ``fail`` is raised after the
    steps; ``twin`` adds twin images. A ``checkpoint`` callback gets a `GenerationState` after each
    step (x filled with the step number); a ``resume`` state starts the steps after its own (each
    call's is in ``resumed_from``), unless ``refuse_resume`` (then `StateMismatch`).
    """

    def __init__(
        self, api, during_step=None, fail: BaseException | None = None, twin: bool = False, refuse_resume=False
    ):
        self.settings, self.store = api.settings, api.store
        self.during_step, self.fail, self.twin, self.refuse_resume = during_step, fail, twin, refuse_resume
        self.calls: list[tuple[GenerationRequest, str]] = []
        self.resumed_from: list[int | None] = []
        self.job_id = None

    def bundle(self, model_id: str) -> FakeBundle:
        return FakeBundle()

    def generate(
        self, request: GenerationRequest, model_id: str, progress, cancel, resume=None, checkpoint=None
    ) -> GenerationResult:
        self.calls.append((request, model_id))
        self.resumed_from.append(None if resume is None else resume.step)
        if resume is not None and self.refuse_resume:
            raise StateMismatch("the generation state belongs to another request (fingerprint mismatch)")
        total = request.steps
        for i in range(0 if resume is None else resume.step, total):
            if cancel():
                raise Cancelled(i, total)
            if self.during_step is not None:
                self.during_step(i + 1, self.store, self.job_id)
            progress(i + 1, total, torch.zeros(request.num_images, 1, 28, 28))
            if checkpoint is not None:
                x = np.full((request.num_images, 1, 28, 28), i + 1, np.float32)
                checkpoint(GenerationState(i + 1, total, x, "fake"))
        if self.during_step is not None:
            self.during_step(total + 1, self.store, self.job_id)  # after the last step, before the result
        if self.fail is not None:
            raise self.fail
        return result_of(request, self.twin)


def run(api, body=None, **fake) -> tuple[str, str, FakeRuntime]:
    """Submit ``body`` through the API, run it with a `FakeRuntime`: (job id, outcome, runtime)."""
    job_id = submit(api.client, TINY if body is None else body)["id"]
    runtime = FakeRuntime(api, **fake)
    runtime.job_id = job_id
    return job_id, run_job(job_id, runtime), runtime


def kinds(store, job_id: str) -> list[str]:
    return [kind for _, kind, _ in store.events(job_id)]


@pytest.fixture()
def api(make_api, tmp_path):
    # every progress step is an event; no reference statistics (a quality block says so)
    return make_api(progress_interval_s=0.0, max_attempts=2, reference_stats=tmp_path / "absent.npz")


def test_a_job_runs_to_succeeded_with_progress_images_and_its_record(api):
    job_id, outcome, runtime = run(api, {**TINY, "seed": 7})
    assert outcome == "succeeded"
    ((request, model_id),) = runtime.calls
    assert model_id == "default" and request.profile == "software"
    assert (request.num_images, request.steps, request.seed) == (2, 3, 7)
    job = api.store.get(job_id)
    assert job["status"] == "succeeded" and job["attempts"] == 1 and job["finished_at"] >= job["started_at"]
    assert job["progress"] == {"step": 3, "total": 3, "eta_s": 0.0}
    assert kinds(api.store, job_id) == ["queued", "running", "progress", "progress", "progress", "succeeded"]
    assert api.store.events(job_id)[-1][2] == {"status": "succeeded", "images": 2}
    record = job["reproducibility"]
    assert record["job_id"] == job_id and record["model"] == "default" and record["seed"] == 7
    assert record["hardware"] == {"profile": "software", "overrides": None, "profile_hash": None}
    assert "reproducibility" not in job["telemetry"]  # kept once, as the job's own field
    quality = job["telemetry"]["quality"]
    assert quality["available"] is False and quality["reason"] == "not requested (quality.enabled = false)"
    for k in range(2):
        png = api.store.image(job_id, str(k))
        assert read_record(png) == {**record, "index": k}
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), images_of(request)[k])
        served = api.client.get(f"/v1/generations/{job_id}/images/{k}.png")
        assert served.status_code == 200 and served.content == png
    assert read_record(api.store.image(job_id, "grid")) == record and api.store.image(job_id, "twin-0") is None
    snap = metrics_store.snapshot(api.redis)
    assert snap["duration"]["succeeded"]["count"] == 1 and snap["images"] == {"software": 2} and snap["energy"] == {}


def test_a_finished_job_is_not_run_again_and_a_missing_one_is_nothing_to_do(api):
    job_id, outcome, runtime = run(api)
    assert outcome == "succeeded"
    assert run_job(job_id, runtime) == "skip"  # a redelivered message of a finished job
    assert len(runtime.calls) == 1 and api.store.get(job_id)["attempts"] == 1
    assert run_job("no-such-job", runtime) == "missing" and len(runtime.calls) == 1


def test_the_stored_hardware_reaches_the_generation_resolved_with_its_overrides(api):
    overrides = {"rng": {"dac_bits": 8}}
    body = {**TINY, "hardware": {"profile": "ideal", "overrides": overrides}, "paired": True}
    job_id, outcome, runtime = run(api, body, twin=True)
    assert outcome == "succeeded"
    ((request, _),) = runtime.calls
    assert request.profile.name == "ideal" and request.profile.rng.dac_bits == 8
    assert request.profile.hash == api.store.get(job_id)["request"]["hardware"]["profile_hash"]
    assert request.paired is True and request.noise == "torch"
    twin = read_record(api.store.image(job_id, "twin-1"))
    assert twin["twin"] == "software network, same noise" and twin["index"] == 1
    assert api.store.image(job_id, "twin-grid") is not None


def test_a_cancel_during_the_run_stops_it_with_the_steps_done(api):
    # this process runs the job: it beats as its worker, so the cancel is a flag it sees, not an abort
    registry.beat(api.redis, "test@runner", registry.identity() | {"pid": os.getppid()}, ttl_s=60)

    def cancel_in_step_2(step, store, job_id):
        if step == 2:  # a user cancels while step 2 runs: the flag is seen before step 3
            assert api.client.post(f"/v1/generations/{job_id}/cancel").status_code == 202

    job_id, outcome, _ = run(api, {**TINY, "steps": 5}, during_step=cancel_in_step_2)
    assert outcome == "cancelled"
    job = api.store.get(job_id)
    assert job["status"] == "cancelled" and job["telemetry"]["cancelled"] == {
        "steps_done": 2,
        "total": 5,
        "twin_steps_done": None,
    }
    assert job["progress"]["step"] == 2 and api.store.image(job_id, "0") is None
    assert kinds(api.store, job_id)[-1] == "cancelled"
    assert api.store.events(job_id)[-1][2] == {"status": "cancelled", "steps_done": 2, "total": 5}
    snap = metrics_store.snapshot(api.redis)
    assert snap["duration"]["cancelled"]["count"] == 1 and snap["images"] == {}


def test_the_partial_telemetry_generate_attaches_to_a_cancel_is_stored(api):
    partial = Cancelled(3, 3)  # the chip run finished, its software twin was stopped after 1 step
    partial.telemetry = generation_telemetry(
        request=None,
        timings={"total_s": 0.5},
        energy=None,
        cancelled={"steps_done": 3, "total": 3, "twin_steps_done": 1},
    )
    job_id, outcome, _ = run(api, fail=partial)
    assert outcome == "cancelled"
    assert api.store.get(job_id)["telemetry"] == partial.telemetry
    assert api.store.events(job_id)[-1][2] == {"status": "cancelled", "steps_done": 3, "total": 3, "twin_steps_done": 1}


def test_a_cancel_requested_before_a_redelivery_stops_it_before_generating(api):
    job_id = submit(api.client)["id"]
    assert api.store.begin(job_id, 2, {"pid": 1}) == ("started", "1")  # a worker took it, then was lost
    assert api.client.post(f"/v1/generations/{job_id}/cancel").status_code == 202
    runtime = FakeRuntime(api)
    assert run_job(job_id, runtime) == "cancelled" and runtime.calls == []
    job = api.store.get(job_id)
    assert job["attempts"] == 2 and job["telemetry"]["cancelled"]["steps_done"] == 0


@pytest.mark.parametrize(
    "error, code, words",
    [
        (InputError("steps must be at most 1000, got 5000"), "invalid_request", "steps must be at most 1000, got 5000"),
        (RuntimeError("a bug"), "internal_error", "RuntimeError: a bug"),
        (SoftTimeLimitExceeded(), "time_limit", "soft time limit of 4 s (SPINDIFF_SOFT_TIME_LIMIT_S)"),
    ],
    ids=["refused", "crashed", "soft-time-limit"],
)
def test_a_failing_generation_fails_the_job_with_its_code(make_api, error, code, words):
    api = make_api(progress_interval_s=0.0, time_limit_s=5)  # soft limit 0.8 × 5 = 4 s
    job_id, outcome, _ = run(api, fail=error)
    assert outcome == "failed"
    job = api.store.get(job_id)
    assert job["status"] == "failed" and job["error"]["code"] == code and words in job["error"]["message"]
    assert job["error"]["field"] is None and api.store.image(job_id, "0") is None
    assert api.store.events(job_id)[-1][2] == {"status": "failed", "error": job["error"]}
    assert metrics_store.snapshot(api.redis)["duration"]["failed"]["count"] == 1


def test_an_attempt_superseded_by_a_redelivery_stops_and_writes_nothing(api):
    def redelivered_in_step_2(step, store, job_id):
        if step == 2:  # the visibility timeout passed: another worker took the job over
            assert store.begin(job_id, 2, {"pid": 2}) == ("started", "2")

    job_id, outcome, _ = run(api, during_step=redelivered_in_step_2)
    assert outcome == "superseded"
    job = api.store.get(job_id)
    assert job["status"] == "running" and job["attempts"] == 2 and job["worker"] == {"pid": 2}
    assert job["progress"] is None and api.store.image(job_id, "0") is None  # begin reset attempt 1's progress
    assert kinds(api.store, job_id)[-1] == "running"
    assert metrics_store.snapshot(api.redis)["duration"] == {}


def test_a_finish_after_a_redelivery_is_stale_and_records_nothing(api):
    def redelivered_after_the_last_step(step, store, job_id):
        if step == 4:  # after step 3 of 3, while the images are encoded: the next progress would have told
            store.begin(job_id, 2, {"pid": 2})

    job_id, outcome, _ = run(api, during_step=redelivered_after_the_last_step)
    assert outcome == "stale"
    job = api.store.get(job_id)
    assert job["status"] == "running" and job["attempts"] == 2 and job["telemetry"] is None
    assert kinds(api.store, job_id)[-1] == "running" and metrics_store.snapshot(api.redis)["duration"] == {}


def test_a_job_lost_too_often_fails_as_worker_lost_without_running(api):
    job_id = submit(api.client)["id"]
    for attempt in ("1", "2"):  # max_attempts = 2 deliveries, both lost
        assert api.store.begin(job_id, 2, {}) == ("started", attempt)
    runtime = FakeRuntime(api)
    assert run_job(job_id, runtime) == "failed" and runtime.calls == []
    job = api.store.get(job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "worker_lost" and job["attempts"] == 2
    assert "SPINDIFF_MAX_ATTEMPTS=2" in job["error"]["message"]
    assert metrics_store.snapshot(api.redis)["duration"]["failed"]["count"] == 1


def test_quality_without_reference_statistics_says_where_they_were_looked_for(api, tmp_path):
    job_id, outcome, _ = run(api, {**TINY, "quality": {"enabled": True}})
    assert outcome == "succeeded"
    quality = api.store.get(job_id)["telemetry"]["quality"]
    assert (
        quality["available"] is False and f"no reference statistics at {tmp_path / 'absent.npz'}" in quality["reason"]
    )
