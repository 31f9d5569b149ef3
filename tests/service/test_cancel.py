"""Cancelling: a queued job at once, a running one within one sampler step, with partial telemetry."""

from __future__ import annotations

from tests.service.helpers import TINY, job, read_events, submit, wait_progress, wait_status


def test_cancel_queued_at_once_and_running_within_a_step(service):
    with service.client() as client:
        # the worker has one process: the chip job runs, the software job waits behind it
        running = submit(
            client, {"num_images": 2, "steps": 200, "hardware": "vcma-default", "quality": {"enabled": False}}
        )
        queued = submit(client, TINY)
        response = client.post(f"/v1/generations/{queued['id']}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        assert "cancel" not in response.json()["links"]

        wait_progress(client, running["id"], step=2, timeout=300)
        response = client.post(f"/v1/generations/{running['id']}/cancel")
        assert response.status_code == 202 and response.json()["cancel_requested"] is True
        done = wait_status(client, running["id"], ("cancelled", "succeeded", "failed"), timeout=120)
        assert done["status"] == "cancelled"
        partial = done["telemetry"]
        assert 2 <= partial["cancelled"]["steps_done"] < partial["cancelled"]["total"] == 200
        assert (
            partial["energy"]["energy_total_j"] > 0 and partial["energy"]["steps"] == partial["cancelled"]["steps_done"]
        )
        assert read_events(client, running["id"])[-1]["event"] == "cancelled"

        again = client.post(f"/v1/generations/{running['id']}/cancel")
        assert again.status_code == 200 and again.json()["status"] == "cancelled"  # idempotent
        later = submit(client, TINY)  # the worker moves on; the cancelled job never started
        wait_status(client, later["id"], "succeeded")
        assert job(client, queued["id"])["attempts"] == 0 and job(client, queued["id"])["status"] == "cancelled"


def test_a_finished_job_cannot_be_cancelled(service):
    with service.client() as client:
        created = submit(client)
        wait_status(client, created["id"], "succeeded")
        response = client.post(f"/v1/generations/{created['id']}/cancel")
        assert response.status_code == 409 and response.json()["error"]["code"] == "job_finished"
