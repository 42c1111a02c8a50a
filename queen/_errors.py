"""The queen-turbo error tree.

Every error the client raises on purpose derives from :class:`QueenError`. Retry loops (the
transport's retry and failover paths, the consumer, the buffer flusher) read ``retriable``
instead of matching message text::

    Exception
    └── QueenError                       retriable=False unless stated, code
        ├── QueenHttpError               non-2xx answer; retriable for 5xx, 408, 429
        │                                (also an httpx.HTTPStatusError)
        ├── QueenConnectionError         no answer at all; retriable (also an httpx.TransportError)
        │   ├── QueenConnectError        the connection could not be opened (refused, DNS,
        │   │                            TLS handshake); also an httpx.ConnectError
        │   └── QueenTimeoutError        the request deadline expired; also a TimeoutError
        │                                (and an httpx.TimeoutException)
        ├── QueenServerError             a 2xx body that reports failure; retriable set by the
        │                                raising site
        ├── QueenUnsupportedError        a feature whose route the 0.15 broker lacks;
        │                                also a NotImplementedError
        ├── QueenValidationError         bad input caught before anything is sent (invalid
        │   │                            names, ids, options); also a ValueError
        │   ├── QueenTypeError           an argument or option of the wrong type or kind (a
        │   │                            non-callable where a function is expected, an unknown
        │   │                            option); also a TypeError
        │   └── QueenPayloadError        a payload that cannot be sent (no JSON form, a NUL
        │                                character, NaN/Infinity); also a TypeError
        └── StreamsError                 the streams runtime (queen.streams)
            ├── StreamsHttpError
            ├── StreamsConfigHashMismatch
            ├── StreamsRegisterFailed
            ├── StreamsCycleFailed
            └── StreamsStateGetFailed

The httpx bases exist so that code written for the reference client, which leaked raw httpx
errors, keeps working (client contract D24): ``except httpx.HTTPStatusError as e`` still
catches a non-2xx answer, and ``e.response.status_code``, ``e.response.json()`` and
``e.request.url`` describe the real exchange (built on first access, so a raise costs
nothing more). Transport exceptions are translated into this tree in one place only:
``queen._transport``.

Errors of an exchange name it: ``str(e)`` of an HTTP, connection or timeout error ends with
``(<METHOD> <URL>)``, while ``e.message`` keeps the bare text (``HTTP 404: Not Found``,
``Request timeout after 30000ms``).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

import httpx

__all__ = [
    "QueenConnectError",
    "QueenConnectionError",
    "QueenError",
    "QueenHttpError",
    "QueenPayloadError",
    "QueenServerError",
    "QueenTimeoutError",
    "QueenTypeError",
    "QueenUnsupportedError",
    "QueenValidationError",
    "StreamsConfigHashMismatch",
    "StreamsCycleFailed",
    "StreamsError",
    "StreamsHttpError",
    "StreamsRegisterFailed",
    "StreamsStateGetFailed",
]

# The URL of an exchange whose URL is unknown (an error raised before any URL was chosen).
_NO_URL = "http://queen.invalid/"


class QueenError(Exception):
    """Root of every error raised by queen-turbo.

    Attributes:
        retriable: True when repeating the same operation may succeed.
        code: an HTTP status, a string constant or None.
    """

    retriable: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        code: Union[int, str, None] = None,
        retriable: Optional[bool] = None,
    ) -> None:
        # Exception.__init__ directly: the httpx bases of some subclasses want a request object.
        Exception.__init__(self, message)
        self.code = code
        if retriable is not None:
            self.retriable = retriable

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class _Exchange:
    """The request an HTTP-level error belongs to, in the shapes httpx code expects.

    ``method`` and ``url`` are plain strings; ``request`` is an ``httpx.Request`` built on
    first access (httpx's own ``HTTPError.request`` reads ``_request``).
    """

    method: str
    url: str
    _request: Optional[httpx.Request]

    def _set_exchange(self, method: str, url: str) -> None:
        self.method = method
        self.url = url
        self._request = None

    @property
    def request(self) -> httpx.Request:
        """The request as an ``httpx.Request`` (its URL percent-encoded where needed)."""
        if self._request is None:
            self._request = _httpx_request(self.method, self.url)
        return self._request

    @request.setter
    def request(self, request: httpx.Request) -> None:
        self._request = request

    def _with_exchange(self, text: str) -> str:
        if self.method and self.url:
            return f"{text} ({self.method} {self.url})"
        return text


def _httpx_request(method: str, url: str) -> httpx.Request:
    from urllib.parse import quote

    # Names may hold characters httpx would read as a fragment or reject (``#``, raw UTF-8):
    # they are percent-encoded for the URL object only.
    safe = quote(url or _NO_URL, safe=":/?&=%@!$'()*+,;~-._")
    return httpx.Request(method or "GET", safe)


class QueenHttpError(_Exchange, QueenError, httpx.HTTPStatusError):
    """A non-2xx HTTP answer.

    Attributes:
        code / status / status_code: the HTTP status code.
        body: the decoded JSON body, the body text, or None.
        method, url: the request that got this answer.
        retry_after_millis: the parsed ``Retry-After`` header (429/503), or None.
        response: the answer as an ``httpx.Response`` (``e.response.status_code``,
            ``e.response.json()``, ``e.response.headers``), as httpx raised it for the
            reference client.
        request: the request as an ``httpx.Request``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: Any = None,
        method: str = "",
        url: str = "",
        retry_after_millis: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
        content: Optional[bytes] = None,
    ) -> None:
        QueenError.__init__(
            self, message, code=status, retriable=status >= 500 or status in (408, 429)
        )
        self._set_exchange(method, url)
        self.body = body
        self.retry_after_millis = retry_after_millis
        self._headers = dict(headers or {})
        self._content = content
        self._response: Optional[httpx.Response] = None

    @property
    def status(self) -> int:
        return int(self.code)  # type: ignore[arg-type]

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def response(self) -> httpx.Response:
        if self._response is None:
            content = self._content
            if content is None:
                content = b"" if self.body is None else str(self.body).encode("utf-8")
            self._response = httpx.Response(
                self.status, headers=self._headers, content=content, request=self.request
            )
        return self._response

    @response.setter
    def response(self, response: httpx.Response) -> None:
        self._response = response

    def __str__(self) -> str:
        return self._with_exchange(self.message)


