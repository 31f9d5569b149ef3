"""The Celery task (a thin adapter: job id in, `worker.runner.run_job`, results stored) and the
worker's process hooks.

* ``worker_process_init`` (each pool process, after the fork): load torch, the model and the
  emulator (`worker.runtime.init_process`). The parent never imports them.
* ``worker_ready`` / ``worker_shutdown`` (the parent): a daemon thread beats the worker's liveness
  key (`worker.registry`), prunes expired jobs from the indexes and fails ``running`` jobs that
  have had no heartbeat for longer than any redelivery takes; the key is removed on shutdown.
* ``worker_shutting_down`` (the parent, on a warm shutdown: SIGTERM): running jobs may go on for
  ``SPINDIFF_STOP_GRACE_S``; then they are asked to stop, and each is checkpointed at its last
  finished step and requeued with its attempt given back (`worker.checkpoints`), which the task sends
  again; the worker then exits without waiting for them to end.
* ``GenerateTask.on_failure``: runs (in the parent) when the hard time limit kills a job, so the
  job record says ``failed`` with the reason instead of staying ``running``.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import Task
from celery.signals import worker_process_init, worker_ready, worker_shutdown, worker_shutting_down

from worker import registry
from worker.celery_app import GENERATE, app
from worker.settings import get_settings
from worker.store import JobStore

log = logging.getLogger("spindiff.worker")


class GenerateTask(Task):
    """Marks the job failed when Celery gives up on it (hard time limit, unexpected exception)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        settings = get_settings()
        job_id = args[0] if args else task_id
        name = type(exc).__name__
        if name == "TimeLimitExceeded":
            code, message = (
                "time_limit",
                (
                    f"the job was stopped at the hard time limit of {settings.time_limit_s} s "
                    "(SPINDIFF_TIME_LIMIT_S); ask for fewer images or steps, or raise the limit"
                ),
            )
        else:
            code, message = "internal_error", f"{name}: {exc}"
        JobStore.from_url(settings.redis, settings.retention_s).fail_unless_finished(job_id, code, message)


@app.task(name=GENERATE, base=GenerateTask, ignore_result=True)
def generate(job_id: str) -> str:
    """Run the job ``job_id`` (idempotent: a redelivered finished job does nothing)."""
    from worker.runner import run_job
    from worker.runtime import get_runtime

    outcome = run_job(job_id, get_runtime(get_settings()))
    if outcome == "stopped":  # checkpointed and requeued by a stopping worker: the next worker resumes it
        app.send_task(GENERATE, args=[job_id], task_id=job_id, queue=get_settings().queue)
    return outcome


@worker_process_init.connect
def _load_in_child(**_) -> None:
    from worker.runtime import init_process

    init_process(get_settings())


class _Heartbeat(threading.Thread):
    def __init__(self, hostname: str, concurrency: int):
        super().__init__(name="spindiff-heartbeat", daemon=True)
        self.settings = get_settings()
        self.hostname = hostname
        self.info = {
            "host": registry.identity()["host"],
            "pid": os.getpid(),
            "concurrency": concurrency,
            "started_at": time.time(),
            "threads_per_process": self.settings.threads_per_process,
        }
        self.stopping = threading.Event()
        self.store = JobStore.from_url(self.settings.redis, self.settings.retention_s)
        # past the visibility timeout and two restore sweeps a lost job has been redelivered (its
        # heartbeat renewed) if it ever will be
        self.stale_after_s = self.settings.visibility_timeout + 2 * self.settings.restore_interval_s + 60

    def run(self) -> None:
        interval = self.settings.heartbeat_interval_s
        beats = 0
        while not self.stopping.is_set():
            try:
                registry.beat(self.store.r, self.hostname, self.info, ttl_s=3 * interval)
                self.recover_lost_jobs()
                if beats % 60 == 0:
                    self.store.prune()
                    self.store.reap_stale(self.stale_after_s)
            except Exception as error:  # noqa: BLE001 - Redis away: try again next beat
                log.warning("heartbeat failed: %s", error)
            beats += 1
            self.stopping.wait(interval)

    def recover_lost_jobs(self) -> None:
        """Requeue the running jobs whose whole worker is gone (`JobStore.recover_lost`): minutes, not the
        visibility timeout's hours. A job past its attempt cap then fails as ``worker_lost`` on delivery."""
        lost = self.store.recover_lost(registry.alive(self.store.r), self.settings.lost_after_s)
        for job_id in lost:
            log.warning("job %s: its worker is gone; requeued", job_id)
            app.send_task(GENERATE, args=[job_id], task_id=job_id, queue=self.settings.queue)

    def stop(self) -> None:
        self.stopping.set()
        try:
            registry.forget(self.store.r, self.hostname)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass


_heartbeat: _Heartbeat | None = None


@worker_ready.connect
def _start_heartbeat(sender=None, **_) -> None:
    global _heartbeat
    hostname = getattr(sender, "hostname", None) or registry.identity()["host"]
    concurrency = getattr(getattr(sender, "controller", None), "concurrency", None) or get_settings().concurrency
    _heartbeat = _Heartbeat(hostname, concurrency)
    _heartbeat.start()


def _stop_running_jobs(grace_s: float) -> None:
    """After ``grace_s`` of a warm shutdown, ask this worker's running jobs to checkpoint and requeue themselves."""
    time.sleep(grace_s)
    settings = get_settings()
    try:
        store = JobStore.from_url(settings.redis, settings.retention_s)
        for job_id in store.request_stop(registry.identity()["host"], os.getpid()):
            log.warning(
                "job %s still running %.0f s after the stop signal (SPINDIFF_STOP_GRACE_S): checkpointing and "
                "requeueing it",
                job_id,
                grace_s,
            )
    except Exception as error:  # noqa: BLE001 - Redis away: the jobs are redelivered when the worker is gone
        log.warning("could not ask the running jobs to stop: %s", error)


@worker_shutting_down.connect
def _on_warm_shutdown(how=None, **_) -> None:
    if how == "Warm":
        grace_s = get_settings().stop_grace_s
        threading.Thread(target=_stop_running_jobs, args=(grace_s,), name="spindiff-stop", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**_) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()
