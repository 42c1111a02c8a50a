"""The queen-turbo error tree.

Every error the client raises on purpose derives from :class:`QueenError`. Retry loops (the
transport's retry and failover paths, the consumer, the buffer flusher) read ``retriable``
instead of matching message text::

    Exception
    └── QueenError                       retriable=False unless stated, code
        ├── QueenHttpError               non-2xx answer; retriable for 5xx, 408, 429
        │                                (also an httpx.HTTPStatusError)
        ├── QueenConnectionError         no answer at all; retriable (also an httpx.TransportError)
        │   └── QueenTimeoutError        the request deadline expired; also a TimeoutError
        │                                (and an httpx.TimeoutException)
        ├── QueenServerError             a 2xx body that reports failure; retriable set by the
        │                                raising site
        ├── QueenUnsupportedError        a feature whose route the 0.15 broker lacks;
        │                                also a NotImplementedError
        ├── QueenValidationError         bad input caught before anything is sent (invalid
        │   │                            names, ids, options); also a ValueError
        │   ├── QueenPayloadError        a payload that cannot be encoded as JSON; also a
        │   │                            TypeError
        │   └── QueenTypeError           an argument of the wrong kind (a non-callable where a
        │                                function is expected, an unknown option); also a
        │                                TypeError
        └── StreamsError                 the streams runtime (reserved for the Streams SDK)
            ├── StreamsHttpError
            ├── StreamsConfigHashMismatch
            ├── StreamsRegisterFailed
            ├── StreamsCycleFailed
            └── StreamsStateGetFailed

The httpx bases exist so that code written for the reference client, which leaked raw httpx
errors, keeps catching them (client contract D24). Transport exceptions are translated into
this tree in one place only: ``queen._transport``.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import httpx

__all__ = [
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

# httpx's exception constructors want a request object; ours do not have one in hand when a
# lean transport raises, so a placeholder stands in for it.
_NO_REQUEST = httpx.Request("GET", "http://queen.invalid/")


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


class QueenHttpError(QueenError, httpx.HTTPStatusError):
    """A non-2xx HTTP answer.

    Attributes:
        code / status: the HTTP status code.
        body: the decoded JSON body, the body text, or None.
        method, url: the request that got this answer.
        retry_after_millis: the parsed ``Retry-After`` header (429/503), or None.
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
    ) -> None:
        QueenError.__init__(
            self, message, code=status, retriable=status >= 500 or status in (408, 429)
        )
        self._request = _NO_REQUEST
        self.response = None  # type: ignore[assignment]
        self.body = body
        self.method = method
        self.url = url
        self.retry_after_millis = retry_after_millis

    @property
    def status(self) -> int:
        return int(self.code)  # type: ignore[arg-type]

    @property
    def status_code(self) -> int:
        return self.status


class QueenConnectionError(QueenError, httpx.TransportError):
    """No answer: refused, reset, DNS failure, closed without a response, protocol error."""

    retriable = True

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        QueenError.__init__(self, message)
        self._request = _NO_REQUEST
        self.method = method
        self.url = url


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


class QueenPayloadError(QueenValidationError, TypeError):
    """A payload that cannot be encoded as JSON (for example a set or an arbitrary object)."""


class QueenTypeError(QueenValidationError, TypeError):
    """An argument of the wrong kind, caught client-side: a non-callable where a function is
    expected, an unknown option name."""


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
