"""Fixtures of the dashboard tests: a real service (Redis, one worker, the API with an API key),
Chromium driven by Playwright, browser contexts that must not fetch from other origins or log
errors, and two finished jobs to look at.

The browser tests are skipped, saying how to install it, when Chromium is missing.
"""

from __future__ import annotations

import pytest

from app.api.deps import key_id
from app.embedded_redis import EmbeddedRedis
from tests.dashboard.browser import API_KEY, CHROMIUM_FLAGS, LAPTOP, chromium_path, new_context
from tests.dashboard.stored_jobs import remove, store_job
from tests.service.cluster import Service
from tests.service.helpers import submit, wait_status, wait_until

# the same request on the software baseline and on the chip: the comparison is like for like
SOFTWARE_JOB = {"num_images": 4, "steps": 4, "sampler": "ddim", "hardware": "software", "seed": 11}
CHIP_JOB = {**SOFTWARE_JOB, "hardware": "vcma-default"}


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        pytest.skip(
            "Chromium is not installed: run `apt-get install chromium` (Debian/Ubuntu) for the dashboard's browser tests"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory):
    """API (with SPINDIFF_API_KEYS), one worker process, their own embedded Redis."""
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        svc = Service(
            server,
            0,
            tmp_path_factory.mktemp("dashboard"),
            env={"SPINDIFF_API_KEYS": API_KEY, "SPINDIFF_RATE_LIMIT_PER_MINUTE": "2000"},
        )
        try:
            svc.start_api()
            svc.start_worker()
            with svc.client() as client:
                wait_until(
                    lambda: client.get("/readyz").status_code == 200,
                    90,
                    0.2,
                    "the service never became ready",
                    svc.dump_logs,
                )
            yield svc
        finally:
            svc.stop()


@pytest.fixture()
def client(dashboard):
    with dashboard.client(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        yield http


@pytest.fixture(scope="session")
def finished_jobs(dashboard):
    """A software job and a small vcma-default job, both succeeded: {'software': job, 'chip': job}."""
    with dashboard.client(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        created = {"software": submit(http, SOFTWARE_JOB), "chip": submit(http, CHIP_JOB)}
        # the first chip job of a worker process programs and calibrates the chip (about 20–60 s here)
        return {name: wait_status(http, job["id"], "succeeded", timeout=300) for name, job in created.items()}


@pytest.fixture()
def stored_job(dashboard):
    """``stored_job(body, status="succeeded", **options)`` → id: a job of the test key written straight
    into the store (`tests.dashboard.stored_jobs.store_job`), removed again after the test."""
    owner, made = key_id(API_KEY), []

    def make(body: dict, status: str = "succeeded", **options) -> str:
        made.append(store_job(dashboard.store, body, status, owner=owner, **options))
        return made[-1]

    yield make
    remove(dashboard.store, made, owner)


@pytest.fixture()
def browse(chromium, dashboard, request):
    """Open browser contexts: ``browse(viewport=LAPTOP, key=API_KEY, color_scheme="light")`` → (context, watched). At the
    end each context must have fetched only from the service and logged no errors."""
    opened = []

    def open_context(viewport=LAPTOP, key=API_KEY, color_scheme="light"):
        context, watched = new_context(chromium, dashboard.url, viewport, key, color_scheme)
        opened.append((context, watched))
        return context, watched

    yield open_context
    for context, _watched in opened:
        context.close()
    failed = request.node.rep_call.failed if hasattr(request.node, "rep_call") else False
    if not failed:
        for _, watched in opened:
            assert watched.foreign() == [], "the dashboard fetched from another origin"
            assert watched.problems == [], "the pages logged errors"
