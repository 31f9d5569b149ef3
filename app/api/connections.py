"""Bounded connections for the API's HTTP server: a header timeout, a connection cap, keep-alive and header size.

uvicorn (h11) bounds an idle keep-alive connection (``timeout_keep_alive``) and the size of a request's
line and headers (``h11_max_incomplete_event_size``), but not the time a client may take to send them:
a client that trickles its headers a byte at a time (slowloris) holds a connection for ever. Its own
``limit_concurrency`` answers a plain-text 503. `bounded_protocol` is uvicorn's h11 protocol with

* a header timeout: ``header_timeout_s`` after a request's first byte (or after the connection
  opened), a request whose line and headers have not all arrived is answered 408 ``header_timeout``
  in the error shape and the connection closed; a connection that sent nothing is closed silently;
* a connection cap: past ``max_connections`` open connections, the next one's request is answered
  503 ``too_many_connections`` in the error shape, with ``Retry-After``, and closed. The cap counts
  every open connection (idle keep-alive ones and event streams included), so it also bounds the
  requests in flight and the file descriptors the API holds.

A request body is bounded apart, by `app.api.limits.BodyLimits` (size, 413; stall between chunks, 408).
`uvicorn_options` gives ``uvicorn.run`` these settings (``spindiff serve`` and ``spindiff api`` use it).
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.h11_impl import H11Protocol

from app.api.errors import body as error_body

#: seconds a client refused at the connection cap is asked to wait
CONNECTIONS_RETRY_S = 1


def _response(status: int, reason: str, payload: dict) -> bytes:
    """A whole HTTP/1.1 response with a JSON body, written to the socket past h11 (the connection closes after)."""
    data = json.dumps(payload).encode()
    head = [f"HTTP/1.1 {status} {reason}".encode(), b"content-type: application/json", b"connection: close"]
    head.append(f"content-length: {len(data)}".encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + data


async def _too_many_connections(scope, receive, send, max_connections: int) -> None:
    """The ASGI app a connection over the cap is served by: 503 in the error shape, then the connection closes."""
    payload = json.dumps(
        error_body(
            "too_many_connections",
            f"the API has {max_connections} connections open, its limit (SPINDIFF_MAX_CONNECTIONS); "
            f"retry in {CONNECTIONS_RETRY_S} s",
        )
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"retry-after", str(CONNECTIONS_RETRY_S).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class _BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and a connection cap (module docstring).

    A subclass made by `bounded_protocol` sets the two class attributes below."""

    header_timeout_s: float = 10.0
    max_connections: int = 1000

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_timer = None
        self._waiting_cycle = None
        self._request_bytes = 0
        if len(self.connections) > self.max_connections:
            cap = self.max_connections
            self.app = lambda scope, receive, send: _too_many_connections(scope, receive, send, cap)
        self._arm()

    def _arm(self) -> None:
        self._request_bytes = 0
        self._waiting_cycle = self.cycle
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def data_received(self, data: bytes) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        if self._header_timer is None and idle:  # the first bytes of the next request on a kept-alive connection
            self._arm()
        if self._header_timer is not None:
            self._request_bytes += len(data)
        super().data_received(data)
        if self._header_timer is not None and self.cycle is not self._waiting_cycle:
            self._disarm()  # the request line and headers are in; the body has its own timeout

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._request_bytes:
            payload = error_body(
                "header_timeout",
                f"the request line and headers did not all arrive within {self.header_timeout_s:g} s "
                "(SPINDIFF_HEADER_TIMEOUT_S); send them at once",
            )
            self.transport.write(_response(408, "Request Timeout", payload))
        self.transport.close()


def bounded_protocol(header_timeout_s: float, max_connections: int) -> type[H11Protocol]:
    """uvicorn's h11 protocol class with this header timeout (seconds) and connection cap (``http=`` of uvicorn)."""
    return type(
        "BoundedH11Protocol",
        (_BoundedH11Protocol,),
        {"header_timeout_s": float(header_timeout_s), "max_connections": int(max_connections)},
    )


def uvicorn_options(settings) -> dict:
    """Keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` for ``settings`` (a `worker.settings.Settings`)."""
    return {
        "http": bounded_protocol(settings.header_timeout_s, settings.max_connections),
        "timeout_keep_alive": settings.keep_alive_s,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_graceful_shutdown": 5,
    }
