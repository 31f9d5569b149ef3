"""worker/progress.py: progress on every step, events throttled, ETA from the steps after the first."""

from __future__ import annotations

import pytest
import torch

from tests.service.helpers import Clock
from worker.progress import ProgressReporter, Superseded
from worker.store import JobStore


@pytest.fixture()
def store(redis_client):
    store = JobStore(redis_client)
    store.create("j", {"num_images": 2}, profile_label="software", body_hash="h")
    store.begin("j", 3, {})
    return store


def test_eta_events_and_previews(store):
    clock = Clock()
    report = ProgressReporter(store, "j", 1, interval_s=1.0, preview=True, clock=clock)
    x0 = torch.zeros(2, 1, 28, 28)
    clock.now += 9.0  # set-up (model, chip programming) before the first step
    report(1, 5, x0)
    assert store.get("j")["progress"] == {"step": 1, "total": 5, "elapsed_s": 9.0, "eta_s": None}
    for step in (2, 3, 4):
        clock.now += 0.5
        report(step, 5, x0)
    assert store.get("j")["progress"]["eta_s"] == pytest.approx(0.5)  # 0.5 s a step, one step left
    clock.now += 0.5
    report(5, 5, x0)
    progress = [e[2] for e in store.events("j") if e[1] == "progress"]
    assert [p["step"] for p in progress] == [1, 3, 5]  # ≥ 1 s apart, and always the last step
    assert progress[-1]["eta_s"] == 0.0 and all(p["preview_png_base64"] for p in progress)


def test_a_superseded_attempt_stops(store):
    store.begin("j", 3, {})  # a second delivery took the job over
    report = ProgressReporter(store, "j", 1, interval_s=0.0, preview=False)
    with pytest.raises(Superseded):
        report(1, 5, torch.zeros(1, 1, 28, 28))
