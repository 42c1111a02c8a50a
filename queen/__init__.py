"""queen-turbo: the fastest Python client for the Queen MQ broker (0.15.x).

A drop-in replacement for the reference client ``queen-mq`` 0.15: the same import name, the
same fluent async API, its known bugs fixed::

    from queen import Queen

    async with Queen("http://localhost:6632") as queen:
        await queen.queue("orders").partition("eu").push([{"data": {"id": 1}}])
        await queen.queue("orders").group("billing").batch(100).consume(handler)

Stream jobs (windows, aggregates, rate-limiting gates, exactly-once sinks) are built with
:class:`Stream` (``queen.streams``).

The API is asyncio; :mod:`queen.sync` offers the same API with blocking calls. Installing
both ``queen-turbo`` and ``queen-mq`` into one environment is unsupported: both provide the
top-level package ``queen``.
"""

from ._defaults import (
    BUFFER_DEFAULTS,
    CLIENT_DEFAULTS,
    CONSUME_DEFAULTS,
    POP_DEFAULTS,
    QUEUE_DEFAULTS,
)
from ._errors import (
    QueenConnectError,
    QueenConnectionError,
    QueenError,
    QueenHttpError,
    QueenPayloadError,
    QueenServerError,
    QueenTimeoutError,
    QueenTypeError,
    QueenUnsupportedError,
    QueenValidationError,
    StreamsConfigHashMismatch,
    StreamsCycleFailed,
    StreamsError,
    StreamsHttpError,
    StreamsRegisterFailed,
    StreamsStateGetFailed,
)
from ._logging import configure_from_env as _configure_logging
from ._version import __reference_version__, __version__

_configure_logging()

from ._admin import Admin  # noqa: E402
from ._client import Queen  # noqa: E402
from .streams import Stream, sliding_window_gate, token_bucket_gate  # noqa: E402
from .types import AckResponse, BufferStats, DLQResponse, Message, TransactionResponse  # noqa: E402

__all__ = [
    "BUFFER_DEFAULTS",
    "CLIENT_DEFAULTS",
    "CONSUME_DEFAULTS",
    "POP_DEFAULTS",
    "QUEUE_DEFAULTS",
    "AckResponse",
    "Admin",
    "BufferStats",
    "DLQResponse",
    "Message",
    "Queen",
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
    "Stream",
    "StreamsConfigHashMismatch",
    "StreamsCycleFailed",
    "StreamsError",
    "StreamsHttpError",
    "StreamsRegisterFailed",
    "StreamsStateGetFailed",
    "TransactionResponse",
    "__reference_version__",
    "__version__",
    "sliding_window_gate",
    "token_bucket_gate",
]
