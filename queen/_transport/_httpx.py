"""The default transport: httpx for HTTP/1.1, our own pool for HTTP/2 (``_h2``).

Which protocol a URL gets:

* ``http://``: HTTP/1.1, unless ``http2_prior_knowledge`` is set, then cleartext HTTP/2 (h2c)
  for an HTTP/2 ingress. A peer that drops the preface (the broker itself) gives a
  ``QueenConnectionError`` that names the option.
* ``https://``: HTTP/2 when the server selects ``h2`` by ALPN, else HTTP/1.1 (remembered per
  origin after the first connection). No option needed.

The negotiated protocol per origin is in :meth:`HttpxTransport.protocols` and logged at
DEBUG (logger ``queen.client.transport``) when first seen.

Names travel raw in paths (the broker never decodes them, ``queen._paths``): a target httpx
would re-encode or cut at ``#`` goes to httpcore as is, and one outside printable ASCII,
which h11 refuses, takes a :class:`LeanTransport` with the same TLS settings.

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
import logging
import re
import sys
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import quote

import httpx
import jh2.exceptions

from .._errors import QueenConnectionError, QueenTimeoutError
from ._base import RawResponse
from ._h2 import (
    H2ConnectError,
    H2Pool,
    H2TransportError,
    Http1Negotiated,
    Origin,
    PriorKnowledgeRejected,
)
from ._lean import LeanTransport
from ._tls import TlsOptions, connection_error, ssl_context

__all__ = ["HttpxTransport"]

KEEPALIVE_EXPIRY_SECONDS = 4.0
HTTP1 = "HTTP/1.1"
HTTP2 = "HTTP/2"

log = logging.getLogger("queen.client.transport")

_H2Route = Tuple[Origin, str]  # origin, authority

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


# A URL httpx sends exactly as written; anything else takes the raw-target route.
_PLAIN_URL = re.compile(r"[A-Za-z0-9\-._~:/?=&%+,;@!$'()*\[\]]*")
_URL_SAFE = "/?=&%+,;:@!$'()*~-._"


def _is_stale_connection(exc: httpx.HTTPError) -> bool:
    # httpcore's words for "the server closed the connection before any response byte";
    # on a pooled connection this is the broker's idle close racing our request.
    return isinstance(exc, httpx.RemoteProtocolError) and "without sending" in str(exc)


def _split(url: str) -> Tuple[str, str]:
    """``(scheme://authority, /path?query)`` of an absolute URL."""
    slash = url.find("/", url.find("://") + 3)
    if slash < 0:
        return url, "/"
    return url[:slash], url[slash:]


def _h2_route(prefix: str) -> _H2Route:
    parsed = httpx.URL(prefix)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return (parsed.scheme, parsed.host, port), prefix.split("://", 1)[1]


class HttpxTransport:
    """One connection pool per ``Queen`` instance: httpx for HTTP/1.1, ``H2Pool`` for HTTP/2.

    Args:
        headers: headers for every request (``Authorization``, the user's custom headers).
        max_connections: HTTP/1.1 pool size (the reference client allows 100); also the most
            HTTP/2 connections per origin.
        max_keepalive: idle HTTP/1.1 connections kept (the reference keeps 10).
        http2_prior_knowledge: speak cleartext HTTP/2 to ``http://`` URLs (an h2c ingress).
        tls: certificate trust, client certificate, verification switch (``https://``).
    """

    def __init__(
        self,
        headers: Optional[Mapping[str, str]] = None,
        *,
        max_connections: int = 100,
        max_keepalive: int = 10,
        http2_prior_knowledge: bool = False,
        tls: Optional[TlsOptions] = None,
    ) -> None:
        self._headers: Dict[str, str] = dict(headers or {})
        self._body_headers = {"Content-Type": "application/json", **self._headers}
        self._h2_headers = tuple((k.lower(), v) for k, v in self._headers.items())
        self._h2_body_headers = (*self._h2_headers, ("content-type", "application/json"))
        if "content-type" in (k for k, _ in self._h2_headers):
            self._h2_body_headers = self._h2_headers
        self._prior_knowledge = bool(http2_prior_knowledge)
        self._tls = tls or TlsOptions()
        self._max_connections = max_connections
        self._client = httpx.AsyncClient(
            http1=True,
            http2=False,
            verify=ssl_context(self._tls, ["http/1.1"]),
            timeout=None,  # the total deadline is ours (contract D22)
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_keepalive,
                keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
            ),
        )
        self._h2: Optional[H2Pool] = None
        self._raw: Optional[LeanTransport] = None  # for targets httpx cannot send
        # scheme://authority -> the HTTP/2 route, or None for HTTP/1.1
        self._routes: Dict[str, Optional[_H2Route]] = {}
        self._protocols: Dict[str, str] = {}

    def protocols(self) -> Dict[str, str]:
        """``{"scheme://host:port": "HTTP/2" | "HTTP/1.1"}`` for every origin answered so far."""
        return dict(self._protocols)

    def h2_connections(self, origin_url: str) -> int:
        """Open HTTP/2 connections to ``origin_url`` (``scheme://host:port``)."""
        route = self._routes.get(_split(origin_url)[0])
        if route is None or self._h2 is None:
            return 0
        return self._h2.connection_count(route[0])

    def h2_streams(self, origin_url: str) -> int:
        """HTTP/2 requests in flight to ``origin_url`` (``scheme://host:port``)."""
        route = self._routes.get(_split(origin_url)[0])
        if route is None or self._h2 is None:
            return 0
        return self._h2.stream_count(route[0])

    def _route(self, prefix: str) -> Optional[_H2Route]:
        try:
            return self._routes[prefix]
        except KeyError:
            pass
        route: Optional[_H2Route] = None
        if prefix.startswith("https:") or self._prior_knowledge:
            route = _h2_route(prefix)
        self._routes[prefix] = route
        return route

    def _seen(self, prefix: str, protocol: str, how: str) -> None:
        if self._protocols.get(prefix) != protocol:
            self._protocols[prefix] = protocol
            log.debug("%s speaks %s (%s)", prefix, protocol, how)

    async def send(
        self, method: str, url: str, body: Optional[bytes], timeout: float
    ) -> RawResponse:
        timeout_ms = int(timeout * 1000)
        prefix, path = _split(url)
        route = self._route(prefix)
        try:
            async with _deadline(timeout):
                if route is not None:
                    return await self._send_h2(prefix, route, method, path, body, url, timeout)
                try:
                    response = await self._exchange(method, url, body, timeout)
                except QueenConnectionError:
                    raise
                except httpx.HTTPError as exc:
                    if not _is_stale_connection(exc):
                        raise
                    response = (await self._exchange(method, url, body, timeout))._replace(
                        resent=True
                    )
            if prefix not in self._protocols:
                self._seen(prefix, HTTP1, "ALPN" if prefix.startswith("https:") else "default")
            return response
        except QueenConnectionError:
            raise  # already translated (the raw route's own errors)
        except TimeoutError as exc:
            raise QueenTimeoutError(timeout_ms, method=method, url=url) from exc
        except httpx.TimeoutException as exc:
            raise QueenTimeoutError(timeout_ms, method=method, url=url) from exc
        except PriorKnowledgeRejected as exc:
            raise QueenConnectionError(
                "the server rejected HTTP/2 prior knowledge (it closed the connection on the "
                "HTTP/2 preface; the Queen broker itself speaks HTTP/1.1 only). Unset "
                "http2_prior_knowledge, or point the client at an h2c ingress",
                method=method,
                url=url,
                retriable=False,
            ) from exc
        except (httpx.ConnectError, H2ConnectError) as exc:
            raise connection_error(exc, method, url, connecting=True) from exc
        except (httpx.HTTPError, H2TransportError, jh2.exceptions.H2Error, OSError) as exc:
            raise connection_error(exc, method, url) from exc

    async def _send_h2(
        self,
        prefix: str,
        route: _H2Route,
        method: str,
        path: str,
        body: Optional[bytes],
        url: str,
        timeout: float,
    ) -> RawResponse:
        pool = self._h2
        if pool is None:
            context = None
            if route[0][0] == "https":
                context = ssl_context(self._tls, ["h2", "http/1.1"])
            pool = self._h2 = H2Pool(
                context,
                max_connections=self._max_connections,
                idle_expiry=KEEPALIVE_EXPIRY_SECONDS,
            )
        origin, authority = route
        headers = self._h2_body_headers if body is not None else self._h2_headers
        try:
            try:
                response = await pool.request(origin, method, authority, path, headers, body)
            except H2TransportError as exc:
                # Never processed (GOAWAY, REFUSED_STREAM) or lost on a reused connection
                # before any response byte: re-send once at once, not as an attempt.
                if isinstance(exc, PriorKnowledgeRejected) or not (
                    exc.not_processed or exc.no_response
                ):
                    raise
                response = await pool.request(origin, method, authority, path, headers, body)
                if not exc.not_processed:  # the first send may have been processed
                    response = response._replace(resent=True)
        except Http1Negotiated:
            self._routes[prefix] = None
            self._seen(prefix, HTTP1, "ALPN")
            return await self._exchange(method, url, body, timeout)
        if self._protocols.get(prefix) is not HTTP2:
            self._seen(prefix, HTTP2, "ALPN" if origin[0] == "https" else "prior knowledge")
        return response

    async def _exchange(
        self, method: str, url: str, body: Optional[bytes], timeout: float
    ) -> RawResponse:
        extensions = None
        if _PLAIN_URL.fullmatch(url) is None:
            if not url.isascii():
                # h11 refuses a request target outside printable ASCII; the broker needs
                # names raw (it never decodes a path): the lean route sends it as UTF-8.
                return await self._raw_route().send(method, url, body, timeout)
            # httpx would percent-encode a raw name (``"``, ``|`` ...) or cut it at ``#``:
            # the raw target goes to httpcore as is, the URL object gets an encoded twin.
            prefix, target = _split(url)
            url = prefix + quote(target, safe=_URL_SAFE)
            extensions = {"target": target.encode("utf-8")}
        response = await self._client.request(
            method,
            url,
            content=body,
            headers=self._body_headers if body is not None else self._headers,
            extensions=extensions,
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

    def _raw_route(self) -> LeanTransport:
        if self._raw is None:
            self._raw = LeanTransport(self._headers, tls=self._tls)
        return self._raw

    async def aclose(self) -> None:
        if self._h2 is not None:
            await self._h2.aclose()
        if self._raw is not None:
            await self._raw.aclose()
        await self._client.aclose()
