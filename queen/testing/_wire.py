"""The seam between the test broker's HTTP servers and its engine.

The HTTP/1.1 and h2c servers parse requests with maintained libraries (httptools, h2), hand
each one to the engine as a :class:`Request` and write back the :class:`Response` it returns.
The engine knows nothing about sockets; the servers know nothing about queues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Mapping, Tuple

__all__ = ["Request", "Response"]


@dataclass
class Request:
    """One HTTP request as the broker's router sees it.

    Attributes:
        method: upper-case method (``GET``, ``POST``, ...).
        path: the raw path, **not** percent-decoded (the 0.15 broker never decodes path
            segments, except trace names), without the query string.
        query: the raw query string after ``?`` (``""`` when there is none).
        headers: lower-case header names to values.
        body: the request body (``b""`` when there is none).
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Response:
    """One HTTP response as the broker writes it.

    ``headers`` excludes ``Date``, ``Content-Length`` and the ``uWebSockets: 20`` mark, which
    the servers add to every response. ``reason`` is the status line text
    (``OK``, ``Created``, ``No Content``, ``File Not Found`` ...).
    """

    status: int
    body: bytes = b""
    headers: List[Tuple[str, str]] = field(default_factory=list)
    reason: str = "OK"
