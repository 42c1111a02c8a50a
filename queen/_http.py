"""Request policy above the transport: URL choice, retry, failover, 429, body decoding.

* **Retry path** (one URL, or several without failover; contract §5.2): at most
  ``retry_attempts`` attempts in total, sleeping ``retry_delay_millis * 2^(k-1)`` before
  attempt k+1. 4xx is raised at once; 5xx, connection errors, timeouts and undecodable
  bodies are retried.
* **Failover path** (several URLs with failover; §5.3): up to ``len(urls)`` iterations, each
  asking the balancer with the request's affinity key, skipping URLs already tried; a
  connection error, timeout or 5xx marks the URL unhealthy; no sleep.
* **429** (D25, both paths): re-sent to the same URL after ``Retry-After`` (clamped to 30 s)
  or the backoff, at most ``retry_attempts`` sends in a row; it never marks a URL unhealthy.

A 2xx body is decoded inside the attempt, so a garbled answer counts as a failed attempt.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from typing import Any, Callable, Optional, Set, TypeVar

import orjson

from ._balancer import LoadBalancer
from ._errors import QueenConnectionError, QueenError, QueenHttpError, QueenServerError
from ._logging import ClientLogger
from ._transport import RawResponse, Transport

__all__ = ["HttpClient", "decode_json"]

T = TypeVar("T")
RETRY_AFTER_CAP_MILLIS = 30000
_DEBUG = logging.DEBUG


def decode_json(response: RawResponse) -> Any:
    """The decoded body of a 2xx answer: None when empty or 204, else JSON."""
    if response.status == 204 or not response.body:
        return None
    return orjson.loads(response.body)


def _retry_after_millis(response: RawResponse) -> Optional[int]:
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return int(min(max(seconds * 1000.0, 0.0), RETRY_AFTER_CAP_MILLIS))


def _http_error(method: str, url: str, response: RawResponse) -> QueenHttpError:
    message = f"HTTP {response.status}: {response.reason}"
    body: Any = None
    if response.body:
        try:
            body = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            body = response.body.decode("utf-8", "replace")
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            message = body["error"]
    return QueenHttpError(
        message,
        status=response.status,
        body=body,
        method=method,
        url=url,
        retry_after_millis=_retry_after_millis(response),
        headers=response.headers,
        content=response.body,
    )


class HttpClient:
    """Sends requests to one of the configured broker URLs with the reference policies."""

    def __init__(
        self,
        transport: Transport,
        *,
        base_url: Optional[str] = None,
        balancer: Optional[LoadBalancer] = None,
        timeout_millis: int = 30000,
        retry_attempts: int = 3,
        retry_delay_millis: int = 1000,
        enable_failover: bool = True,
        retry_429: bool = True,
        logger: Optional[ClientLogger] = None,
    ) -> None:
        if base_url is None and balancer is None:
            raise ValueError("HttpClient needs a base_url or a balancer")
        self.transport = transport
        self.balancer = balancer
        self._base_url = base_url
        self.timeout_millis = timeout_millis
        self._attempts = max(1, int(retry_attempts))
        self._delay = retry_delay_millis / 1000.0
        self._failover = balancer is not None and enable_failover and len(balancer.urls) > 1
        self._retry_429 = retry_429
        self._log = logger or ClientLogger()
        self.closed = False

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Optional[bytes] = None,
        timeout_millis: Optional[int] = None,
        affinity_key: Optional[str] = None,
        decode: Callable[[RawResponse], Any] = decode_json,
    ) -> Any:
        """Send ``method path`` and return ``decode(response)`` of the 2xx answer.

        Raises:
            QueenError: the client was closed (``Queen client is closed``).
            QueenHttpError: a non-2xx answer (after the policy above).
            QueenConnectionError / QueenTimeoutError: no answer.
            QueenServerError: a 2xx body that ``decode`` could not read.
        """
        if self.closed:
            # The pool is gone: retrying (with backoff) could never succeed.
            raise QueenError("Queen client is closed")
        timeout = (timeout_millis or self.timeout_millis) / 1000.0
        if self._failover:
            return await self._with_failover(method, path, body, timeout, affinity_key, decode)
        return await self._with_retry(method, path, body, timeout, decode)

    def _url(self) -> str:
        if self._base_url is not None:
            return self._base_url
        assert self.balancer is not None
        return self.balancer.get_next_url()

    async def _attempt(
        self,
        method: str,
        url: str,
        body: Optional[bytes],
        timeout: float,
        decode: Callable[[RawResponse], T],
    ) -> T:
        """One attempt on one URL, including the 429 re-sends of D25."""
        sends = 0
        while True:
            if self._log.enabled(_DEBUG):  # ~0.2 us: the whole cost when debug is off
                response = await self._send_logged(method, url, body, timeout)
            else:
                response = await self.transport.send(method, url, body, timeout)
            status = response.status
            if 200 <= status < 300:
                try:
                    return decode(response)
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    raise QueenServerError(
                        f"Undecodable response from {method} {url}: {exc}",
                        body=response.body,
                        retriable=True,
                    ) from exc
            error = _http_error(method, url, response)
            sends += 1
            if status != 429 or not self._retry_429 or sends >= self._attempts:
                raise error
            wait = error.retry_after_millis
            if wait is None:
                wait = int(self._delay * 1000 * 2 ** (sends - 1))
            self._log.warning(
                "HttpClient.retry429", {"method": method, "url": url, "delay_ms": wait}
            )
            await asyncio.sleep(wait / 1000.0)

    async def _send_logged(
        self, method: str, url: str, body: Optional[bytes], timeout: float
    ) -> RawResponse:
        """``transport.send`` with a DEBUG record of the request and of its outcome: method,
        URL, sizes, status and duration. Headers (tokens) and bodies (payloads) are never
        logged."""
        log = self._log
        log.debug(
            "HttpClient.request",
            {"method": method, "url": url, "bodyBytes": len(body) if body is not None else 0,
             "timeoutMillis": int(timeout * 1000)},
        )
        started = time.perf_counter()
        try:
            response = await self.transport.send(method, url, body, timeout)
        except BaseException as exc:
            log.debug(
                "HttpClient.response",
                {"method": method, "url": url, "error": type(exc).__name__,
                 "millis": round((time.perf_counter() - started) * 1000, 3)},
            )
            raise
        log.debug(
            "HttpClient.response",
            {"method": method, "url": url, "status": response.status,
             "bodyBytes": len(response.body),
             "millis": round((time.perf_counter() - started) * 1000, 3)},
        )
        return response

    async def _with_retry(
        self,
        method: str,
        path: str,
        body: Optional[bytes],
        timeout: float,
        decode: Callable[[RawResponse], T],
    ) -> T:
        last: Optional[QueenError] = None
        for attempt in range(self._attempts):
            try:
                return await self._attempt(method, self._url() + path, body, timeout, decode)
            except QueenHttpError as exc:
                if 400 <= exc.status < 500:
                    raise
                last = exc
            except (QueenConnectionError, QueenServerError) as exc:
                if not exc.retriable:
                    raise  # a configuration error: no retry can cure it
                last = exc
            if attempt < self._attempts - 1:
                delay = self._delay * 2**attempt
                self._log.warning(
                    "HttpClient.retry",
                    {
                        "method": method,
                        "path": path,
                        "attempt": attempt + 1,
                        "delay": delay,
                        "error": str(last),
                    },
                )
                await asyncio.sleep(delay)
        self._log.error(
            "HttpClient.retry",
            {"method": method, "path": path, "error": "Max retries exceeded"},
        )
        assert last is not None
        raise last

    async def _with_failover(
        self,
        method: str,
        path: str,
        body: Optional[bytes],
        timeout: float,
        affinity_key: Optional[str],
        decode: Callable[[RawResponse], T],
    ) -> T:
        balancer = self.balancer
        assert balancer is not None
        tried: Set[str] = set()
        last: Optional[QueenError] = None
        for _ in range(len(balancer.urls)):
            url = balancer.get_next_url(affinity_key)
            if url in tried:
                continue
            tried.add(url)
            try:
                result = await self._attempt(method, url + path, body, timeout, decode)
            except QueenHttpError as exc:
                if 400 <= exc.status < 500:
                    raise
                balancer.mark_unhealthy(url)
                last = exc
            except QueenConnectionError as exc:
                if not exc.retriable:
                    raise  # a configuration error: no other server can cure it
                balancer.mark_unhealthy(url)
                last = exc
            except QueenServerError as exc:
                last = exc
            else:
                balancer.mark_healthy(url)
                return result
            self._log.warning(
                "HttpClient.failover",
                f"Request failed for {url}: {method} {path} - {last}",
            )
        if last is None:
            last = QueenConnectionError("no server could be tried", method=method, url=path)
        raise last
