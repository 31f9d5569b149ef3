"""Sampler checkpoints of running jobs, so that a requeued job resumes from its last finished step.

`diffusion.generation.generate.generate` hands a `diffusion.generation.resume.GenerationState` to
a `Checkpointer` after every sampler step. The checkpointer keeps the latest one in memory (cheap:
a reference and a few kB) and stores it in Redis (``job:{id}:checkpoint``, `worker.store`) at most
every ``SPINDIFF_CHECKPOINT_INTERVAL_S``, written only while its attempt holds the job and kept for
the retention at most; the scripts that end a job delete it.

Two ways a job comes back to a worker with a checkpoint:

* **a graceful stop** (``spindiff serve`` stopped, a compose ``stop``): the worker's parent asks its
  running jobs to stop once ``SPINDIFF_STOP_GRACE_S`` has passed (`worker.tasks`); the job's stop
  check before its next step raises `WorkerStopping`, the runner stores the latest state (the step
  just finished) and requeues the job with its attempt given back (`JobStore.requeue_stopped`);
* **a lost worker** (a killed pool process, a whole worker gone): Redis or a live worker's beat
  redelivers the job (an attempt counted), which resumes from the last stored state, at most
  ``SPINDIFF_CHECKPOINT_INTERVAL_S`` of work behind.

A state that no longer fits (another model, code that changed its format) is dropped and the job
starts again from step 0; so is a paired job's (it is not resumable).
"""

from __future__ import annotations

import logging
import time

from device.errors import InputError

log = logging.getLogger("spindiff.worker")


class WorkerStopping(Exception):
    """The worker running this job is stopping: checkpoint the job and give it back to the queue."""


class Checkpointer:
    """The ``checkpoint`` callback of one attempt (module docstring); ``clock`` is injected for tests."""

    def __init__(self, store, job_id: str, attempt: int, interval_s: float, clock=time.monotonic):
        self.store, self.job_id, self.attempt, self.interval_s = store, job_id, attempt, interval_s
        self.clock = clock
        self.latest = None  # the last GenerationState seen
        self.saved_step = 0  # the step of the state stored in Redis by this attempt (0: none)
        self.saved_at = clock()

    def __call__(self, state) -> None:
        self.latest = state
        if self.clock() - self.saved_at >= self.interval_s:
            self.save()

    def save(self) -> int:
        """Store the latest state unless it is stored already; returns the step stored (0: none)."""
        if self.latest is None or self.latest.step == self.saved_step:
            return self.saved_step
        if self.store.save_checkpoint(self.job_id, self.attempt, self.latest.to_bytes()):
            self.saved_step = self.latest.step
        self.saved_at = self.clock()
        return self.saved_step


def load(store, job_id: str):
    """The job's stored `GenerationState`, or None (none stored, or unreadable: then it is deleted)."""
    from diffusion.generation.resume import GenerationState

    data = store.checkpoint(job_id)
    if data is None:
        return None
    try:
        return GenerationState.from_bytes(data)
    except InputError as error:
        log.warning("job %s: its checkpoint is unreadable (%s); starting from step 0", job_id, error)
        store.r.delete(store.checkpoint_key(job_id))
        return None
