"""A job stopped mid-way resumes from its last finished step, and its images are bit for bit those of an
uninterrupted run (issue 16: stopping the service restarted the job from step 0 and burned an attempt). A real
Redis and two real Celery workers (tests/service/cluster.py): the worker running the job is sent SIGTERM (what
``spindiff serve`` and ``docker compose stop`` send); after SPINDIFF_STOP_GRACE_S = 0.5 s the job is checkpointed
and requeued, its attempt not counted, that worker exits, and the other one resumes the job. The same request
then runs uninterrupted: same pixels, same noise stream. A killed pool process's job resuming from its stored
checkpoint is tests/service/test_worker_loss.py's."""

from __future__ import annotations

import io
import signal
import time

import numpy as np
import pytest
from PIL import Image

from tests.service.helpers import submit, wait_progress, wait_status, wait_until

pytestmark = pytest.mark.drill

BODY = {"num_images": 2, "steps": 80, "seed": 5, "hardware": "software", "quality": {"enabled": False}}


def pixels(client, done: dict) -> np.ndarray:
    pngs = [client.get(image["url"]).content for image in done["images"]]
    return np.stack([np.asarray(Image.open(io.BytesIO(png))) for png in pngs])


def test_a_stopped_job_resumes_without_burning_an_attempt_and_gives_the_uninterrupted_images(make_service):
    svc = make_service({"SPINDIFF_STOP_GRACE_S": "0.5", "SPINDIFF_CHECKPOINT_INTERVAL_S": "0"}).start_api()
    workers = [svc.start_worker(wait=False), svc.start_worker(wait=False)]
    wait_until(lambda: all("ready: " in log.read_text() for log in svc.logs[1:]), 120, message="workers not ready")
    with svc.client() as client:
        # a graceful stop mid-job: SIGTERM to the worker running it; the other one resumes it
        stopped = submit(client, BODY)["id"]
        ppid = wait_progress(client, stopped, step=3)["worker"]["ppid"]
        first, second = sorted(workers, key=lambda proc: proc.pid != ppid)
        signalled = time.monotonic()
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
        stop_s = time.monotonic() - signalled
        # the other worker may have taken it again already: the requeue is the last queued event
        event = [data for _, kind, data in svc.store.events(stopped) if kind == "queued"][-1]
        from_step = event["from_step"]
        assert 3 <= from_step < BODY["steps"] and "attempt not counted" in event["reason"], event
        resumed = wait_status(client, stopped, ("succeeded", "failed"), timeout=180)
        assert resumed["status"] == "succeeded" and resumed["attempts"] == 1
        assert resumed["resumed"] == {"from_step": from_step, "total": 80, "attempt": 1}
        assert resumed["telemetry"]["resumed"] == {"from_step": from_step, "total": 80}
        assert svc.store.checkpoint(stopped) is None and resumed["worker"]["ppid"] == second.pid

        whole = wait_status(client, submit(client, BODY)["id"], ("succeeded", "failed"), timeout=180)
        assert whole["status"] == "succeeded" and whole["resumed"] is None and whole["attempts"] == 1
        np.testing.assert_array_equal(pixels(client, resumed), pixels(client, whole))
        noise = [r["reproducibility"]["noise"]["stream_sha256"] for r in (resumed, whole)]
        assert noise[0] == noise[1]
    print(
        f"graceful stop: worker gone {stop_s:.1f} s after SIGTERM, job requeued and resumed from step {from_step} "
        "of 80 with its attempt given back; images identical to the uninterrupted run"
    )
