"""The one path of the runner's ``/streams/v1/*`` requests (client contract §8.10).

POSTs go to ``url + path`` with ``Content-Type: application/json``, the bearer token when set
and the source client's custom headers (D23d), through an ``httpx.AsyncClient`` kept in
``_client`` (tests may swap its transport for an ``httpx.MockTransport``). By default that
client's transport is queen-turbo's own transport seam (the lean HTTP/1.1 pool for
``http://``, httpx for ``https://``), so these calls cost what the rest of the client costs
and fail with the same typed errors. The Queen load balancer is not used: ``url`` is one
broker node (or the ingress in front of several).

Retries: ``retry_attempts + 1`` tries, backoff from 100 ms doubling to 5 s plus up to 30 %
jitter; a 4xx other than 408/429 is final; 429 (and 503) honour ``Retry-After`` (D25).
Failures raise :class:`~queen.StreamsHttpError` whose message is the body's ``error`` or
``HTTP <code>``. Every cycle the runner sends is safe to send twice (see ``runtime/cycle.py``).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import httpx
import orjson

from ..._errors import QueenValidationError, StreamsHttpError
from ..._http import _retry_after_millis
from ..._payload import NUL_ESCAPE, NULL_TOKEN, check_encoded, maybe_non_finite
from ..._speedups import dumps_payload
from ..._transport import RawResponse, RouterTransport, Transport
from ..util.backoff import make_backoff, sleep

__all__ = ["StreamsHttpClient", "StreamsHttpError"]

_RETRY_STATUSES = (408, 429)


class _SeamTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends through a queen-turbo :class:`Transport`."""

    def __init__(self, transport: Transport, timeout_s: float) -> None:
        self.transport = transport
        self._timeout = timeout_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        raw = await self.transport.send(request.method, str(request.url), body or None,
                                        self._timeout)
        return httpx.Response(raw.status, headers=list(raw.headers.items()), content=raw.body,
                              request=request)

    async def aclose(self) -> None:
        await self.transport.aclose()


def _decode(content: bytes) -> Any:
    return orjson.loads(content) if content else None


class StreamsHttpClient:
    """Async client of ``/streams/v1/*`` on one Queen base URL.

    Args:
        url: the broker's base URL, e.g. ``http://localhost:6632``.
        bearer_token: sent as ``Authorization: Bearer <token>`` when set.
        timeout_ms: the per-request deadline (default 30000).
        retry_attempts: retries after the first try (default 3: four tries in all).
        headers: extra headers for every request (the source client's custom headers).
    """

    def __init__(
        self,
        url: str,
        bearer_token: Optional[str] = None,
        timeout_ms: int = 30_000,
        retry_attempts: int = 3,
        *,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        if not url:
            raise QueenValidationError("StreamsHttpClient requires url")
        self.url = url.rstrip("/")
        self.bearer_token = bearer_token
        self.timeout_ms = timeout_ms
        self.retry_attempts = max(0, int(retry_attempts))
        sent: Dict[str, str] = {}
        if bearer_token:
            sent["Authorization"] = f"Bearer {bearer_token}"
        for name, value in (headers or {}).items():
            for existing in [k for k in sent if k.lower() == str(name).lower()]:
                del sent[existing]
            sent[name] = value
        self.headers = {"Content-Type": "application/json", **sent}
        self._timeout = timeout_ms / 1000.0
        self._seam = _SeamTransport(RouterTransport(sent), self._timeout)
        self._own = httpx.AsyncClient(transport=self._seam, timeout=httpx.Timeout(self._timeout))
        self._client = self._own

    async def close(self) -> None:
        await self._client.aclose()
        if self._client is not self._own:
            await self._own.aclose()

    async def _attempt(self, url: str, payload: bytes) -> RawResponse:
        client = self._client
        if client is self._own and client._transport is self._seam:
            # The default client: send straight through the seam it wraps (same bytes on the
            # wire, without httpx's per-request model objects). A swapped client or transport
            # is used as given.
            return await self._seam.transport.send("POST", url, payload, self._timeout)
        resp = await client.post(url, content=payload, headers=self.headers)
        return RawResponse(resp.status_code, resp.reason_phrase, resp.headers, resp.content)

    async def post(self, path: str, body: Any) -> Any:
        """POST ``body`` as JSON and return the decoded answer.

        Raises:
            StreamsHttpError: a final non-2xx answer, an undecodable answer or no answer.
            QueenPayloadError: ``body`` has no JSON form (nothing is sent).
        """
        url = self.url + path
        if isinstance(body, bytes):
            payload = body
        else:
            payload = dumps_payload(body)
            # The push payload rule (queen/_payload.py) holds for state values and sink items
            # too: orjson would write NaN as null and the broker cannot store a NUL.
            if NUL_ESCAPE in payload or (NULL_TOKEN in payload and maybe_non_finite(body)):
                check_encoded(body, payload, None, what=f"POST {path} body")
        backoff = make_backoff(initial_ms=100, max_ms=5000)
        last: Optional[StreamsHttpError] = None
        for attempt in range(self.retry_attempts + 1):
            wait_ms: Optional[float] = None
            try:
                raw = await self._attempt(url, payload)
            except httpx.HTTPError as exc:
                last = StreamsHttpError(f"POST {path} failed: {exc}" if str(exc) else
                                        f"POST {path} failed: {type(exc).__name__}")
            else:
                status = raw.status
                ok = 200 <= status < 300
                try:
                    parsed = _decode(raw.body)
                except orjson.JSONDecodeError:
                    parsed = raw.body.decode("utf-8", "replace")
                    if ok:  # a garbled answer counts as a failed try
                        last = StreamsHttpError(f"POST {path}: undecodable answer",
                                                status=status, body=parsed)
                else:
                    if ok:
                        return parsed
                if not ok:
                    error = parsed.get("error") if isinstance(parsed, dict) else None
                    last = StreamsHttpError(error if isinstance(error, str) and error
                                            else f"HTTP {status}", status=status, body=parsed)
                    if 400 <= status < 500 and status not in _RETRY_STATUSES:
                        raise last
                    if status in (429, 503):
                        retry_after = _retry_after_millis(raw)
                        wait_ms = float(retry_after) if retry_after is not None else None
            if attempt >= self.retry_attempts:
                break
            await sleep(backoff.next() if wait_ms is None else wait_ms)
        assert last is not None
        raise last
