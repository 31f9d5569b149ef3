"""Bounded request bodies: a size limit (413) and a read timeout (408), in the error shape, before any route runs.

An ASGI middleware, so that a body is refused while it arrives rather than after it was buffered:
a declared ``Content-Length`` above the limit is refused at once; a body sent without one (chunked)
is counted as it streams in and refused the moment it passes the limit; a client that stops
sending mid-body is answered 408 after ``timeout_s`` without a new chunk. The largest legitimate
body (a sweep of 256 explicit points) is a few tens of kB; the default limit is 1 MiB.
"""

from __future__ import annotations

import asyncio
import json

from app.api.errors import ApiError
from app.api.errors import body as error_body


class BodyTooLarge(ApiError):
    def __init__(self, size: int, max_bytes: int):
        super().__init__(
            413,
            "body_too_large",
            f"the request body has {size} bytes or more; at most {max_bytes} are accepted (SPINDIFF_MAX_BODY_BYTES)",
        )


class BodyTimeout(ApiError):
    def __init__(self, timeout_s: float):
        super().__init__(
            408,
            "body_timeout",
            f"no part of the request body arrived for {timeout_s:g} s; send the whole body at once",
            headers={"Connection": "close"},
        )


class BodyLimits:
    """``BodyLimits(app, max_bytes, timeout_s)``: wraps an ASGI app; the errors it raises while the app
    reads the body are `ApiError`s, rendered by `app.api.errors` (also when FastAPI wraps them)."""

    def __init__(self, app, max_bytes: int, timeout_s: float):
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await _refuse(send, BodyTooLarge(int(declared), self.max_bytes))
        seen, complete = 0, False

        async def limited_receive():
            nonlocal seen, complete
            if complete:  # the body is in: what follows is the wait for a disconnect (SSE), unbounded
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout_s)
            except TimeoutError:
                raise BodyTimeout(self.timeout_s) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(seen, self.max_bytes)
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send)


async def _refuse(send, error: ApiError) -> None:
    payload = json.dumps(error_body(error.code, error.message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
