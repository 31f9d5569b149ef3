"""The jobs page in Chromium (static/js/index.js): the API key asked once, the form's checks before
anything is queued, submitting a chip job and watching it in the live table and on its page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.dashboard.browser import API_KEY, PHONE, fits_width, screenshot, wait_js

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)").expect

ADC = '[data-field="hardware.overrides.crossbar.adc_bits"]'
STEPS = 10


def _jobs(client) -> list[str]:
    return [job["id"] for job in client.get("/v1/generations", params={"limit": 100}).json()["items"]]


def test_the_api_key_is_asked_once_and_kept_for_the_tab(browse):
    context, watched = browse(key=None)
    page = context.new_page()
    page.goto("/")
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#key-message")).to_contain_text("asks for an API key")
    page.fill("#key-input", "not-the-key")
    page.click("#key-save")
    expect(page.locator("#key-message")).to_contain_text("refused")
    screenshot(page, "api-key-laptop")
    page.fill("#key-input", API_KEY)
    page.click("#key-save")
    expect(dialog).to_be_hidden()
    expect(page.locator("#stream-state")).to_have_text("live")
    expect(page.locator(f"{ADC} input")).to_have_value("8")  # the profile's parameters, fetched with the key
    page.reload()  # same tab: the key is still there, nothing is asked
    expect(page.locator("#stream-state")).to_have_text("live")
    expect(dialog).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('spindiff.apiKey')") == API_KEY
    assert not [url for url in watched.requests if API_KEY in url], "the key must never be in a URL"


def test_bad_form_values_show_the_fields_error_without_submitting(browse, client):
    context, watched = browse()
    page = context.new_page()
    page.goto("/")
    expect(page.locator(f"{ADC} input")).to_have_value("8")
    before = _jobs(client)

    page.fill("#f-num_images", "0")
    page.fill("#f-steps", "abc")
    page.click("#submit-button")
    expect(page.locator("#e-num_images")).to_contain_text("greater than or equal to 1")
    expect(page.locator("#e-steps")).to_contain_text("valid integer")
    expect(page.locator("#f-num_images")).to_have_attribute("aria-invalid", "true")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "form-errors-laptop", full_page=False)  # the form's top: the whole page is a long parameter list

    page.fill("#f-num_images", "2")
    page.fill("#f-steps", "3")
    page.locator('details.params[data-group="crossbar"] > summary').click()  # the sections start folded
    page.fill(f"{ADC} input", "99")  # checked by the profile catalog, as the API does
    page.click("#submit-button")
    expect(page.locator(f"{ADC} .error")).to_contain_text("must lie in [2, 14]")
    expect(page.locator(f"{ADC} input")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-num_images")).to_be_empty()
    expect(page.locator("#override-count")).to_have_text("1 override")
    expect(page.locator("#submit-state")).to_have_text("fix the marked fields")
    group = page.locator('fieldset[data-param-group="crossbar.periphery"]')
    group.evaluate("(element) => element.scrollIntoView({block: 'start'})")
    screenshot(group, "form-override-error-laptop")

    assert not [post for post in watched.posts if post.startswith("/v1/generations")], "nothing may be submitted"
    assert _jobs(client) == before


def test_the_sampler_menu_and_the_eta_field_follow_the_sampler_registry(browse):
    # the route passes each registry entry's description and takes_eta; the script enables η and
    # sends it for those samplers alone (app/dashboard/routes.py form_fields, static/js/index.js)
    from diffusion.generation.sampler_names import DEFAULT_SAMPLER, SAMPLERS

    context, _ = browse()
    page = context.new_page()
    page.goto("/")
    expect(page.locator(f"{ADC} input")).to_have_value("8")
    assert page.locator("#f-sampler option").evaluate_all("(os) => os.map((o) => o.value)") == list(SAMPLERS)
    expect(page.locator("#f-sampler")).to_have_value(DEFAULT_SAMPLER)
    eta = page.locator("#f-eta")
    validated = lambda r: r.url.endswith("/dashboard/validate") and r.method == "POST"  # noqa: E731
    for name in [n for n in SAMPLERS if n != DEFAULT_SAMPLER] + [DEFAULT_SAMPLER]:
        spec = SAMPLERS[name]
        with page.expect_request(validated) as posted:
            page.select_option("#f-sampler", name)
        expect(page.locator("#h-sampler")).to_have_text(spec.description)
        assert ("eta" in posted.value.post_data_json) == spec.takes_eta, name
        if spec.takes_eta:
            expect(eta).to_be_enabled()
            with page.expect_request(validated) as posted:
                eta.fill("0.5")
                eta.press("Tab")
            assert posted.value.post_data_json["eta"] == 0.5
            expect(page.locator("#e-eta")).to_be_empty()
        else:
            expect(eta).to_be_disabled()
            expect(eta).to_have_value("0")


def test_submit_from_the_form_and_watch_it_run_and_finish(browse, client, finished_jobs):
    context, _ = browse()
    table = context.new_page()  # the jobs table in its own tab, live over SSE
    table.goto("/")
    expect(table.locator("#stream-state")).to_have_text("live")
    table.evaluate("""() => { window.seen = [];
        new MutationObserver(() => document.querySelectorAll('#jobs-body tr').forEach((tr) =>
            window.seen.push([tr.dataset.jobId, tr.dataset.status, tr.querySelector('.mini-text').textContent])))
          .observe(document.querySelector('#jobs-body'), {childList: true}); }""")

    page = context.new_page()
    page.goto("/")
    expect(page.locator(f"{ADC} input")).to_have_value("8")
    page.select_option("#f-profile", "vcma-default")
    page.select_option("#f-emulation", "exact")  # the exact chip of finished_jobs, slow enough to watch
    page.fill("#f-steps", str(STEPS))
    page.fill("#f-num_images", "2")
    page.fill("#f-seed", "7")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f]{32}$"))
    job_id = page.url.rsplit("/", 1)[1]

    # while it runs: progress, ETA and the current denoised estimate, refreshed over SSE
    expect(page.locator("#live")).to_be_visible()
    wait_js(
        page,
        f"""() => {{ const p = document.querySelector('#preview');
        const s = Number(document.querySelector('#live-progress').dataset.step);
        return !p.hidden && p.naturalWidth > 0 && s >= 3 && s < {STEPS}; }}""",
        timeout=180,
    )
    expect(page.locator("#live-text")).to_contain_text(f"/ {STEPS}")
    expect(page.locator("#cancel-button")).to_be_enabled()
    screenshot(page, "job-running-laptop")
    screenshot(table, "jobs-laptop")

    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=180_000)
    steps = page.evaluate("window.spindiffSteps")
    assert steps == sorted(steps) and steps[-1] == STEPS and len(set(steps)) >= 3, steps
    seen = [(status, text) for seen_id, status, text in table.evaluate("window.seen") if seen_id == job_id]
    assert any(status == "running" and re.match(rf"step [1-9] / {STEPS}", text) for status, text in seen), seen
    expect(table.locator(f'tr[data-job-id="{job_id}"]')).to_have_attribute("data-status", "succeeded")

    # the finished job: grid, charts, quality, record
    expect(page.locator(".grid-hit .cell")).to_have_count(2)
    wait_js(page, "document.querySelector('.grid-img').naturalWidth > 0")
    for name, text in (("energy_vs", "A100 SXM"), ("components", "ADC"), ("area", "ADCs"), ("latency", "this chip")):
        expect(page.locator(f'[data-figure="{name}"] svg')).to_be_visible()
        expect(page.locator(f'[data-figure="{name}"]')).to_contain_text(text)
    expect(page.locator("#quality-title")).to_be_visible()
    expect(page.locator(".record")).to_contain_text(
        client.get(f"/v1/generations/{job_id}").json()["reproducibility"]["profile_hash"]
    )
    screenshot(page, "job-chip-laptop")

    # click to enlarge, download the PNG (it carries the record)
    page.locator('.grid-hit .cell[data-index="1"]').click()
    expect(page.locator("#lightbox")).to_be_visible()
    wait_js(page, "document.querySelector('#lightbox-img').naturalWidth > 0")
    with page.expect_download() as info:
        page.click("#lightbox-download")
    assert info.value.suggested_filename == f"spindiff-{job_id[:8]}-1.png"
    png = Path(info.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG") and job_id.encode() in png
    page.click("#lightbox-close")
    expect(page.locator("#lightbox")).to_be_hidden()


def test_the_jobs_page_fits_a_phone(browse, finished_jobs):
    context, _ = browse(viewport=PHONE)
    page = context.new_page()
    page.goto("/")
    expect(page.locator(f'tr[data-job-id="{finished_jobs["chip"]["id"]}"]')).to_be_visible()
    expect(page.locator("#params")).not_to_have_attribute("open", "")  # folded on a phone
    assert fits_width(page)
    screenshot(page, "jobs-phone")
