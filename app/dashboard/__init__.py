"""The generation dashboard: submit, watch, compare — served by the API at ``/``.

`install` adds the pages, the dashboard's data routes under ``/dashboard`` and its static files
(plain JavaScript and CSS written for it, nothing fetched from a CDN) to the FastAPI app.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.dashboard.routes import HERE, data, pages


def install(app: FastAPI) -> None:
    app.include_router(data)
    app.include_router(pages)
    app.mount("/dashboard/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")
