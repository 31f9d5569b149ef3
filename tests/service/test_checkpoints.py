"""worker/checkpoints.py with worker/runner.py and the store's scripts: a stopping worker's job is checkpointed and
requeued without counting an attempt, a requeued job resumes from its stored checkpoint, one that does not fit is
dropped, and the checkpoint is deleted when the job ends. With `tests.service.test_runner.FakeRuntime` (no model);
the real worker, resuming bit for bit, is in tests/service/test_resume.py."""

from __future__ import annotations

import numpy as np
import pytest

from diffusion.generation.resume import GenerationState
from tests.service.helpers import TINY, Clock, submit
from tests.service.test_runner import FakeRuntime, kinds, run
from worker import registry
from worker.checkpoints import Checkpointer, load
from worker.runner import run_job

SLOW = {**TINY, "steps": 6}


@pytest.fixture()
def api(make_api, tmp_path):
    # every step is stored: SPINDIFF_CHECKPOINT_INTERVAL_S=0
    return make_api(
        progress_interval_s=0.0, checkpoint_interval_s=0.0, max_attempts=2, reference_stats=tmp_path / "absent.npz"
    )


def stop_in_step(k: int | None):
    """A ``during_step`` hook: the worker's parent asks the job to stop while step ``k`` runs (seen before k + 1);
    None: the first step this attempt runs."""
    asked = []

    def hook(step, store, job_id):
        if (step == k or k is None) and not asked:
            asked.append(step)
            me = registry.identity()
            assert store.request_stop(me["host"], me["ppid"]) == [job_id]

    return hook


def test_a_stopping_worker_checkpoints_and_requeues_its_job_without_counting_the_attempt(api):
    job_id, outcome, _ = run(api, SLOW, during_step=stop_in_step(4))
    assert outcome == "stopped"
    job = api.store.get(job_id)
    assert job["status"] == "queued" and job["attempts"] == 0 and job["stops"] == 1
    assert api.store.counts()["running"] == 0 and api.store.counts()["queued"] == 1
    event = api.store.events(job_id)[-1]
    assert event[1] == "queued" and event[2]["from_step"] == 4 and "attempt not counted" in event[2]["reason"]
    assert load(api.store, job_id).step == 4

    runtime = FakeRuntime(api)  # the next worker
    assert run_job(job_id, runtime) == "succeeded" and runtime.resumed_from == [4]
    job = api.store.get(job_id)
    assert job["attempts"] == 1 and job["resumed"] == {"from_step": 4, "total": 6, "attempt": 1}
    assert api.client.get(f"/v1/generations/{job_id}").json()["resumed"]["from_step"] == 4
    assert api.store.checkpoint(job_id) is None  # deleted when the job ended
    assert kinds(api.store, job_id).count("progress") == 4 + 2  # steps 1-4, then 5-6 after the resume


def test_a_stopped_job_is_never_failed_by_the_attempt_cap(api):
    job_id = submit(api.client, SLOW)["id"]
    for _ in range(3):  # more stops than SPINDIFF_MAX_ATTEMPTS = 2
        runtime = FakeRuntime(api, during_step=stop_in_step(None))
        runtime.job_id = job_id
        assert run_job(job_id, runtime) == "stopped"
    assert run_job(job_id, FakeRuntime(api)) == "succeeded"
    assert api.store.get(job_id)["attempts"] == 1 and api.store.get(job_id)["stops"] == 3


def test_a_lost_attempt_resumes_from_its_last_stored_checkpoint_and_counts(api):
    job_id = submit(api.client, SLOW)["id"]
    assert api.store.begin(job_id, 2, {"pid": 1}) == ("started", "1")  # attempt 1 stored step 3, then died
    x = np.zeros((2, 1, 28, 28), np.float32)
    assert api.store.save_checkpoint(job_id, 1, GenerationState(3, 6, x, "fake").to_bytes())
    runtime = FakeRuntime(api)
    assert run_job(job_id, runtime) == "succeeded" and runtime.resumed_from == [3]
    assert api.store.get(job_id)["attempts"] == 2  # a lost worker's attempt counts


def test_a_checkpoint_that_does_not_fit_or_cannot_be_read_is_dropped_and_the_job_starts_over(api):
    job_id = submit(api.client, SLOW)["id"]
    api.store.begin(job_id, 2, {"pid": 1})
    api.store.save_checkpoint(job_id, 1, GenerationState(3, 6, np.zeros((2, 1, 28, 28), np.float32), "x").to_bytes())
    runtime = FakeRuntime(api, refuse_resume=True)
    assert run_job(job_id, runtime) == "succeeded" and runtime.resumed_from == [3, None]
    assert api.store.get(job_id)["resumed"] is None

    other = submit(api.client, SLOW)["id"]
    api.store.begin(other, 2, {"pid": 1})
    api.store.save_checkpoint(other, 1, b"not a state")
    runtime = FakeRuntime(api)
    assert run_job(other, runtime) == "succeeded" and runtime.resumed_from == [None]


def test_only_the_attempt_that_holds_the_job_stores_a_checkpoint_and_a_cancel_deletes_it(api):
    job_id = submit(api.client, SLOW)["id"]
    state = GenerationState(1, 6, np.zeros((2, 1, 28, 28), np.float32), "f").to_bytes()
    assert not api.store.save_checkpoint(job_id, 1, state)  # queued: nobody holds it
    api.store.begin(job_id, 2, {"pid": 1})
    assert not api.store.save_checkpoint(job_id, 2, state) and api.store.save_checkpoint(job_id, 1, state)
    assert 0 < api.redis.ttl(api.store.checkpoint_key(job_id)) <= api.settings.retention_s
    api.store.requeue_stopped(job_id, 1, {"status": "queued"})
    assert api.client.post(f"/v1/generations/{job_id}/cancel").json()["status"] == "cancelled"
    assert api.store.checkpoint(job_id) is None


def test_the_checkpointer_stores_at_most_every_interval_and_always_on_save(api):
    job_id = submit(api.client, SLOW)["id"]
    api.store.begin(job_id, 2, {"pid": 1})
    clock = Clock()
    checkpointer = Checkpointer(api.store, job_id, 1, interval_s=10.0, clock=clock)
    state = lambda k: GenerationState(k, 6, np.full((2, 1, 28, 28), k, np.float32), "f")
    checkpointer(state(1))
    clock.now += 9
    checkpointer(state(2))
    assert api.store.checkpoint(job_id) is None  # 9 s < 10 s: in memory only
    clock.now += 2
    checkpointer(state(3))
    assert load(api.store, job_id).step == 3
    checkpointer(state(4))
    assert load(api.store, job_id).step == 3 and checkpointer.save() == 4 and load(api.store, job_id).step == 4
