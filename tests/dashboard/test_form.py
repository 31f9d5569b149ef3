"""The generation form in Chromium (static/js/form.js, templates/_generation_form.html): drawn from the
profile schema (the parameter dataclasses' metadata), every error at its own field at once, a first
run that takes seconds with its estimated duration, "Edit and run" and "Load settings from a PNG"."""

from __future__ import annotations

import base64
import io
import json

import pytest

from app.api.deps import key_id
from device import profiles
from tests.dashboard.browser import API_KEY, screenshot
from tests.dashboard.stored_jobs import request, store_job

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)").expect

ADC = '[data-field="hardware.overrides.crossbar.adc_bits"]'
READ_TIME = '[data-field="hardware.overrides.crossbar.read_time"]'
READ_NOISE = '[data-field="hardware.overrides.crossbar.read_noise"]'


def _validated(r) -> bool:
    return r.url.endswith("/dashboard/validate") and r.method == "POST"


def _unfold(page, *sections: str) -> None:
    """Open the parameter sections (they start folded)."""
    for section in sections:
        page.locator(f'details.params[data-group="{section}"]').evaluate("(details) => { details.open = true; }")


def _open_form(browse, path: str = "/"):
    context, watched = browse()
    page = context.new_page()
    with page.expect_request(_validated):  # the first dry run: the form is filled in and checked
        page.goto(path)
    expect(page.locator(f"{ADC} input")).to_have_value("8")
    return page, watched


def test_every_field_comes_from_the_profile_schema_with_its_unit_range_and_source(browse):
    page, _ = _open_form(browse)
    drawn = page.evaluate("""() => [...document.querySelectorAll('#param-sections .param')].map((p) => ({
        field: p.dataset.field, label: p.querySelector('label').textContent.trim(),
        unit: p.querySelector('.unit')?.textContent || '', hint: p.querySelector('.hint').textContent,
        options: [...p.querySelectorAll('option')].map((o) => o.value),
        control: p.querySelector('select') ? 'select' : p.querySelector('input').type,
        group: p.closest('fieldset').dataset.paramGroup }))""")
    wanted = [
        (section["name"], group["key"], f)
        for section in profiles.schema()
        for group in section["groups"]
        for f in group["fields"]
        if (section["name"], f["name"]) != ("crossbar", "emulation")  # drawn beside the profile
    ]
    assert [d["field"] for d in drawn] == [f"hardware.overrides.{s}.{f['name']}" for s, _, f in wanted]
    for d, (section, group, f) in zip(drawn, wanted, strict=True):
        assert d["label"] == f["label"] and d["group"] == f"{section}.{group}", d
        assert f["description"] in d["hint"] and f"Source: {f['source']}" in d["hint"], d
        assert d["unit"] == (f["display"][0] if f["display"] else f["unit"]), d
        if f["choices"]:
            assert d["control"] == "select" and d["options"] == f["choices"], d
        else:
            assert d["control"] == ("checkbox" if f["type"] == "bool" else "text"), d
    assert len(drawn) == 77  # every field of the five sections but the emulation mode
    expect(page.locator(f"{ADC} .hint")).to_contain_text("2–14, or 0 (ideal) · profile value 8 · adc_bits")
    expect(page.locator('details.params[data-group="crossbar"] .param-group legend').first).to_have_text(
        "Tiles and weights"
    )
    expect(page.locator("#f-emulation option")).to_have_count(2)

    # the sections start folded, each with what it holds
    expect(page.locator("details.params[open]")).to_have_count(0)
    expect(page.locator('details.params[data-group="crossbar"] .section-title')).to_have_text("Crossbars (23)")
    expect(page.locator('details.params[data-group="crossbar"] .section-text')).to_have_text(
        next(s["summary"] for s in profiles.schema() if s["name"] == "crossbar")
    )
    screenshot(page, "form-laptop", full_page=False)
    page.locator("#params").evaluate("(element) => element.scrollIntoView({block: 'start'})")
    screenshot(page, "form-sections-laptop", full_page=False)
    _unfold(page, "crossbar", "rng")
    # values in the unit shown, sent back in SI exactly: 1 ns shown as "1", 16 typed is 1.6e-08 s
    expect(page.locator(f"{READ_TIME} input")).to_have_value("1")
    expect(page.locator(f"{READ_TIME} .unit")).to_have_text("ns")
    expect(page.locator(f"{READ_NOISE} input")).to_have_attribute("placeholder", "derived")
    with page.expect_request(_validated) as posted:
        page.fill(f"{READ_TIME} input", "16")
        page.locator(f"{READ_TIME} input").press("Tab")
    assert posted.value.post_data_json["hardware"]["overrides"]["crossbar"]["read_time"] == 16e-9
    expect(page.locator(READ_TIME)).to_have_class("param changed")
    expect(page.locator("#override-count")).to_have_text("1 override")
    with page.expect_request(_validated) as posted:
        page.select_option('[data-field="hardware.overrides.crossbar.input_mode"] select', "bit_serial")
    assert posted.value.post_data_json["hardware"]["overrides"]["crossbar"] == {
        "read_time": 16e-9,
        "input_mode": "bit_serial",
        "emulation": "statistical",
    }
    expect(page.locator("#override-count")).to_have_text("2 overrides")
    group = page.locator('fieldset[data-param-group="crossbar.read"]')
    group.evaluate("(element) => element.scrollIntoView({block: 'start'})")
    screenshot(group, "form-read-group-laptop")

    # the Generate bar stays in view however far down the parameters the form is scrolled
    for field in ("crossbar.tile_rows", "crossbar.write_field", "rng.gaussian_bits"):
        page.locator(f'[data-field="hardware.overrides.{field}"]').evaluate(
            "(e) => e.scrollIntoView({block: 'center'})"
        )
        box = page.locator("#submit-button").bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= page.viewport_size["height"], (field, box)
    screenshot(page, "form-sticky-bar-laptop", full_page=False)


