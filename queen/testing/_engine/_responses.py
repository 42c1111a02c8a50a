"""Building responses the way the 0.15 broker writes them (spec §1.1, §1.4, §1.5).

Immediate responses carry their real status and four CORS headers (with
``Access-Control-Max-Age``); deferred (database-backed) ones are written header-first, so
uWebSockets sends ``200 OK`` whatever status the route intended, and carry three CORS headers.
An empty JSON array/object result of a deferred route is sent with no body at all (Q5).
"""

from __future__ import annotations

from typing import Any, List, Tuple

from .._wire import Response
from ._jsonio import dumps

__all__ = [
    "NOT_FOUND_BODY",
    "deferred",
    "immediate",
    "not_found",
    "options",
    "reason_for",
]

Headers = List[Tuple[str, str]]

NOT_FOUND_BODY = (
    b"<html><body><h1>File Not Found</h1><hr><i>uWebSockets/20 Server</i></body></html>"
)
_CT = ("Content-Type", "application/json")
_CORS3: Headers = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
]
_CORS4: Headers = [*_CORS3, ("Access-Control-Max-Age", "86400")]
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_EMPTY = (b"[]", b"{}")


def reason_for(status: int) -> str:
    """The reason phrase for ``status``."""
    return _REASONS.get(status, "OK")


def immediate(status: int, obj: Any) -> Response:
    """A response written at once, with its real status code."""
    return Response(status, dumps(obj), [_CT, *_CORS4], reason_for(status))


def immediate_raw(status: int, body: bytes) -> Response:
    """An immediate JSON response from pre-encoded bytes."""
    return Response(status, body, [_CT, *_CORS4], reason_for(status))


def deferred(obj: Any, intended: int = 200, *, wire: bool = True) -> Response:
    """A database-backed response: 200 on the wire, ``intended`` in "intended" status mode."""
    body = obj if isinstance(obj, bytes) else dumps(obj)
    if body in _EMPTY:
        body = b""
    status = 200 if wire else intended
    return Response(status, body, [_CT, *_CORS3], reason_for(status))


def not_found() -> Response:
    """The web library's catch-all: ``404 File Not Found``, HTML body, no Content-Type."""
    return Response(404, NOT_FOUND_BODY, [], "File Not Found")


def options() -> Response:
    """``OPTIONS`` on any path: 200, the four CORS headers, no body (§1.1)."""
    return Response(200, b"", list(_CORS4), "OK")


def text(status: int, body: bytes, headers: Headers) -> Response:
    """A non-JSON response (Prometheus text)."""
    return Response(status, body, headers, reason_for(status))
