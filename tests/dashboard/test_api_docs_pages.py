"""The API reference in Chromium with every request that would leave the machine aborted (an offline
laptop): Swagger UI at /docs lists the operations and runs "Try it out" with the tab's API key, ReDoc at
/redoc renders them; with keys set and none in the tab the page asks for one; without keys nothing is asked.
Over HTTP: tests/service/test_api_docs.py."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.embedded_redis import EmbeddedRedis
from tests.dashboard.browser import API_KEY, SCREENSHOTS, new_context, wait_js
from tests.service.cluster import Service

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `make install` (dev extra)").expect

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# ReDoc's sidebar asks for its logo from its CDN; the page's Content-Security-Policy refuses it before any
# request is made (app/api/docs.py), which Chromium reports on the console.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def offline(context) -> list[str]:
    """Abort every request of ``context`` to a host outside the loopback range; returns the list they go to."""
    aborted: list[str] = []

    def handle(route):
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", handle)
    return aborted


def operations(document: dict) -> int:
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return sum(1 for item in document["paths"].values() for method in item if method in methods)


def forgive_redoc_logo(watched) -> None:
    """Drop the refused ReDoc logo (and only it) from what the `browse` fixture checks at the end."""
    watched.requests[:] = [url for url in watched.requests if url != REDOC_LOGO]
    watched.problems[:] = [text for text in watched.problems if REDOC_LOGO not in text]


@pytest.fixture(scope="module")
def open_api(tmp_path_factory):
    """An API process without API keys (no worker: the reference needs none; ReDoc is covered above)."""
    with EmbeddedRedis(tmp_path_factory.mktemp("docs-redis")) as server:
        svc = Service(server, 1, tmp_path_factory.mktemp("docs-api"))
        try:
            yield svc.start_api()
        finally:
            svc.stop()


def test_swagger_ui_and_redoc_render_offline_with_the_tabs_key(browse, client):
    expected = operations(client.get("/openapi.json").json())
    context, watched = browse()
    aborted = offline(context)
    page = context.new_page()
    page.goto("/docs")
    assert wait_js(page, f"document.querySelectorAll('#swagger-ui .opblock').length >= {expected}", 60)
    expect(page.locator("#swagger-ui .opblock-summary-path", has_text="/v1/generations").first).to_be_visible()
    expect(page.locator("#docs-status")).to_be_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # the first screenful: the page is 23 operations long
    page.screenshot(path=str(SCREENSHOTS / "api-docs-swagger-ui.png"), animations="disabled")

    models = page.locator("#operations-catalog-list_models_v1_models_get")  # "Try it out" sends the tab's key
    models.locator(".opblock-summary").click()
    models.locator(".try-out__btn").click()
    models.locator(".execute").click()
    expect(models.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    expect(models.locator(".live-responses-table")).to_contain_text("default")

    page.goto("/redoc")
    expect(page.locator("#redoc h1").first).to_contain_text("spindiff")
    assert wait_js(
        page, f"document.querySelectorAll('#redoc [data-section-id^=\"operation/\"]').length >= {expected}", 60
    )
    expect(page.locator("#redoc [role=menuitem]", has_text="Submit a generation job").first).to_be_visible()
    assert [url for url in aborted if url != REDOC_LOGO] == [], "the reference asked another host for something"
    forgive_redoc_logo(watched)
    assert not [url for url in watched.requests if API_KEY in url], "the key must never be in a URL"


def test_with_keys_and_none_in_the_tab_the_page_asks_for_one(browse):
    context, watched = browse(key=None)
    offline(context)
    page = context.new_page()
    page.goto("/docs")
    form = page.locator("#docs-key")
    expect(form).to_be_visible()
    expect(page.locator("#docs-key-message")).to_contain_text("requires an API key")
    assert page.locator("#swagger-ui .opblock").count() == 0
    page.fill("#docs-key-input", "not-the-key")
    page.click("#docs-key button[type=submit]")
    expect(page.locator("#docs-key-message")).to_contain_text("refused (unknown API key)")
    page.fill("#docs-key-input", API_KEY)
    page.click("#docs-key button[type=submit]")
    expect(form).to_be_hidden()
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('spindiff.apiKey')") == API_KEY  # the dashboard's entry
    assert not [url for url in watched.requests if API_KEY in url or "not-the-key" in url]


def test_without_keys_the_reference_asks_for_nothing(chromium, open_api):
    context, watched = new_context(chromium, open_api.url, key=None)
    try:
        aborted = offline(context)
        page = context.new_page()
        page.goto("/docs")
        expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
        expect(page.locator("#docs-key")).to_be_hidden()
        assert aborted == [] and watched.foreign() == [] and watched.problems == []
    finally:
        context.close()
