"""The API reference: ``/docs`` (Swagger UI), ``/redoc`` (ReDoc) and ``/openapi.json``, with nothing from a CDN.

The viewers' scripts and stylesheet are the static files of the pinned ``fastapi-offline`` wheel (only its
files are used, not its app factory), served at ``/docs/vendor``. The two pages are shells written here,
without any part of the API description: their script (``docs_static/docs.js``, at ``/docs/static``)
fetches ``/openapi.json`` and starts the viewer on it, with FastAPI's own Swagger UI parameters.
(FastAPI's ``get_swagger_ui_html`` starts the viewer from an inline script, which could neither send a
key with that fetch nor run under the pages' Content-Security-Policy.)

When ``SPINDIFF_API_KEYS`` is set, ``/openapi.json`` needs a key like every API route, and a browser
opening the pages supplies it as on the dashboard: the script sends the key the dashboard keeps in the
tab's sessionStorage (``Authorization: Bearer KEY``) or, without one, asks for it and keeps it there for
the dashboard too. Swagger UI's "Try it out" requests carry the same key unless its Authorize dialog
sets another. The key never goes into a URL. With no keys configured the three are public.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import swagger_ui_default_parameters
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.staticfiles import StaticFiles

from app.api import deps

HERE = Path(__file__).resolve().parent
#: Swagger UI and ReDoc as released, from the pinned fastapi-offline wheel (pyproject.toml)
VENDOR = Path(str(files("fastapi_offline") / "static"))
OPENAPI_URL = "/openapi.json"
# The viewers' scripts are files of this origin; both set inline styles (React style attributes, ReDoc's
# styled-components) and ReDoc runs its search in a blob: worker. Nothing may load from another origin:
# ReDoc's sidebar asks for its logo from its CDN, and this policy refuses it (the "API docs by Redocly"
# link stays, as text).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#: (title, the viewer's stylesheet or None, its script, the id of the element it renders into)
VIEWERS = {
    "swagger": ("Swagger UI", "/docs/vendor/swagger-ui.css", "/docs/vendor/swagger-ui-bundle.js", "swagger-ui"),
    "redoc": ("ReDoc", None, "/docs/vendor/redoc.standalone.js", "redoc"),
}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · spindiff API</title>
<link rel="icon" href="/dashboard/static/favicon.svg" type="image/svg+xml">
{stylesheet}<link rel="stylesheet" href="/docs/static/docs.css">
<script src="{script}"></script>
<script type="module" src="/docs/static/docs.js"></script>
</head>
<body data-viewer="{viewer}" data-openapi="{openapi}" data-parameters="{parameters}">
<header class="docs-top">
  <a class="brand" href="/">spin<span>diff</span></a>
  <nav aria-label="API reference">
    <a href="/">Dashboard</a>
    <a href="/docs"{swagger_current}>Swagger UI</a>
    <a href="/redoc"{redoc_current}>ReDoc</a>
  </nav>
</header>
<p id="docs-status" class="docs-status" role="status">Loading the API description…</p>
<form id="docs-key" class="docs-key" hidden>
  <h1>API key</h1>
  <p id="docs-key-message">This server requires an API key to show its API description.</p>
  <label for="docs-key-input">Key</label>
  <input type="password" id="docs-key-input" name="key" autocomplete="off" spellcheck="false">
  <p class="hint">Kept in this browser tab only (sessionStorage, shared with the dashboard) and sent in the
  Authorization header, never in a URL.</p>
  <button type="submit">Use key</button>
</form>
<div id="{mount}"></div>
</body>
</html>
"""


def page(viewer: str) -> HTMLResponse:
    """The shell of ``/docs`` (``viewer="swagger"``) or ``/redoc`` (``"redoc"``)."""
    title, stylesheet, script, mount = VIEWERS[viewer]
    parameters = {**swagger_ui_default_parameters, "dom_id": f"#{mount}"} if viewer == "swagger" else {}
    text = PAGE.format(
        title=title,
        stylesheet=f'<link rel="stylesheet" href="{stylesheet}">\n' if stylesheet else "",
        script=script,
        viewer=viewer,
        openapi=OPENAPI_URL,
        parameters=html.escape(json.dumps(parameters), quote=True),
        swagger_current=' aria-current="page"' if viewer == "swagger" else "",
        redoc_current=' aria-current="page"' if viewer == "redoc" else "",
        mount=mount,
    )
    return HTMLResponse(text, headers=HEADERS)


router = APIRouter(include_in_schema=False)


@router.get(OPENAPI_URL)
def openapi(request: Request, _caller: str | None = Depends(deps.api_key)) -> JSONResponse:
    """The OpenAPI document (needs a key when API keys are set)."""
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return page("swagger")


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return page("redoc")


def install(app: FastAPI) -> None:
    """Add the three routes and their static files to ``app`` (made with ``openapi_url=None``,
    ``docs_url=None``, ``redoc_url=None``, so that FastAPI adds no routes of its own)."""
    app.include_router(router)
    app.mount("/docs/static", StaticFiles(directory=HERE / "docs_static"), name="docs-static")
    app.mount("/docs/vendor", StaticFiles(directory=VENDOR), name="docs-vendor")
