"""Progress of a running job: the record every step, an event at most every ``interval_s``.

`diffusion.generation.generate` calls the reporter after each sampler step with x̂₀, the current estimate of
the final images. The ETA is the mean time of the steps after the first (the first one also pays for
loading and chip programming), times the steps left; it is null at step 1. Every step updates the job's progress and heartbeat (one Redis round trip); an
event for the SSE stream is added at most every ``interval_s`` seconds and always at the last step,
with a small PNG grid of x̂₀ when the request asked for previews.
"""

from __future__ import annotations

import base64
import time


class Superseded(Exception):
    """Another delivery of this job has taken it over (attempt counter moved on): stop quietly."""


class ProgressReporter:
    def __init__(self, store, job_id: str, attempt: int, interval_s: float, preview: bool, clock=time.monotonic):
        self.store, self.job_id, self.attempt = store, job_id, attempt
        self.interval_s, self.preview = interval_s, preview
        self.clock = clock
        self.started = clock()
        self.last_event = None
        self.first_step = None  # when the first step this attempt ran ended, and its number (not 1 on a resume)
        self.first_index = 1

    def __call__(self, step: int, total: int, x0_estimate) -> None:
        now = self.clock()
        elapsed = now - self.started
        if step <= 1 or self.first_step is None:  # the first step also carries model/chip set-up: no rate yet
            self.first_step, self.first_index, eta = now, step, None
        else:
            eta = (now - self.first_step) / (step - self.first_index) * (total - step)
        if step == total:
            eta = 0.0
        progress = {
            "step": step,
            "total": total,
            "elapsed_s": round(elapsed, 3),
            "eta_s": None if eta is None else round(eta, 3),
        }
        due = self.last_event is None or now - self.last_event >= self.interval_s or step == total
        event = None
        if due:
            event = dict(progress)
            if self.preview:
                event["preview_png_base64"] = preview_png(x0_estimate)
            self.last_event = now
        if self.store.progress(self.job_id, self.attempt, progress, event) == "stale":
            raise Superseded(f"job {self.job_id} attempt {self.attempt} was superseded")


def preview_png(x0_estimate, max_images: int = 16) -> str:
    """A grid of the first ``max_images`` estimates as base64 PNG (28 px per image: a few kB)."""
    from diffusion.generation import images as image_io

    pictures = image_io.to_uint8(x0_estimate[:max_images].detach().clamp(-1, 1).numpy())
    return base64.b64encode(image_io.png_bytes(image_io.grid(pictures))).decode()
