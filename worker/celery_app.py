"""The Celery application and its settings for long, CPU-heavy jobs (docs/serving.md's table).

Importing this module imports Celery only: no torch, no numba. The API uses it to enqueue by task
name (`GENERATE`); `celery -A worker.celery_app worker` (what `spindiff worker` runs) also imports
`worker.tasks`, whose model loading happens in each pool process after the fork.
"""

from __future__ import annotations

import os
import warnings

from celery import Celery
from celery.exceptions import SecurityWarning

from worker.settings import Settings, get_settings

GENERATE = "spindiff.generate"


def celery_config(settings: Settings) -> dict:
    """Celery settings derived from ``settings``; each line's reason is in docs/serving.md."""
    return {
        "broker_url": settings.redis,
        "broker_connection_retry_on_startup": True,  # compose start order
        "broker_transport_options": {
            # Redis redelivers a message unacked for this long; longer than the hard limit, so a
            # job still running is never handed to a second worker.
            "visibility_timeout": settings.visibility_timeout,
            # how often a worker looks for unacked messages of dead workers (1 = every interval)
            "unacked_restore_interval": settings.restore_interval_s,
            "unacked_restore_throttle": 1,
        },
        # JSON only: task arguments are a job id.
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        # The job record in Redis is the source of truth; Celery's result backend is not used.
        "result_backend": None,
        "task_ignore_result": True,
        "task_track_started": True,
        # A crash mid-job redelivers it; the attempt counter on the job record caps the loop.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.time_limit_s,
        "task_soft_time_limit": settings.soft_limit,
        # A lost broker connection redelivers unacked jobs: stop the local copies instead of running them twice.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_max_tasks_per_child": settings.max_tasks_per_child,
        "worker_max_memory_per_child": settings.max_memory_per_child_mb * 1024,  # KiB
        # Each pool process loads torch, the model and the emulator in worker_process_init: give it time.
        "worker_proc_alive_timeout": 120.0,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_default_queue": settings.queue,
        "task_routes": {GENERATE: {"queue": settings.queue}},
        "worker_hijack_root_logger": False,
    }


def quiet_root_warning() -> str | None:
    """As root, replace Celery's multi-line "superuser privileges" SecurityWarning with one line (returned,
    for the worker to print); None otherwise. Only that warning is silenced: a root worker that accepted
    pickle would still be refused by Celery, and this one accepts JSON only (`celery_config`)."""
    if os.geteuid() != 0:
        return None
    warnings.filterwarnings(
        "ignore", message="You're running the worker with superuser privileges", category=SecurityWarning
    )
    return (
        "running as root: accepted, since the worker takes JSON messages only (no pickle); "
        "on a shared machine run it as an ordinary user (the Docker image uses uid 10001)"
    )


def make_celery(settings: Settings | None = None, include_tasks: bool = False) -> Celery:
    """A Celery app for ``settings``; ``include_tasks`` registers `worker.tasks` (worker side only)."""
    settings = settings or get_settings()
    app = Celery("spindiff", include=["worker.tasks"] if include_tasks else [])
    app.conf.update(celery_config(settings))
    return app


# `celery -A worker.celery_app worker` finds this one.
app = make_celery(include_tasks=True)
