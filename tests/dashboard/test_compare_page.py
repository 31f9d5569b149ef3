"""The comparison page in Chromium (static/js/compare.js): two finished jobs picked in the jobs
table, their grids and telemetry side by side; the picker; a phone's width."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.browser import PHONE, fits_width, screenshot, wait_js
from tests.dashboard.stored_jobs import request

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)").expect


def test_compare_two_jobs_picked_in_the_jobs_table(browse, finished_jobs):
    context, _ = browse()
    page = context.new_page()
    page.goto("/")
    ids = [finished_jobs["software"]["id"], finished_jobs["chip"]["id"]]
    for job_id in ids:
        page.locator(f'tr[data-job-id="{job_id}"] input[type=checkbox]').check()
    expect(page.locator("#compare-button")).to_be_enabled()
    page.click("#compare-button")
    page.wait_for_url(re.compile(r"/compare\?ids="))
    expect(page.locator(".compare-column")).to_have_count(2)
    assert sorted(page.locator(".compare-column").evaluate_all("els => els.map(e => e.dataset.jobId)")) == sorted(ids)
    wait_js(page, "[...document.querySelectorAll('.grid-img')].every((img) => img.naturalWidth > 0)")
    expect(page.locator('[data-figure="energy_vs"]')).to_contain_text("vcma-default")
    expect(page.locator('[data-figure="components"] .legend')).to_contain_text("RNG")
    expect(page.locator("table.numbers")).to_contain_text("energy per image")
    screenshot(page, "compare-laptop")


def test_the_picker_lists_finished_jobs(browse, finished_jobs):
    context, _ = browse()
    page = context.new_page()
    page.goto("/compare")
    for job in finished_jobs.values():
        page.locator(f'#picker-list input[value="{job["id"]}"]').check()
    page.click("#picker-button")
    page.wait_for_url(re.compile(r"/compare\?ids="))
    expect(page.locator(".compare-column")).to_have_count(2)


def test_the_comparison_fits_a_phone(browse, finished_jobs):
    context, _ = browse(viewport=PHONE)
    page = context.new_page()
    page.goto(f"/compare?ids={finished_jobs['software']['id']},{finished_jobs['chip']['id']}")
    expect(page.locator(".compare-column")).to_have_count(2)
    wait_js(page, "[...document.querySelectorAll('.grid-img')].every((img) => img.naturalWidth > 0)")
    assert fits_width(page)
    screenshot(page, "compare-phone")


def test_two_override_runs_are_labelled_by_their_overrides(browse, stored_job):
    ids = [stored_job(request("vcma-default", {"crossbar": {"adc_bits": bits}})) for bits in (4, 6)]
    context, _ = browse()
    page = context.new_page()
    page.goto(f"/compare?ids={','.join(ids)}")
    expect(page.locator(".compare-column")).to_have_count(2)
    expect(page.locator(".compare-column h2")).to_have_text(
        ["#1 vcma-default · adc_bits 4", "#2 vcma-default · adc_bits 6"]
    )
    page.goto("/compare")
    for job_id, bits in zip(ids, (4, 6)):
        expect(page.locator(f'#picker-list label:has(input[value="{job_id}"])')).to_contain_text(
            f"vcma-default · adc_bits {bits}"
        )


def test_wrong_ids_get_an_error_page_not_json(browse, finished_jobs):
    context, _ = browse()
    page = context.new_page()
    for address, text in (
        (f"/compare?ids={finished_jobs['chip']['id']}", "name 2 to 4 jobs"),
        ("/compare?ids=a,b,c,d,e", "name 2 to 4 jobs"),
        ("/compare?ids=a,no%20such", "is not a job id"),
    ):
        answer = page.goto(address)
        assert answer.status == 422 and answer.headers["content-type"].startswith("text/html"), address
        expect(page.locator("#error-title")).to_have_text("Cannot compare these jobs")
        expect(page.locator("#page-error .form-error")).to_contain_text(text)
    # well-formed ids of no job (or another key's): the page says which, and offers the picker
    page.goto(f"/compare?ids={finished_jobs['chip']['id']},{'f' * 32}")
    expect(page.locator("#compare-error")).to_contain_text(f"no generation job '{'f' * 32}'")
    expect(page.locator("#picker")).to_be_visible()
    expect(page.locator(f'#picker-list input[value="{finished_jobs["chip"]["id"]}"]')).to_have_count(1)
