"""A job's page in Chromium (static/js/job.js): cancel while it runs, "run again" with the exact
request, and the finished report at a phone's width."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.browser import PHONE, fits_width, screenshot, wait_js
from tests.dashboard.stored_jobs import request
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
    expect(page.locator("#live")).to_be_hidden()
    done = client.get(f"/v1/generations/{job['id']}").json()
    assert done["status"] == "cancelled" and 3 <= done["telemetry"]["cancelled"]["steps_done"] < 1000
    # the last preview stays, with the step it was drawn at and the step the job reached
    expect(page.locator("#stopped-step")).to_contain_text(f"Cancelled after step {done['progress']['step']} of 1000")
    wait_js(page, "document.querySelector('#stopped-preview')?.naturalWidth > 0")
    assert 3 <= int(page.locator("#stopped-preview").get_attribute("data-step")) <= done["progress"]["step"]
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


def test_a_failed_job_shows_the_step_it_reached_and_its_last_preview(browse, stored_job):
    job_id = stored_job(request(steps=10), "failed", step=3, previews=True)  # the store's own transitions, no worker
    context, _ = browse()
    page = context.new_page()
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#job-status")).to_have_text("failed")
    expect(page.locator("#stopped-step")).to_have_text("Failed at step 3 of 10.")
    expect(page.locator("#stopped-preview")).to_have_attribute("data-step", "3")
    wait_js(page, "document.querySelector('#stopped-preview').naturalWidth > 0")
    expect(page.locator("#job-report .form-error")).to_contain_text("emulation_error")
    expect(page.locator("#live")).to_be_hidden()


def test_a_job_is_named_with_its_overrides_and_a_bad_id_gets_a_page(browse, stored_job):
    overrides = {"crossbar": {"adc_bits": 4, "read_time": 4e-9}}
    job_id = stored_job(request("vcma-default", overrides))
    context, _ = browse()
    page = context.new_page()
    page.goto(f"/jobs/{job_id}")
    expect(page.locator(".summary strong")).to_have_text("vcma-default · adc_bits 4 · read_time 4e-09")
    answer = page.goto("/jobs/not a job!")
    assert answer.status == 422 and answer.headers["content-type"].startswith("text/html")
    expect(page.locator("#error-title")).to_have_text("Not a job id")
