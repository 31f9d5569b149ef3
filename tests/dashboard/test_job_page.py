"""A job's page in Chromium (static/js/job.js): cancel while it runs, "run again" with the exact
request, and the finished report at a phone's width."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.browser import PHONE, fits_width, screenshot, wait_js
from tests.service.helpers import submit, wait_status

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)").expect

LONG = {"num_images": 4, "steps": 1000, "hardware": "software", "preview": True, "quality": {"enabled": False}}
REQUEST_KEYS = (
    "model",
    "model_sha256",
    "num_images",
    "sampler",
    "steps",
    "eta",
    "seed",
    "chip_seed",
    "hardware",
    "quality",
    "preview",
)


def test_cancel_a_running_job(browse, client):
    context, _ = browse()
    page = context.new_page()
    job = submit(client, LONG)
    page.goto(f"/jobs/{job['id']}")
    wait_js(page, "Number(document.querySelector('#live-progress').dataset.step) >= 3", timeout=120)
    page.click("#cancel-button")
    expect(page.locator("#job-status")).to_have_text("cancelled", timeout=60_000)
    expect(page.locator("#partial-note")).to_contain_text(re.compile(r"Cancelled after \d+ of 1000 steps"))
    expect(page.locator("#live")).to_be_hidden()
    done = client.get(f"/v1/generations/{job['id']}").json()
    assert done["status"] == "cancelled" and 3 <= done["telemetry"]["cancelled"]["steps_done"] < 1000
    screenshot(page, "job-cancelled-laptop")


def test_run_again_resubmits_the_exact_request(browse, client):
    original = submit(
        client, {"num_images": 2, "steps": 4, "sampler": "ddim", "eta": 0.5, "hardware": "software"}
    )  # server picks the seed
    original = wait_status(client, original["id"], "succeeded")
    assert original["request"]["seed"] >= 0
    context, _ = browse()
    page = context.new_page()
    page.goto(f"/jobs/{original['id']}")
    expect(page.locator("#job-report")).to_have_attribute("data-status", "succeeded")
    page.click("#rerun-button")
    page.wait_for_url(re.compile(rf"/jobs/[0-9a-f]{{32}}\?rerun_of={original['id']}$"))
    rerun_id = page.url.split("/jobs/")[1].split("?")[0]
    assert rerun_id != original["id"]
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#rerun-note")).to_contain_text("Same model, profile hash and code version as the original")
    rerun = client.get(f"/v1/generations/{rerun_id}").json()
    assert {k: rerun["request"][k] for k in REQUEST_KEYS} == {k: original["request"][k] for k in REQUEST_KEYS}
    assert rerun["reproducibility"]["sampler"] == original["reproducibility"]["sampler"]
    # same seeds, same request: the same pictures (the PNGs differ only in the record's job id)
    assert (
        client.get(rerun["grid_url"]).content != b""
        and rerun["reproducibility"]["seed"] == original["reproducibility"]["seed"]
    )
    screenshot(page, "job-software-laptop")


def test_a_finished_chip_job_fits_a_phone(browse, finished_jobs):
    context, _ = browse(viewport=PHONE)
    page = context.new_page()
    page.goto(f"/jobs/{finished_jobs['chip']['id']}")
    expect(page.locator('[data-figure="latency"] svg')).to_be_visible()
    wait_js(page, "document.querySelector('.grid-img').naturalWidth > 0")
    assert fits_width(page)
    screenshot(page, "job-chip-phone")
