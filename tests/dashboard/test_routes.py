"""The dashboard's routes over HTTP (routes.py): pages without data and a strict CSP, the dry-run
validation that answers exactly as POST /v1/generations does, the HTML fragments, the jobs stream."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.dashboard.browser import API_KEY

BAD_BODIES = [
    {"num_images": 0, "hardware": "software"},
    {"num_images": 65, "steps": 0, "hardware": "software"},
    {"sampler": "euler", "hardware": "software"},
    {"sampler": "ddpm", "eta": 0.5, "hardware": "software"},
    {"seed": "abc", "hardware": "software"},
    {"model": "no-such-model", "hardware": "software"},
    {"hardware": "no-such-profile"},
    {"hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"adc_bits": 99}}}},
    {"hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"adc_bits": "six"}}}},
    {"hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"no_such_knob": 1}}}},
    {"hardware": {"profile": "software", "overrides": {"crossbar": {"adc_bits": 6}}}},
]


def test_pages_need_no_key_carry_a_strict_csp_and_no_inline_code(dashboard):
    for path in ("/", "/jobs/0123abcd", "/compare", "/compare?ids=a,b"):
        response = httpx.get(dashboard.url + path, timeout=10)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), f"inline script on {path}"
        assert " style=" not in response.text and "<style" not in response.text, path
        assert "http://" not in response.text.replace(dashboard.url, "") and "https://" not in response.text
    for asset in (
        "dashboard.css",
        "js/common.js",
        "js/index.js",
        "js/jobs_table.js",
        "js/job.js",
        "js/compare.js",
        "favicon.svg",
    ):
        assert httpx.get(f"{dashboard.url}/dashboard/static/{asset}", timeout=10).status_code == 200, asset
    assert httpx.get(dashboard.url + "/jobs/not a job", timeout=10).status_code == 422


def test_data_routes_need_the_key(dashboard):
    for method, path in (
        ("POST", "/dashboard/validate"),
        ("GET", "/dashboard/jobs/stream"),
        ("GET", "/dashboard/jobs/x/report"),
        ("GET", "/dashboard/compare?ids=a,b"),
    ):
        response = httpx.request(method, dashboard.url + path, json={}, timeout=10)
        assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_required", path


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: json.dumps(b)[:60])
def test_validate_answers_as_the_api_does_and_queues_nothing(client, body):
    before = client.get("/v1/generations", params={"limit": 100}).json()["items"]
    checked = client.post("/dashboard/validate", json=body)
    submitted = client.post("/v1/generations", json=body)
    assert checked.status_code == submitted.status_code == 422, (checked.text, submitted.text)
    assert checked.json() == submitted.json()
    assert checked.json()["error"]["field"]  # names the field, which the form marks
    assert client.get("/v1/generations", params={"limit": 100}).json()["items"] == before


def test_validate_accepts_a_good_request_without_queueing_it(client):
    before = len(client.get("/v1/generations", params={"limit": 100}).json()["items"])
    body = {
        "num_images": 2,
        "steps": 3,
        "hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"adc_bits": 6}}},
    }
    answer = client.post("/dashboard/validate", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True and len(answer.json()["hardware"]["profile_hash"]) == 64
    assert len(client.get("/v1/generations", params={"limit": 100}).json()["items"]) == before
    assert "/dashboard/validate" in client.get("/openapi.json").json()["paths"]


def test_job_report_fragment_of_a_chip_job(client, finished_jobs):
    chip = finished_jobs["chip"]
    html = client.get(f"/dashboard/jobs/{chip['id']}/report").text
    for text in (
        "Energy per image: chip vs GPU/TPU",
        "Energy per image by component",
        "Chip area by block",
        "Latency per image",
        "Reproducibility record",
        "Quality",
        'data-status="succeeded"',
        chip["reproducibility"]["profile_hash"],
    ):
        assert text in html, text
    assert len(re.findall(r'<rect class="cell"', html)) == 4
    body = json.loads(re.search(r'<script type="application/json" id="rerun-body">(.*?)</script>', html, re.S).group(1))
    assert body["seed"] == chip["request"]["seed"] and body["model"] == chip["request"]["model_sha256"]
    assert " style=" not in html


def test_compare_fragment_checks_its_ids(client, finished_jobs):
    ids = [finished_jobs["software"]["id"], finished_jobs["chip"]["id"]]
    html = client.get("/dashboard/compare", params={"ids": ",".join(ids)}).text
    assert "Comparing 2 jobs" in html and "#1 software" in html and "#2 vcma-default" in html
    one = client.get("/dashboard/compare", params={"ids": ids[0]})
    assert one.status_code == 422 and one.json()["error"]["field"] == "ids"
    five = client.get("/dashboard/compare", params={"ids": ",".join(["a", "b", "c", "d", "e"])})
    assert five.status_code == 422 and "2 to 4" in five.json()["error"]["message"]
    missing = client.get("/dashboard/compare", params={"ids": f"{ids[0]},ffffffffffffffffffffffffffffffff"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"


def test_jobs_stream_sends_the_newest_jobs_with_seeds_as_text(dashboard, finished_jobs):
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.stream(
        "GET", dashboard.url + "/dashboard/jobs/stream", headers=headers, timeout=httpx.Timeout(30)
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("data: "):
                snapshot = json.loads(line[6:])
                break
    rows = {row["id"]: row for row in snapshot["items"]}
    chip = rows[finished_jobs["chip"]["id"]]
    assert chip["status"] == "succeeded" and chip["seed"] == str(finished_jobs["chip"]["request"]["seed"])
    assert chip["profile"] == "vcma-default" and chip["progress"]["fraction"] == 1.0
    assert snapshot["counts"]["succeeded"] >= 2 and snapshot["workers"] == 1


def test_the_api_process_serving_the_dashboard_has_not_loaded_torch_or_numba(dashboard, client, finished_jobs):
    client.get(f"/dashboard/jobs/{finished_jobs['chip']['id']}/report").raise_for_status()
    client.post("/dashboard/validate", json={"hardware": "vcma-default"}).raise_for_status()
    maps = Path(f"/proc/{dashboard.api.pid}/maps").read_text()
    assert "torch" not in maps and "numba" not in maps and "libgomp" not in maps


def test_the_key_button_is_there_only_when_the_server_asks_for_keys(dashboard):
    import warnings

    from app.api.main import create_app
    from worker.settings import Settings

    with warnings.catch_warnings():  # Starlette 1.x would rather drive it with httpx2; httpx still works
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
        from fastapi.testclient import TestClient

    assert 'id="key-button"' in httpx.get(dashboard.url + "/", timeout=10).text  # SPINDIFF_API_KEYS is set
    open_url = dashboard.redis_url.rsplit("/", 1)[0] + "/14"
    app = create_app(Settings(redis_url=open_url, api_keys=None))
    try:
        with TestClient(app) as local:
            for path in ("/", "/compare", "/jobs/0123abcd"):
                page = local.get(path)
                assert page.status_code == 200 and 'id="key-button"' not in page.text, path
    finally:
        app.state.celery.close()


def test_the_jobs_page_route_checks_its_filters(client):
    for params in ({"status": "done"}, {"q": "not an id!"}, {"limit": 0}, {"before": -1}, {"profile": "a b"}):
        answer = client.get("/dashboard/jobs", params=params)
        assert answer.status_code == 422, params
        assert answer.json()["error"]["field"].split(".")[-1] in params, answer.json()
    page = client.get("/dashboard/jobs", params={"status": "succeeded", "limit": 2}).json()
    assert len(page["items"]) <= 2 and all(row["status"] == "succeeded" for row in page["items"])


def test_thumbnails_and_queue_places_answer_for_the_jobs_they_have(client, finished_jobs):
    chip = finished_jobs["chip"]["id"]
    thumb = client.get(f"/dashboard/jobs/{chip}/thumbnail.png")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert thumb.content == client.get(finished_jobs["chip"]["grid_url"]).content
    assert client.get(f"/dashboard/jobs/{'f' * 32}/thumbnail.png").status_code == 404
    assert client.get(f"/dashboard/jobs/{chip}/queue").json() == {
        "status": "succeeded",
        "position": None,
        "waiting": None,
    }
