"""One error shape for every failure: ``{"error": {"code", "message", "field"}}``.

``code`` is stable and machine-readable, ``message`` says what to change, ``field`` names the
request field at fault (dotted, e.g. ``hardware.overrides.rng.dac_bits``) or is null. A 422 of a body
also lists every problem found, each with its field, in ``details`` (the first is ``message``/``field``).
"""

from __future__ import annotations

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """Raised by routes and dependencies; rendered by `install`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = status, code, message, field, headers


def printable(text: str | None) -> str | None:
    """``text`` with lone UTF-16 surrogates (valid in a JSON string, not in UTF-8) written as ``\\udXXX``,
    so that an error quoting the client's input can always be encoded."""
    return None if text is None else text.encode("utf-8", "backslashreplace").decode("utf-8")


def body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": printable(message), "field": printable(field)}}


def _field(loc) -> str | None:
    if len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], int):
        return None  # a JSON parse error's character offset, not a field
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    # drop pydantic's union-branch and validator labels ("str", "HardwareSpec", "function-after[…]") from the path
    parts = [p for p in parts if p not in ("str", "HardwareSpec") and not p.startswith("function-")]
    return ".".join(parts) or None


#: pydantic error types raised by the request models with a code of their own (`app.api.schemas`):
#: their message is complete as written (no "field: " prefix) and their code is the type.
OWN_CODES = ("invalid_profile",)


def _validation_message(error: dict) -> str:
    field = _field(error.get("loc", ()))
    message = error.get("msg", "invalid value").removeprefix("Value error, ")
    if error.get("type") in OWN_CODES:
        return message
    if error.get("type") == "extra_forbidden":
        message = "unknown field (see the request schema at /docs)"
    elif error.get("type") == "json_invalid":
        where = error.get("loc", ())
        at = f" at character {where[1]}" if len(where) == 2 and isinstance(where[1], int) else ""
        return f"the body is not valid JSON: {error.get('ctx', {}).get('error', message)}{at}"
    elif error.get("type") == "model_attributes_type" and field is None:
        return "the body must be a JSON object (send it with Content-Type: application/json)"
    return f"{field}: {message}" if field else message


def _relevant(errors: list) -> list:
    """Drop the union branch that does not fit the input (a dict is not a bad profile *name*);
    the deepest error first: it names the most specific field."""
    kept = [e for e in errors if not ("str" in e.get("loc", ()) and isinstance(e.get("input"), dict))] or errors
    return sorted(kept, key=lambda e: -(_field(e.get("loc", ())) or "").count("."))


async def _on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = _relevant(list(exc.errors()))
    first = errors[0] if errors else {}
    code = first.get("type") if first.get("type") in OWN_CODES else "validation_error"
    payload = body(code, _validation_message(first), _field(first.get("loc", ())))
    payload["error"]["details"] = [
        {"field": printable(_field(e.get("loc", ()))), "message": printable(_validation_message(e))} for e in errors
    ]
    return JSONResponse(payload, status_code=422)


async def _on_api_error(_: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(body(exc.code, exc.message, exc.field), status_code=exc.status, headers=exc.headers)


_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if isinstance(exc.__cause__, ApiError):  # FastAPI's 400 around an error raised while reading the body
        return await _on_api_error(request, exc.__cause__)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 400 and message == "There was an error parsing the body":
        # FastAPI's answer to a body it cannot decode (not UTF-8): a validation error like any other bad JSON
        return JSONResponse(
            body("validation_error", "the body is not valid JSON: it is not UTF-8 text"), status_code=422
        )
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route; the API is described at /docs"
    return JSONResponse(
        body(_CODES.get(exc.status_code, "http_error"), message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


#: seconds a client is asked to wait when the job store is unreachable
STORE_RETRY_S = 5


async def _on_store_down(_: Request, exc: redis.exceptions.RedisError) -> JSONResponse:
    """Redis unreachable (refused, timed out, or gone mid-command): 503 in the error shape, connection kept."""
    return JSONResponse(
        body(
            "store_unavailable",
            f"the job store (Redis) is unreachable ({type(exc).__name__}); nothing was changed, retry in {STORE_RETRY_S} s",
        ),
        status_code=503,
        headers={"Retry-After": str(STORE_RETRY_S)},
    )


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(body("internal_error", f"unexpected {type(exc).__name__}; see the API log"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    for unreachable in (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        app.add_exception_handler(unreachable, _on_store_down)
    app.add_exception_handler(Exception, _on_unexpected)


# OpenAPI: the error responses every route may give.
RESPONSES = {
    401: {"description": "missing or unknown API key", "model": None},
    422: {
        "description": "invalid request; `error.field` names the field, `error.details` every problem with its field"
    },
    429: {"description": "rate limit or queue cap reached; see Retry-After"},
    503: {"description": "the job store or the queue is unreachable; see Retry-After"},
}
