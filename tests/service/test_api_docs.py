"""The API reference (app/api/docs.py) over HTTP: /docs and /redoc are shells whose every asset this server
serves itself; /openapi.json is public without API keys and needs a key with them, the shells never carry
the API description. The pages in a browser, offline: tests/dashboard/test_api_docs_pages.py."""

from __future__ import annotations

import re

import pytest

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_pages_load_nothing_from_another_origin(api, path):
    page = api.client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "connect-src 'self'" in csp
    assets = ASSET.findall(page.text)
    assert {"/docs/static/docs.js", "/docs/static/docs.css"} <= set(assets)
    assert any(url.startswith("/docs/vendor/") and url.endswith(".js") for url in assets)
    for url in assets:  # scripts, stylesheets, icon and the bar's links
        assert url.startswith("/"), f"{path} links {url}, not a path of this server"
        assert api.client.get(url).status_code == 200, url
    bundle = next(url for url in assets if url.startswith("/docs/vendor/") and url.endswith(".js"))
    assert api.client.get(bundle).headers["content-type"].startswith("text/javascript")
    assert len(api.client.get(bundle).content) > 500_000  # the viewer itself, not a loader that fetches it


def test_without_keys_the_document_is_public(api):
    document = api.client.get("/openapi.json")
    assert document.status_code == 200 and "/v1/generations" in document.json()["paths"]
    assert not {"/openapi.json", "/docs", "/redoc"} & set(document.json()["paths"])  # not API operations


def test_with_keys_the_document_needs_one_and_the_pages_hold_none_of_it(make_api):
    client = make_api(api_keys="alpha-key", rate_limit_per_minute=1000).client
    missing = client.get("/openapi.json")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "api_key_required"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/openapi.json", headers={"Authorization": "Bearer alpha-kex"}).json()["error"]["code"] == (
        "api_key_invalid"
    )
    for headers in ({"Authorization": "Bearer alpha-key"}, {"X-API-Key": "alpha-key"}):
        assert "/v1/generations" in client.get("/openapi.json", headers=headers).json()["paths"]
    for path in ("/docs", "/redoc"):
        shell = client.get(path)  # a browser's navigation sends no header: the page's script sends the key
        assert shell.status_code == 200
        assert "/v1/" not in shell.text and "spindiff.apiKey" not in shell.text
        assert client.get("/docs/static/docs.js").status_code == 200
