"""Transport interface: one request in, one raw response out."""

from __future__ import annotations

from typing import Mapping, NamedTuple, Optional, Protocol

__all__ = ["RawResponse", "Transport"]


class RawResponse(NamedTuple):
    """An HTTP answer before any interpretation.

    Attributes:
        status: the status code.
        reason: the reason phrase of the status line.
        headers: header names in lower case mapped to their values.
        body: the raw body bytes (``b""`` when empty).
        resent: True when the transport sent the request a second time because a reused
            connection closed without an answer: the first send may have been processed.
    """

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    resent: bool = False


class Transport(Protocol):
    """What the client needs from HTTP.

    ``send`` performs exactly one exchange within ``timeout`` seconds (a total deadline) and
    raises only :class:`queen.QueenConnectionError` (no answer) or
    :class:`queen.QueenTimeoutError` (deadline). Any status code is a normal return.
    """

    async def send(
        self,
        method: str,
        url: str,
        body: Optional[bytes],
        timeout: float,
    ) -> RawResponse: ...

    async def aclose(self) -> None: ...
