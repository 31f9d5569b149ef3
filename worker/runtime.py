"""What one worker process holds: the loaded model, its programmed chips, a job-store connection.

`init_process` runs in each Celery pool process right after the fork (``worker_process_init``),
never in the parent: torch ops before a fork deadlock the children, and a numba parallel kernel in
the parent makes every child abort (docs/serving.md). It also sizes the thread pools so that all
processes of a worker together use one thread per core.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass

from worker.settings import Settings
from worker.store import JobStore

log = logging.getLogger("spindiff.worker")


class ChipCache(OrderedDict):
    """`diffusion.generation.generate`'s ``chip_cache`` with a size bound: least recently used chips are dropped."""

    def __init__(self, max_size: int):
        super().__init__()
        self.max_size = max_size

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.max_size:
            self.popitem(last=False)


@dataclass
class Runtime:
    """What `worker.runner.run_job` runs a job with: settings, the job store, the models and the chips.

    ``run_job`` uses only ``settings``, ``store``, ``bundle(model_id)`` (its ``sha256``, for the
    quality block) and ``generate``; tests/service/test_runner.py passes a fake with those four.
    """

    settings: Settings
    store: JobStore
    bundles: dict  # model id → diffusion.model.checkpoints.ModelBundle
    chips: ChipCache

    def bundle(self, model_id: str):
        return self.bundles[model_id]

    def generate(self, request, model_id: str, progress, cancel, resume=None, checkpoint=None):
        """`diffusion.generation.generate.generate` of ``request`` on model ``model_id``, with this process's chips
        (``resume``, ``checkpoint``: `diffusion.generation.resume`)."""
        from diffusion.generation.generate import generate

        return generate(
            request,
            self.bundle(model_id),
            progress=progress,
            cancel=cancel,
            chip_cache=self.chips,
            resume=resume,
            checkpoint=checkpoint,
        )


_runtime: Runtime | None = None


def set_thread_env(threads: int) -> None:
    """Thread-pool sizes for libraries not imported yet (read when they load)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[name] = str(threads)


def init_process(settings: Settings) -> Runtime:
    """Load torch, the model and the emulator in this (child) process; returns the process's Runtime."""
    global _runtime
    threads = settings.threads_per_process
    set_thread_env(threads)
    import numba
    import torch

    from diffusion.model.checkpoints import load_bundle
    from worker.models import model_dirs

    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    bundles = {model_id: load_bundle(path) for model_id, path in model_dirs(settings).items()}
    store = JobStore.from_url(settings.redis, settings.retention_s)
    _runtime = Runtime(settings, store, bundles, ChipCache(settings.chip_cache_size))
    log.info("worker process %d ready: %d thread(s), models %s", os.getpid(), threads, sorted(bundles))
    return _runtime


def get_runtime(settings: Settings) -> Runtime:
    """The process's Runtime, loaded now if ``worker_process_init`` did not run (solo pool)."""
    return _runtime if _runtime is not None else init_process(settings)