def test_every_error_is_shown_at_once_each_at_its_own_field(browse, client):
    page, watched = _open_form(browse)
    before = client.get("/v1/generations", params={"limit": 100}).json()["items"]
    _unfold(page, "crossbar", "rng")
    page.fill("#f-num_images", "0")
    page.fill(f"{ADC} input", "99")
    page.fill(f"{READ_NOISE} input", "-1")  # −1 % → −0.01
    mtj = page.locator('details.params[data-group="mtj"]')
    _unfold(page, "mtj")
    page.fill('[data-field="hardware.overrides.mtj.demag_x"] input', "0.5")  # the sum of N_x, N_y, N_z
    mtj.locator("> summary").click()  # folded again
    page.fill('[data-field="hardware.overrides.rng.calibration_window"] input', "100")
    page.click("#submit-button")
    expect(page.locator("#submit-state")).to_have_text("fix the marked fields")
    expect(page.locator("#e-num_images")).to_contain_text("greater than or equal to 1")
    expect(page.locator(f"{ADC} .error")).to_have_text(
        "CrossbarParameters.adc_bits must lie in [2, 14] (or 0 for ideal), got 99"
    )
    expect(page.locator(f"{READ_NOISE} .error")).to_have_text("CrossbarParameters.read_noise must be >= 0, got -0.01")
    expect(page.locator('[data-field="hardware.overrides.mtj.demag_x"] .error')).to_contain_text(
        "demag_x + demag_y + demag_z must be 1"
    )
    expect(page.locator('[data-field="hardware.overrides.rng.calibration_window"] .error')).to_contain_text(
        "multiple of 64"
    )
    expect(page.locator("#gen-form [aria-invalid=true]")).to_have_count(5)
    expect(mtj).to_have_attribute("open", "")  # folded again, opened for its error
    expect(page.locator("#override-count")).to_have_text("4 overrides")
    group = page.locator('fieldset[data-param-group="crossbar.read"]')
    group.evaluate("(element) => element.scrollIntoView({block: 'start'})")
    screenshot(group, "form-errors-at-their-fields-laptop")

    # fixed, the couplings across sections are checked, each at the override that breaks it
    page.fill("#f-num_images", "4")
    for field, value in (
        ("crossbar.adc_bits", "6"),
        ("crossbar.read_noise", ""),
        ("mtj.demag_x", "0.0106"),
        ("rng.calibration_window", "32768"),
    ):
        page.fill(f'[data-field="hardware.overrides.{field}"] input', value)
    page.fill('[data-field="hardware.overrides.rng.relax_time"] input', "1")  # 1 ns
    page.click("#submit-button")
    expect(page.locator('[data-field="hardware.overrides.rng.relax_time"] .error')).to_contain_text(
        "raise rng.relax_time"
    )
    expect(page.locator("#gen-form [aria-invalid=true]")).to_have_count(1)
    assert not [post for post in watched.posts if post.startswith("/v1/generations")], "nothing may be submitted"
    assert client.get("/v1/generations", params={"limit": 100}).json()["items"] == before


