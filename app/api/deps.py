"""Dependencies of the routes: the service objects kept on the app, "job or 404", API keys.

The service objects (settings, job store, Celery client, async Redis for SSE, rate limiter) are made once in
`app.api.main.create_app` and kept in ``app.state``; routes ask for them here.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from app.api.errors import ApiError
from worker.settings import Settings
from worker.store import JobStore


def settings(request: Request) -> Settings:
    return request.app.state.settings


def store(request: Request) -> JobStore:
    return request.app.state.store


def celery(request: Request):
    return request.app.state.celery


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def key_id(key: str) -> str:
    """A short, non-reversible name of an API key (used in Redis keys and logs instead of the key)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


#: The two ways to present a key, declared as OpenAPI security schemes (`api_key` reads the headers itself:
#: these only document them, and never refuse a request on their own).
BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY (when SPINDIFF_API_KEYS is set)")
X_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key in an X-API-Key header")


def api_key(
    request: Request,
    config: Settings = Depends(settings),
    _bearer=Depends(BEARER),
    _header=Depends(X_API_KEY),
) -> str | None:
    """When ``SPINDIFF_API_KEYS`` is set: the caller's key id, checked in constant time and rate limited
    (`app.api.rate_limit.RateLimiter`, kept on the app)."""
    keys = config.api_key_list
    if not keys:
        return None
    presented = _presented_key(request)
    if not presented:
        raise ApiError(
            401,
            "api_key_required",
            "this server requires an API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    digest = hashlib.sha256(presented.encode()).digest()
    matched = False
    for key in keys:  # compare with every key, so the time taken does not tell which one nearly matched
        matched |= hmac.compare_digest(digest, hashlib.sha256(key.encode()).digest())
    if not matched:
        raise ApiError(401, "api_key_invalid", "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    ident = key_id(presented)
    request.app.state.rate_limiter.check(ident)
    return ident


def owner_scope(caller: str | None = Depends(api_key), config: Settings = Depends(settings)) -> str | None:
    """Whose jobs the caller may see: its own key id, or None for all (no keys configured, or an admin key).

    Jobs belong to the key that made them; another key gets 404 for them, as for an unknown id, so
    that ids cannot be probed.
    """
    if caller is None or caller in {key_id(k) for k in config.admin_key_list}:
        return None
    return caller


def visible(record: dict, owner: str | None) -> bool:
    """Whether a job or sweep record is the caller's to see (``owner`` from `owner_scope`)."""
    return owner is None or record.get("owner", "") == owner


def job_or_404(job_id: str, jobs: JobStore = Depends(store), owner: str | None = Depends(owner_scope)) -> dict:
    job = jobs.get(job_id)
    if job is None or not visible(job, owner):
        raise ApiError(
            404,
            "job_not_found",
            f"no generation job {job_id!r} (unknown id, or removed after the retention period)",
            "id",
        )
    return job
