"""The httpx-backed transport.

Wire facts of the 0.15 broker that shape it (queen-http-api.md §1.1, Q4, Q40):

* the broker closes idle keep-alive sockets 8.4-12 s after the last response, so pooled
  connections expire after 4 s, and a request that dies on a reused connection before any
  response byte arrived is re-sent once at once;
* it kills a connection that pipelines behind a pending request: httpx never pipelines;
* in pop-maintenance mode it answers ``204`` *with* a 29-byte body, which httpx leaves in the
  connection's buffer, where it would be parsed as the start of the next response; the
  connection a 204 arrived on is therefore closed, so the pool discards it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Dict, Mapping, Optional

import httpx

from .._errors import QueenConnectionError, QueenTimeoutError
from ._base import RawResponse

__all__ = ["HttpxTransport"]

KEEPALIVE_EXPIRY_SECONDS = 4.0

if sys.version_info >= (3, 11):
    _deadline = asyncio.timeout
else:  # pragma: no cover - exercised on 3.9/3.10 only

    class _deadline:
        """``asyncio.timeout`` for Pythons that lack it (cancel the task when it fires)."""

        def __init__(self, seconds: float) -> None:
            self._seconds = seconds
            self._fired = False
            self._handle: Optional[asyncio.TimerHandle] = None

        async def __aenter__(self) -> None:
            task = asyncio.current_task()
            assert task is not None
            loop = asyncio.get_running_loop()
            self._handle = loop.call_later(self._seconds, self._fire, task)

        def _fire(self, task: asyncio.Task) -> None:
            self._fired = True
            task.cancel()

        async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
            if self._handle is not None:
                self._handle.cancel()
            if self._fired and exc_type is asyncio.CancelledError:
                raise TimeoutError
            return False


def _is_stale_connection(exc: httpx.HTTPError) -> bool:
    # httpcore's words for "the server closed the connection before any response byte";
    # on a pooled connection this is the broker's idle close racing our request.
    return isinstance(exc, httpx.RemoteProtocolError) and "without sending" in str(exc)


class HttpxTransport:
    """One ``httpx.AsyncClient`` (one connection pool) per ``Queen`` instance.

    Args:
        headers: headers for every request (``Authorization``, the user's custom headers).
        max_connections: pool size (the reference client allows 100).
        max_keepalive: idle connections kept (the reference keeps 10).
    """

    def __init__(
        self,
        headers: Optional[Mapping[str, str]] = None,
        *,
        max_connections: int = 100,
        max_keepalive: int = 10,
    ) -> None:
        self._headers: Dict[str, str] = dict(headers or {})
        self._body_headers = {"Content-Type": "application/json", **self._headers}
        self._client = httpx.AsyncClient(
            http1=True,
            http2=False,
            timeout=None,  # the total deadline is ours (contract D22)
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_keepalive,
                keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
            ),
        )

    async def send(
        self, method: str, url: str, body: Optional[bytes], timeout: float
    ) -> RawResponse:
        timeout_ms = int(timeout * 1000)
        try:
            async with _deadline(timeout):
                try:
                    response = await self._exchange(method, url, body)
                except httpx.HTTPError as exc:
                    if not _is_stale_connection(exc):
                        raise
                    response = await self._exchange(method, url, body)
            return response
        except TimeoutError as exc:
            raise QueenTimeoutError(timeout_ms, method=method, url=url) from exc
        except httpx.TimeoutException as exc:
            raise QueenTimeoutError(timeout_ms, method=method, url=url) from exc
        except (httpx.HTTPError, OSError) as exc:
            detail = str(exc) or type(exc).__name__
            raise QueenConnectionError(
                f"{method} {url} failed: {detail}", method=method, url=url
            ) from exc

    async def _exchange(self, method: str, url: str, body: Optional[bytes]) -> RawResponse:
        response = await self._client.request(
            method,
            url,
            content=body,
            headers=self._body_headers if body is not None else self._headers,
        )
        if response.status_code == 204:
            stream = response.extensions.get("network_stream")
            if stream is not None:
                await stream.aclose()
        return RawResponse(
            response.status_code,
            response.reason_phrase,
            response.headers,
            response.content,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