def test_the_first_run_takes_seconds_and_its_duration_is_estimated_before_submitting(browse, dashboard, finished_jobs):
    from worker import metrics_store

    context, _ = browse()
    page = context.new_page()
    with page.expect_request(_validated) as posted:
        page.goto("/")
    # the form starts on 4 images × 10 steps in the statistical mode (the API's own default is 16 × 50, exact)
    sent = posted.value.post_data_json
    assert (sent["num_images"], sent["steps"]) == (4, 10), sent
    assert sent["hardware"] == {"profile": "vcma-default", "overrides": {"crossbar": {"emulation": "statistical"}}}
    expect(page.locator("#f-emulation")).to_have_value("statistical")
    expect(page.locator("#estimate strong")).to_contain_text("Estimated ≈")
    rates, setup, _ = metrics_store.run_rates(dashboard.store.r, "vcma-default", "statistical")
    seconds = float(page.locator("#estimate").get_attribute("data-seconds"))
    if not rates.get("jobs"):  # nothing of this mode ran in this session: docs/emulation.md's figures
        expect(page.locator("#estimate")).to_have_attribute("data-basis", "fallback")
        expect(page.locator("#estimate .estimate-detail")).to_contain_text("rough: nothing measured here yet")
        assert 3 < seconds < 30, seconds
    # the chip job of the fixture ran in the exact mode: its rate and chip are measured
    with page.expect_response(lambda r: _validated(r.request)) as answered:
        page.select_option("#f-emulation", "exact")
    estimate = answered.value.json()["estimate"]
    rates, _, own = metrics_store.run_rates(dashboard.store.r, "vcma-default", "exact")
    assert own and estimate["basis"] == "profile" and estimate["setup"] == "load", estimate
    assert estimate["sampling_s"] == pytest.approx(40 / (rates["image_steps"] / rates["sampling_s"]))
    expect(page.locator("#estimate")).to_have_attribute("data-basis", "profile")
    expect(page.locator("#estimate .estimate-detail")).to_contain_text("of this profile")
    screenshot(page.locator("#submit-bar"), "form-estimate-laptop")


def test_edit_and_run_fills_the_form_with_a_jobs_request(browse, dashboard):
    overrides = {
        "crossbar": {"adc_bits": 6, "read_time": 4e-9, "emulation": "statistical"},
        "rng": {"calibration": "calibrated_xor"},
    }
    seed = 2**63 - 25  # beyond a browser's exact integers
    body = request("vcma-default", overrides, steps=12, seed=seed, noise="mtj", sampler="ddpm", eta=0.0)
    job_id = store_job(dashboard.store, body, owner=key_id(API_KEY))
    context, _ = browse()
    page = context.new_page()
    page.goto(f"/jobs/{job_id}")
    with page.expect_request(_validated) as posted:
        page.click("#edit-button")
    page.wait_for_url(f"**/?from={job_id}")
    sent = posted.value.post_data_json
    assert sent["hardware"] == {"profile": "vcma-default", "overrides": overrides}, sent
    assert (sent["seed"], sent["steps"], sent["num_images"], sent["sampler"], sent["noise"]) == (
        seed,
        12,
        4,
        "ddpm",
        "mtj",
    )
    expect(page.locator("#form-note")).to_contain_text(f"Settings of job {job_id[:8]} (succeeded) loaded")
    expect(page.locator("#f-seed")).to_have_value(str(seed))
    expect(page.locator(f"{ADC} input")).to_have_value("6")
    expect(page.locator(f"{READ_TIME} input")).to_have_value("4")
    expect(page.locator("#override-count")).to_have_text("3 overrides")
    expect(page.locator("#f-emulation")).to_have_value("statistical")
    expect(page.locator('details.params[data-group="crossbar"]')).to_have_attribute("open", "")  # shows what was loaded
    expect(page.locator('details.params[data-group="mtj"]')).not_to_have_attribute("open", "")
    screenshot(page, "form-edit-and-run-laptop", full_page=False)

    # the jobs list: each row has its own "Edit and run", which fills the form without leaving the page
    page.goto("/")
    expect(page.locator(f'tr[data-job-id="{job_id}"]')).to_be_visible()
    with page.expect_request(_validated):
        page.fill("#f-steps", "3")
        page.locator("#f-steps").press("Tab")
    with page.expect_request(_validated) as posted:
        page.locator(f'tr[data-job-id="{job_id}"] a.edit-link').click()
    assert posted.value.post_data_json["steps"] == 12 and posted.value.post_data_json["seed"] == seed
    expect(page.locator("#form-note")).to_contain_text(f"Settings of job {job_id[:8]}")


