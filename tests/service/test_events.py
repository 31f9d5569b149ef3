"""Server-Sent Events: resume with Last-Event-ID, 204 after the end, optional previews."""

from __future__ import annotations

import base64

from tests.service.helpers import TINY, read_events, submit, wait_status


def test_last_event_id_resumes_after_the_given_event(service):
    with service.client() as client:
        created = submit(client, {**TINY, "steps": 5})
        everything = read_events(client, created["id"])
        cut = everything[1]["id"]  # as if the connection dropped after the second event
        resumed = read_events(client, created["id"], headers={"Last-Event-ID": cut})
        assert resumed == everything[2:]
        finished = client.get(
            f"/v1/generations/{created['id']}/events", headers={"Last-Event-ID": everything[-1]["id"]}
        )
        assert finished.status_code == 204  # tells an EventSource the stream is over
        bad = client.get(f"/v1/generations/{created['id']}/events", headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "Last-Event-ID"


def test_a_live_subscriber_sees_progress_then_the_end(service):
    with service.client() as client:
        created = submit(client, {**TINY, "num_images": 8, "steps": 30})
        events = read_events(client, created["id"])  # subscribed while queued or running
        progress = [e["data"] for e in events if e["event"] == "progress"]
        assert progress and progress[-1]["step"] == progress[-1]["total"] == 30
        assert all(p["eta_s"] >= 0 for p in progress if p["step"] > 1) and progress[-1]["eta_s"] == 0
        # throttled to SPINDIFF_PROGRESS_INTERVAL_S = 0.2 (tests/service/cluster.py), whatever the speed of
        # a step: events at least 0.2 s apart (elapsed_s is rounded to 1 ms), but for the last step's
        assert service.env["SPINDIFF_PROGRESS_INTERVAL_S"] == "0.2"
        gaps = [b["elapsed_s"] - a["elapsed_s"] for a, b in zip(progress[:-2], progress[1:-1])]
        assert all(gap >= 0.199 for gap in gaps), gaps
        assert events[-1]["event"] == "succeeded"


def test_previews_only_when_asked_for(service):
    with service.client() as client:
        created = submit(client, {**TINY, "preview": True})
        wait_status(client, created["id"], "succeeded")
        plain = [e for e in read_events(client, created["id"]) if e["event"] == "progress"]
        assert plain and all("preview_png_base64" not in e["data"] for e in plain)
        rich = [e for e in read_events(client, created["id"], params={"preview": "true"}) if e["event"] == "progress"]
        png = base64.b64decode(rich[-1]["data"]["preview_png_base64"])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_quiet_stream_stays_open_until_the_job_ends(make_service):
    import threading
    import time

    svc = make_service().start_api()  # no worker: the job waits, and its stream is quiet
    with svc.client() as client:
        created = submit(client)
        canceller = threading.Timer(8.0, lambda: client.post(f"/v1/generations/{created['id']}/cancel"))
        canceller.start()
        started = time.monotonic()
        events = read_events(client, created["id"], timeout=60)
        canceller.join()
        assert [e["event"] for e in events] == ["queued", "cancelled"]
        assert time.monotonic() - started >= 7.5  # longer than any client-side read timeout in the API
