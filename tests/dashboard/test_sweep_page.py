"""The sweep pages in Chromium (static/js/sweeps.js, sweep.js) and their routes over HTTP.

The form builds a 2 × 2 grid (a list axis and a log-range axis), a bad value is refused with the
API's 422 shown by its axis and nothing queued, the fixed grid is posted and its page streams the
points' events and cancels them. A finished sweep (tests/dashboard/sweep_data.py: point jobs with
the real fixture telemetry, stored without a worker) shows the scatter with its N and Pareto
front, hover text, the sortable table, CSV and JSON downloads, and a dot opens its job.
"""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import pytest

from app.api.deps import key_id
from tests.dashboard.browser import API_KEY, PHONE, fits_width, screenshot, wait_js
from tests.dashboard.sweep_data import AXES, FRONT, finish_point, progress_point, seed_sweep, start_point

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)").expect


@pytest.fixture(scope="module")
def model(dashboard):
    with dashboard.client(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        found = http.get("/v1/models").json()[0]
    return {"id": found["id"], "sha256": found["sha256"]}


@pytest.fixture(scope="module")
def finished_sweep(dashboard, model):
    """The finished 2 × 2 sweep of tests/dashboard/sweep_data.py, the dashboard key's; its `SweepStore` record."""
    return seed_sweep(dashboard.store, model, owner=key_id(API_KEY))


def _ids(client, path: str) -> list[str]:
    return [item["id"] for item in client.get(path).json()["items"]]


def _order(page) -> list[int]:
    return page.locator("#points-body tr").evaluate_all("rows => rows.map((r) => Number(r.dataset.point))")


def test_the_form_builds_a_grid_shows_a_422_by_its_axis_and_posts_it(browse, client):
    context, watched = browse()
    page = context.new_page()
    page.goto("/sweeps")
    expect(page.locator("#sweep-form")).to_have_attribute("data-ready", "true")
    expect(page.locator("#h-model")).to_contain_text("training steps")
    page.select_option("#f-profile", "vcma-default")
    page.select_option("#f-emulation", "statistical")
    page.select_option("#f-sampler", "ddim")
    page.fill("#f-steps", "2")
    page.fill("#f-num_images", "2")
    page.fill("#f-seed", "5")
    first = page.locator("#axis-rows .axis").nth(0)
    first.locator(".axis-param").select_option("crossbar.adc_bits")
    expect(first.locator(".axis-current")).to_have_text("vcma-default: crossbar.adc_bits = 8 · int")
    first.locator(".axis-values").fill("6, 99")
    expect(first.locator(".axis-preview")).to_have_text("→ 2 values: 6, 99")
    page.click("#add-axis")
    second = page.locator("#axis-rows .axis").nth(1)
    second.locator(".axis-param").select_option("crossbar.read_time")
    second.locator(".mode-range").check()
    second.locator(".axis-start").fill("1e-9")
    second.locator(".axis-stop").fill("4e-9")
    second.locator(".axis-count").fill("2")
    second.locator(".axis-scale").select_option("log")
    expect(second.locator(".axis-preview")).to_have_text("→ 2 values: 1e-9, 4e-9")
    expect(page.locator("#sweep-preview")).to_have_text("2 × 2 = 4 points × 2 images = 8 images")

    sweeps_before = _ids(client, "/v1/sweeps")
    jobs_before = _ids(client, "/v1/generations?limit=100")
    page.click("#submit-button")
    expect(first.locator(".error")).to_contain_text("crossbar.adc_bits = 99")
    expect(first.locator(".axis-values")).to_have_attribute("aria-invalid", "true")
    expect(second.locator(".error")).to_have_text("")
    expect(page.locator("#submit-state")).to_have_text("nothing was queued: fix the marked fields")
    assert watched.posts.count("/v1/sweeps") == 1
    assert _ids(client, "/v1/sweeps") == sweeps_before and _ids(client, "/v1/generations?limit=100") == jobs_before
    # nothing lost from the form
    assert first.locator(".axis-values").input_value() == "6, 99"
    assert second.locator(".mode-range").is_checked() and second.locator(".axis-start").input_value() == "1e-9"
    assert page.locator("#f-emulation").input_value() == "statistical" and page.locator("#f-seed").input_value() == "5"
    screenshot(page.locator("#sweep-form-panel"), "sweep-form-error-laptop")

    first.locator(".axis-values").fill("6, 8")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/sweeps/[0-9a-f]{32}$"))
    sweep_id = page.url.rsplit("/", 1)[1]
    sweep = client.get(f"/v1/sweeps/{sweep_id}").json()
    request = sweep["request"]
    assert request["axes"] == AXES and request["emulation"] == "statistical"
    assert request["model"] == "default"  # the model menu's first entry
    assert (request["num_images"], request["steps"], request["sampler"], request["seed"]) == (2, 2, "ddim", 5)
    assert [p["values"] for p in sweep["points"]] == [
        {"crossbar.adc_bits": a, "crossbar.read_time": t} for a in (6, 8) for t in (1e-9, 4e-9)
    ]
    # its page: the four points, live over the sweep's event stream; Cancel stops them
    expect(page.locator("#points-body tr")).to_have_count(4)
    wait_js(
        page, "new Set(window.spindiffSweepEvents.filter((e) => e.event === 'queued').map((e) => e.point)).size === 4"
    )
    page.click("#cancel-button")
    wait_js(page, "document.querySelectorAll('#points-body tr[data-status=cancelled]').length >= 3", timeout=60)
    done = client.get(f"/v1/sweeps/{sweep_id}").json()
    assert done["cancel_requested"] and done["counts"].get("cancelled", 0) >= 3


def test_the_sweep_page_follows_each_point_live(browse, dashboard, model):
    store = dashboard.store
    sweep = seed_sweep(store, model, owner=key_id(API_KEY), finish=False)
    context, _ = browse()
    page = context.new_page()
    page.goto(f"/sweeps/{sweep['id']}")
    expect(page.locator("#stream-state")).to_contain_text("live")
    expect(page.locator("#points-body tr[data-status=queued]")).to_have_count(4)
    expect(page.locator("#no-figure")).to_contain_text("The scatter appears as points finish")
    row = page.locator('#points-body tr[data-point="0"]')
    attempt = start_point(store, sweep, 0)
    expect(row.locator(".badge")).to_have_text("running")
    progress_point(store, sweep, 0, attempt, 2)
    expect(row.locator(".mini-text")).to_have_text("step 2 / 3")
    expect(page.locator("#sweep-counts")).to_have_text("1 running · 3 queued")
    expect(page.locator("#sweep-status")).to_have_text("running")
    finish_point(store, sweep, 0, attempt)
    expect(page.locator('svg a.pt[data-point="0"]')).to_have_count(1)  # the report re-read: its first dot
    expect(row.locator(".badge")).to_have_text("succeeded")
    expect(page.locator("#sweep-progress-text")).to_have_text("1 of 4 points finished")
    for k in (1, 2, 3):
        finish_point(store, sweep, k, start_point(store, sweep, k))
    expect(page.locator("#sweep-report")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("svg a.pt")).to_have_count(4)
    expect(page.locator("#stream-state")).to_be_hidden()
    seen = page.evaluate("window.spindiffSweepEvents")
    assert seen[-1]["event"] == "sweep" and {e["point"] for e in seen if e["event"] == "succeeded"} == {0, 1, 2, 3}


def test_a_finished_sweep_shows_its_front_sorts_downloads_and_opens_a_point(browse, client, finished_sweep):
    sweep_id = finished_sweep["id"]
    jobs = [p["job_id"] for p in finished_sweep["points"]]
    context, _ = browse()
    page = context.new_page()
    page.goto(f"/sweeps/{sweep_id}")
    figure = page.locator('[data-figure="sweep"]')
    expect(figure.locator("svg")).to_be_visible()
    expect(figure.locator("h3")).to_have_text("FID against energy per image (N = 2)")
    expect(figure).to_contain_text("batch FID, N = 2")
    expect(figure.locator(".hint")).to_contain_text("No error bars")
    expect(figure.locator("a.pt")).to_have_count(4)
    assert sorted(figure.locator("a.pt.pareto").evaluate_all("els => els.map((e) => Number(e.dataset.point))")) == FRONT
    expect(figure.locator("polyline.front")).to_have_attribute("data-points", "3")
    expect(page.locator("#cancel-button")).to_have_count(0)  # finished: nothing to cancel
    # hover: the point's parameters and values
    page.hover('svg a.pt[data-point="2"]')
    expect(page.locator("#point-info")).to_contain_text("#2 · crossbar.adc_bits = 8, crossbar.read_time = 1e-09")
    expect(page.locator('#points-body tr[data-point="2"]')).to_have_class(re.compile(r"\bhover\b"))
    # sortable columns
    assert _order(page) == [0, 1, 2, 3]
    page.click('th[data-col="fid"] button')
    assert _order(page) == [3, 1, 2, 0]
    expect(page.locator('th[data-col="fid"]')).to_have_attribute("aria-sort", "ascending")
    page.click('th[data-col="fid"] button')
    assert _order(page) == [0, 2, 1, 3]
    expect(page.locator('th[data-col="fid"]')).to_have_attribute("aria-sort", "descending")
    page.click('th[data-col="energy"] button')
    assert _order(page) == [0, 1, 2, 3]
    page.click('th[data-col="pareto"] button')
    assert _order(page) == [0, 1, 3, 2]
    screenshot(page, "sweep-laptop")
    # downloads: fetched with the key, saved as blobs
    with page.expect_download() as info:
        page.click("#csv-download")
    assert info.value.suggested_filename == f"spindiff-sweep-{sweep_id[:8]}.csv"
    text = open(info.value.path()).read()
    assert text == client.get(f"/v1/sweeps/{sweep_id}.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["point"], r["job_id"], r["pareto"]) for r in rows] == [
        (str(k), jobs[k], "1" if k in FRONT else "0") for k in range(4)
    ]
    with page.expect_download() as info:
        page.click("#json-download")
    saved = json.loads(open(info.value.path()).read())
    assert saved["id"] == sweep_id and saved["pareto"] == FRONT and saved["counts"] == {"succeeded": 4}
    # a dot opens its point's job
    page.click('svg a.pt[data-point="1"]')
    page.wait_for_url(re.compile(rf"/jobs/{jobs[1]}$"))
    expect(page.locator("#job-report")).to_have_attribute("data-status", "succeeded")


def test_the_sweeps_list_shows_status_and_counts(browse, finished_sweep):
    context, _ = browse()
    page = context.new_page()
    page.goto("/sweeps")
    row = page.locator(f'#sweeps-body tr[data-sweep-id="{finished_sweep["id"]}"]')
    expect(row.locator(".badge")).to_have_text("succeeded")
    expect(row.locator(".counts-text")).to_have_text("4 succeeded")
    expect(row.locator("td.axes")).to_have_text("crossbar.adc_bits (2) × crossbar.read_time (2)")
    expect(row.locator("td.images")).to_have_text("4 × 2")
    expect(page.locator('nav a[href="/sweeps"]')).to_have_attribute("aria-current", "page")
    screenshot(page, "sweeps-laptop")
    row.locator("a").click()
    page.wait_for_url(re.compile(rf"/sweeps/{finished_sweep['id']}$"))
    expect(page.locator("#sweep-report")).to_have_attribute("data-status", "succeeded")


def test_a_finished_sweep_fits_a_phone(browse, finished_sweep):
    context, _ = browse(viewport=PHONE)
    page = context.new_page()
    page.goto(f"/sweeps/{finished_sweep['id']}")
    expect(page.locator('[data-figure="sweep"] svg')).to_be_visible()
    assert fits_width(page)
    screenshot(page, "sweep-phone")


def test_sweep_pages_and_report_routes(dashboard, client, finished_sweep):
    for path in ("/sweeps", f"/sweeps/{finished_sweep['id']}"):
        response = httpx.get(dashboard.url + path, timeout=10)
        assert response.status_code == 200 and "script-src 'self'" in response.headers["content-security-policy"]
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))", response.text), path
        assert " style=" not in response.text and "<style" not in response.text, path
    assert httpx.get(dashboard.url + "/sweeps/not-an-id", timeout=10).status_code == 422
    for asset in ("js/sweeps.js", "js/sweep.js"):
        assert httpx.get(f"{dashboard.url}/dashboard/static/{asset}", timeout=10).status_code == 200, asset
    report = f"/dashboard/sweeps/{finished_sweep['id']}/report"
    assert httpx.get(dashboard.url + report, timeout=10).status_code == 401
    html = client.get(report).text
    assert 'data-figure="sweep"' in html and len(re.findall(r'class="pt pareto"', html)) == 3 and " style=" not in html
    missing = client.get("/dashboard/sweeps/" + "0" * 32 + "/report")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "sweep_not_found"
    assert "/dashboard/sweeps/{sweep_id}/report" in client.get("/openapi.json").json()["paths"]