class QueenConnectionError(_Exchange, QueenError, httpx.TransportError):
    """No answer: refused, reset, DNS failure, closed without a response, protocol error.

    ``retriable`` is False for configuration errors that no retry can cure (an untrusted
    certificate, ``https://`` to a plain-HTTP port, HTTP/2 prior knowledge refused).
    """

    retriable = True

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        retriable: Optional[bool] = None,
    ) -> None:
        QueenError.__init__(self, message, retriable=retriable)
        self._set_exchange(method, url)

    def __str__(self) -> str:
        return self._with_exchange(self.message)


class QueenConnectError(QueenConnectionError, httpx.ConnectError):
    """The connection could not be opened: refused, unreachable, a DNS failure, a failed TLS
    handshake. queen-mq let httpx's ``ConnectError`` through for these, so code that catches
    it keeps working."""


class QueenTimeoutError(QueenConnectionError, httpx.TimeoutException, TimeoutError):
    """The total per-attempt deadline expired (``Request timeout after <n>ms``)."""

    def __init__(
        self, timeout_millis: int, *, method: str = "", url: str = "", message: str = ""
    ) -> None:
        super().__init__(
            message or f"Request timeout after {timeout_millis}ms", method=method, url=url
        )
        self.timeout_millis = timeout_millis


class QueenServerError(QueenError):
    """A 2xx answer whose body reports failure (``error`` key, ``success: false``, failed items).

    Attributes:
        body: the decoded answer.
    """

    def __init__(self, message: str, *, body: Any = None, retriable: bool = False) -> None:
        super().__init__(message, retriable=retriable)
        self.body = body


class QueenUnsupportedError(QueenError, NotImplementedError):
    """The feature needs a broker route that the 0.15 broker does not serve."""


class QueenValidationError(QueenError, ValueError):
    """Bad input caught client-side, before any request: nothing was sent."""


class QueenTypeError(QueenValidationError, TypeError):
    """An argument or option of the wrong type or kind, caught before anything is sent: a
    non-callable where a function is expected, an unknown option name."""


class QueenPayloadError(QueenValidationError, TypeError):
    """A payload that cannot be sent: it has no JSON form (a set, an arbitrary object), or it
    holds a NUL character or a NaN/Infinity float (see ``queen._payload``).

    Attributes:
        index: the position of the offending item in its push, when known.
        path: where in that item's payload the offending value is (``$`` is the payload).
    """

    def __init__(
        self, message: str = "", *, index: Optional[int] = None, path: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.index = index
        self.path = path


class StreamsError(QueenError):
    """Root of the streams runtime errors."""


# The streams errors take their arguments positionally too, and carry their ``code`` on the
# class as well, as queen-mq 0.15's classes do (test doubles construct them that way).


class StreamsHttpError(StreamsError):
    def __init__(self, message: str, status: Optional[int] = None, body: Any = None) -> None:
        super().__init__(
            message,
            code=status,
            retriable=status is None or status >= 500 or status in (408, 429),
        )
        self.status = status
        self.body = body


class StreamsConfigHashMismatch(StreamsError):
    code = "STREAMS_CONFIG_HASH_MISMATCH"

    def __init__(self, message: str) -> None:
        super().__init__(message, code=self.code)


class StreamsRegisterFailed(StreamsError):
    code = "STREAMS_REGISTER_FAILED"

    def __init__(self, message: str) -> None:
        super().__init__(message, code=self.code)


class StreamsCycleFailed(StreamsError):
    code = "STREAMS_CYCLE_FAILED"

    def __init__(self, message: str, body: Any = None) -> None:
        super().__init__(message, code=self.code)
        self.body = body


class StreamsStateGetFailed(StreamsError):
    code = "STREAMS_STATE_GET_FAILED"

    def __init__(self, message: str) -> None:
        super().__init__(message, code=self.code)
