"""The jobs table in Chromium (static/js/jobs_table.js): thumbnails and result columns, paging to
older jobs, the status and profile filters and search by id (kept in the address), labels that
name the overrides, a stopped job's step and preview, and queued jobs' places in the queue."""

from __future__ import annotations

import re

import pytest

from app.api.deps import key_id
from tests.dashboard.browser import API_KEY, wait_js
from tests.dashboard.stored_jobs import remove, request, store_job
from tests.service.helpers import submit, wait_status

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)").expect

OWNER = key_id(API_KEY)  # the jobs the test key may see
ROWS = "#jobs-body tr"


@pytest.fixture(scope="module")
def stored(dashboard):
    """27 cancelled vcma-lowbit jobs (every other one with an ADC override) and a vcma-noisy job
    that failed at step 3 of 10 with previews, written straight into the store; removed afterwards."""
    low = [
        store_job(
            dashboard.store,
            request("vcma-lowbit", {"crossbar": {"adc_bits": 3}} if k % 2 else None),
            "cancelled",
            owner=OWNER,
        )
        for k in range(27)
    ]
    failed = store_job(dashboard.store, request("vcma-noisy", steps=10), "failed", step=3, previews=True, owner=OWNER)
    yield {"low": low, "failed": failed}
    remove(dashboard.store, [*low, failed], OWNER)


def _ids(page) -> list[str]:
    return page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.jobId)")


def test_filter_by_profile_and_page_to_older_jobs(browse, stored):
    context, _ = browse()
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#filter-profile option[value=vcma-lowbit]")).to_have_count(1)
    page.select_option("#filter-profile", "vcma-lowbit")
    expect(page.locator(ROWS)).to_have_count(25)
    assert _ids(page) == list(reversed(stored["low"]))[:25]
    expect(page.locator(f'tr[data-job-id="{stored["low"][-1]}"] td.profile')).to_have_text("vcma-lowbit")
    expect(page.locator(f'tr[data-job-id="{stored["low"][-2]}"] td.profile')).to_have_text("vcma-lowbit · adc_bits 3")
    assert "profile=vcma-lowbit" in page.url
    expect(page.locator("#newer-button")).to_be_disabled()
    page.click("#older-button")
    expect(page.locator(ROWS)).to_have_count(2)
    assert _ids(page) == list(reversed(stored["low"]))[25:]
    expect(page.locator("#older-button")).to_be_disabled()
    expect(page.locator("#page-state")).to_have_text("page 2")
    page.reload()  # the address keeps the page and its filter
    expect(page.locator(ROWS)).to_have_count(2)
    page.click("#newer-button")
    expect(page.locator(ROWS)).to_have_count(25)
    page.select_option("#filter-profile", "")
    page.select_option("#filter-status", "failed")
    expect(page.locator(f'tr[data-job-id="{stored["failed"]}"]')).to_be_visible()
    # the failed job is also on the unfiltered page: wait until the filtered rows have replaced it
    expect(page.locator(f"{ROWS}:not([data-status=failed])")).to_have_count(0)
    assert set(page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.status)")) == {"failed"}


def test_search_by_id(browse, stored):
    context, _ = browse()
    page = context.new_page()
    page.goto("/")
    target = stored["low"][5]
    page.fill("#filter-q", target[:7])
    expect(page.locator(ROWS)).to_have_count(1)
    assert _ids(page) == [target] and f"q={target[:7]}" in page.url
    page.fill("#filter-q", "zz!")
    expect(page.locator("#filter-q-error")).to_contain_text("letters, digits")
    expect(page.locator("#filter-q")).to_have_attribute("aria-invalid", "true")
    page.fill("#filter-q", "0" * 32)  # a whole id that no job has
    expect(page.locator(ROWS)).to_have_count(0)
    expect(page.locator("#jobs-empty")).to_contain_text("No jobs match")


def test_rows_show_thumbnails_results_and_where_a_job_stopped(browse, finished_jobs, stored):
    context, _ = browse()
    page = context.new_page()
    page.goto("/?status=succeeded")  # the stored jobs are newer than the finished ones
    chip = page.locator(f'tr[data-job-id="{finished_jobs["chip"]["id"]}"]')
    expect(chip.locator("td.energy")).to_have_text(re.compile(r"^[\d.]+ [pnµm]?J$"))
    expect(chip.locator("td.kid")).to_have_text(re.compile(r"^-?\d\.\d{4}$"))
    expect(chip.locator("td.duration")).to_have_text(re.compile(r"^[\d.]+ s$|^\d+ min \d+ s$"))
    software = page.locator(f'tr[data-job-id="{finished_jobs["software"]["id"]}"]')
    expect(software.locator("td.energy")).to_have_text("—")  # no chip: no chip energy
    for job in finished_jobs.values():
        wait_js(page, f"document.querySelector('tr[data-job-id=\"{job['id']}\"] .thumb img')?.naturalWidth > 0")
    page.select_option("#filter-status", "failed")
    failed = page.locator(f'tr[data-job-id="{stored["failed"]}"]')
    expect(failed.locator(".mini-text")).to_have_text("stopped at step 3 / 10")
    wait_js(page, f"document.querySelector('tr[data-job-id=\"{stored['failed']}\"] .thumb img')?.naturalWidth > 0")
    page.goto(f"/?q={stored['low'][0]}")  # cancelled while queued: no picture, no step
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(f"{ROWS} .thumb img")).to_have_count(0)
    expect(page.locator(f"{ROWS} .mini-text")).to_have_text("before its first step")


def test_queued_jobs_show_their_place_in_the_queue(browse, client):
    blocker = submit(client, {"num_images": 4, "steps": 1000, "hardware": "software", "quality": {"enabled": False}})
    wait_status(client, blocker["id"], "running", timeout=60)
    small = {"num_images": 1, "steps": 2, "hardware": "software", "quality": {"enabled": False}}
    queued = [submit(client, small) for _ in range(2)]
    try:
        context, _ = browse()
        page = context.new_page()
        page.goto("/?status=queued")
        expect(page.locator(f'tr[data-job-id="{queued[0]["id"]}"] .mini-text')).to_have_text(
            "queued · next (2 waiting)"
        )
        expect(page.locator(f'tr[data-job-id="{queued[1]["id"]}"] .mini-text')).to_have_text(
            "queued · 2nd in line (2 waiting)"
        )
        job_page = context.new_page()
        job_page.goto(f"/jobs/{queued[1]['id']}")
        expect(job_page.locator("#live-title")).to_have_text("Waiting in the queue")
        expect(job_page.locator("#live-text")).to_have_text("queued · 2nd in line (2 waiting)")
        client.post(f"/v1/generations/{queued[0]['id']}/cancel").raise_for_status()
        expect(job_page.locator("#live-text")).to_have_text("queued · next (1 waiting)", timeout=10_000)
        expect(page.locator(f'tr[data-job-id="{queued[1]["id"]}"] .mini-text')).to_have_text(
            "queued · next (1 waiting)"
        )
    finally:
        for job in (*queued, blocker):
            client.post(f"/v1/generations/{job['id']}/cancel")
        wait_status(client, blocker["id"], "cancelled", timeout=60)
