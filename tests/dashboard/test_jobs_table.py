"""The jobs table's data (app/dashboard/jobs_table.py) on a real Redis: pages and their cursors,
the status, profile and id filters, owner scoping, queue positions read from real Celery messages,
the last preview of a stopped job, and each row's results and label."""

from __future__ import annotations

import pytest
import redis

from app.dashboard import jobs_table
from app.dashboard.jobs_table import Filters
from app.embedded_redis import EmbeddedRedis
from tests.dashboard.fixtures import load
from tests.dashboard.stored_jobs import png, request, store_job
from worker.celery_app import GENERATE, make_celery
from worker.settings import Settings
from worker.store import JobStore


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False) as embedded:
        yield embedded


@pytest.fixture()
def store(server):
    client = redis.Redis.from_url(server.url)
    client.flushdb()
    yield JobStore(client)
    client.close()


def ids(page: dict) -> list[str]:
    return [record["id"] for record in page["records"]]


def test_pages_go_back_in_time_by_cursor(store):
    made = [store_job(store, request(), "cancelled") for _ in range(7)]
    newest = list(reversed(made))
    first = jobs_table.select(store, Filters(limit=3))
    assert ids(first) == newest[:3] and first["next"] is not None and first["scanned_to"] is None
    second = jobs_table.select(store, Filters(limit=3, before=first["next"]))
    third = jobs_table.select(store, Filters(limit=3, before=second["next"]))
    assert ids(second) == newest[3:6] and ids(third) == newest[6:] and third["next"] is None


def test_filters_by_status_profile_and_id_prefix(store):
    low = [store_job(store, request("vcma-lowbit"), "cancelled") for _ in range(5)]
    chip = store_job(store, request("vcma-default", {"crossbar": {"adc_bits": 4}}), "failed", step=2)
    software = store_job(store, request("software"), "queued")
    assert set(ids(jobs_table.select(store, Filters(profile="vcma-lowbit")))) == set(low)
    assert ids(jobs_table.select(store, Filters(profile="vcma-default"))) == [chip]  # overrides or not
    assert ids(jobs_table.select(store, Filters(status="failed"))) == [chip]
    assert ids(jobs_table.select(store, Filters(status="queued", profile="software"))) == [software]
    assert ids(jobs_table.select(store, Filters(status="failed", profile="vcma-lowbit"))) == []
    assert ids(jobs_table.select(store, Filters(q=chip[:6].upper()))) == [chip]  # ids are hex: any case
    assert ids(jobs_table.select(store, Filters(q=chip))) == [chip]
    paged = jobs_table.select(store, Filters(limit=2, profile="vcma-lowbit"))
    rest = jobs_table.select(store, Filters(limit=2, profile="vcma-lowbit", before=paged["next"]))
    last = jobs_table.select(store, Filters(limit=2, profile="vcma-lowbit", before=rest["next"]))
    assert ids(paged) + ids(rest) + ids(last) == list(reversed(low)) and last["next"] is None


def test_a_filtered_page_says_where_its_scan_stopped(store, monkeypatch):
    monkeypatch.setattr(jobs_table, "SCAN_BUDGET", 4)
    wanted = store_job(store, request("vcma-lowbit"), "cancelled")
    for _ in range(6):
        store_job(store, request(), "cancelled")
    page = jobs_table.select(store, Filters(profile="vcma-lowbit"))
    assert page["records"] == [] and page["scanned_to"] == page["next"] is not None
    assert ids(jobs_table.select(store, Filters(profile="vcma-lowbit", before=page["next"]))) == [wanted]


def test_another_keys_jobs_are_not_listed_or_found(store):
    mine = store_job(store, request(), "cancelled", owner="me")
    theirs = store_job(store, request(), "cancelled", owner="them")
    assert ids(jobs_table.select(store, Filters(), owner="me")) == [mine]
    assert ids(jobs_table.select(store, Filters(q=theirs), owner="me")) == []
    assert ids(jobs_table.select(store, Filters(q=theirs[:8]), owner="me")) == []
    assert ids(jobs_table.select(store, Filters(q=theirs), owner=None)) == [theirs]


def test_queue_positions_follow_the_celery_queue_and_skip_cancelled_jobs(store, server):
    settings = Settings(redis_url=server.url, queue="test-queue")
    celery = make_celery(settings)
    queued = [store_job(store, request(), "queued") for _ in range(4)]
    try:
        for job_id in queued:  # as the API sends them (app/api/routes/generations.py)
            celery.send_task(GENERATE, args=[job_id], task_id=job_id, queue=settings.queue)
    finally:
        celery.close()
    assert jobs_table.queue_positions(store, "test-queue") == {job_id: (k + 1, 4) for k, job_id in enumerate(queued)}
    store.cancel(queued[1])  # its message stays in the list until a worker skips it
    assert jobs_table.queue_positions(store, "test-queue") == {
        queued[0]: (1, 3),
        queued[2]: (2, 3),
        queued[3]: (3, 3),
    }
    taken = store.r.rpop("test-queue")  # a worker took the first message: that job is starting
    assert taken and queued[0] not in jobs_table.queue_positions(store, "test-queue")
    rows = {
        r["id"]: r
        for r in map(
            lambda rec: jobs_table.row(rec, jobs_table.queue_positions(store, "test-queue")),
            jobs_table.select(store, Filters())["records"],
        )
    }
    assert rows[queued[2]]["queue"] == {"position": 1, "waiting": 2} and rows[queued[0]]["queue"] == {}
    assert rows[queued[1]]["queue"] is None  # cancelled


def test_a_stopped_jobs_last_preview_and_step(store):
    failed = store_job(store, request(steps=10), "failed", step=3, previews=True)
    preview = jobs_table.last_preview(store, failed)
    assert preview["step"] == 3 and preview["total"] == 10 and preview["png"].startswith(b"\x89PNG")
    row = jobs_table.row(store.get(failed), {})
    assert row["progress"]["step"] == 3 and row["thumbnail"] is True and row["error"] == "emulation_error"
    quiet = store_job(store, request(steps=10), "cancelled", step=4, previews=False)
    assert jobs_table.last_preview(store, quiet) is None and jobs_table.row(store.get(quiet), {})["thumbnail"] is False
    never = store_job(store, request(steps=10), "cancelled")  # cancelled while queued: nothing to show
    assert jobs_table.row(store.get(never), {})["thumbnail"] is False


def test_a_row_names_the_overrides_and_carries_the_results():
    job = load("vcma")
    results = jobs_table._results(job)
    energy = job["telemetry"]["energy"]["energy_per_image_j"]
    assert results["energy_per_image_j"] == pytest.approx(energy) and results["energy_text"].endswith("J")
    assert results["kid"] == pytest.approx(job["telemetry"]["quality"]["batch_kid"]["mean"])
    assert results["kid_text"].startswith(f"{results['kid']:.4f} ±")
    assert jobs_table._results(load("software"))["energy_per_image_j"] is None  # no chip, no chip energy


def test_rows_of_succeeded_jobs_have_a_thumbnail_and_a_duration(store):
    done = store_job(store, request("vcma-default", {"crossbar": {"adc_bits": 4, "read_time": 4e-9}}))
    row = jobs_table.row(store.get(done), {})
    assert row["thumbnail"] is True and row["duration_s"] is not None and row["duration_s"] >= 0
    assert row["profile"] == row["profile_full"] == "vcma-default · adc_bits 4 · read_time 4e-09"
    assert row["profile_name"] == "vcma-default" and store.image(done, "grid").startswith(png()[:8])