def _drop(page, name: str, data: bytes) -> None:
    """Drop a file on the form as a user dragging it from a file manager would."""
    page.evaluate(
        """([b64, name]) => { const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const moved = new DataTransfer(); moved.items.add(new File([bytes], name, {type: 'image/png'}));
        const panel = document.querySelector('#submit-panel');
        for (const type of ['dragover', 'drop']) panel.dispatchEvent(new DragEvent(type, {dataTransfer: moved, bubbles: true, cancelable: true})); }""",
        [base64.b64encode(data).decode(), name],
    )


def test_load_settings_from_a_png_and_a_clear_message_for_one_without_a_record(browse, client, finished_jobs):
    from PIL import Image

    job = client.get(f"/v1/generations/{finished_jobs['chip']['id']}").json()
    png = client.get(f"/v1/generations/{job['id']}/images/1.png").content
    page, _ = _open_form(browse)
    with page.expect_request(_validated) as posted:
        _drop(page, "spindiff-1.png", png)
    sent = posted.value.post_data_json
    request_ = job["request"]
    assert sent["hardware"] == "vcma-default" and sent["seed"] == request_["seed"], (
        sent
    )  # the record's exact chip: no overrides
    assert (sent["num_images"], sent["steps"], sent["sampler"], sent["chip_seed"]) == (4, 4, "ddim", 0)
    assert sent["noise"] == request_["noise"]
    expect(page.locator("#form-note")).to_contain_text(
        f"Loaded the settings of image 1 of job {job['id'][:8]} from spindiff-1.png."
    )
    expect(page.locator("#f-emulation")).to_have_value("exact")
    screenshot(page, "form-png-loaded-laptop", full_page=False)

    software = client.get(f"/v1/generations/{finished_jobs['software']['id']}/images/grid.png").content
    with page.expect_request(_validated) as posted:
        page.set_input_files("#png-input", files=[{"name": "grid.png", "mimeType": "image/png", "buffer": software}])
    assert posted.value.post_data_json["hardware"] == "software" and posted.value.post_data_json["seed"] == 11
    expect(page.locator("#form-note")).to_contain_text("Loaded the settings of the grid of job")
    expect(page.locator("#param-sections")).to_be_hidden()  # the software baseline has no hardware parameters
    expect(page.locator("#f-emulation")).to_be_disabled()

    plain = io.BytesIO()
    Image.new("L", (28, 28), 128).save(plain, format="PNG")  # a PNG, but not one spindiff wrote
    page.set_input_files(
        "#png-input", files=[{"name": "screenshot.png", "mimeType": "image/png", "buffer": plain.getvalue()}]
    )
    expect(page.locator("#form-error")).to_contain_text("screenshot.png carries no spindiff record")
    expect(page.locator("#form-note")).to_be_hidden()
    screenshot(page.locator("#submit-panel .form-error"), "form-png-without-record-laptop")
    page.set_input_files(
        "#png-input", files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"GIF89a not a png"}]
    )
    expect(page.locator("#form-error")).to_contain_text("notes.png: not a PNG file")
    # the record is JSON in an iTXt chunk (diffusion/generation/images.py): what the page read is what the PNG says
    record = json.loads(Image.open(io.BytesIO(png)).text["spindiff"])
    assert record["job_id"] == job["id"] and record["num_images"] == 4
