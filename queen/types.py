"""Typing shapes of the public API (client contract §1.4).

They are ``TypedDict`` classes with ``total=False``, for annotations only: at runtime every
value is a plain ``dict`` (a ``dict`` subclass for messages). ``pop()`` returns
``List[Message]``, handlers receive a ``Message`` (or ``List[Message]``), ``ack()`` and
``transaction().ack()`` take them back, and ``ack()``, ``commit()``, ``dlq().get()`` and
``get_buffer_stats()`` return the shapes below, so a script checked with ``mypy --strict``
sees what the client really hands it (``tests/typing/`` holds one).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

try:
    from typing import TypedDict
except ImportError:  # pragma: no cover
    from typing_extensions import TypedDict

__all__ = [
    "AckResponse",
    "BatchMessageHandler",
    "BufferStats",
    "DLQResponse",
    "DuplicateCallback",
    "ErrorCallback",
    "Handler",
    "Message",
    "MessageHandler",
    "MessageWithTrace",
    "SuccessCallback",
    "TraceConfig",
    "TraceMethod",
    "TransactionResponse",
]


class TraceConfig(TypedDict, total=False):
    data: Any
    traceName: Union[str, List[str]]
    eventType: str


TraceMethod = Callable[[TraceConfig], Awaitable[Dict[str, Any]]]


class Message(TypedDict, total=False):
    """A message from ``pop()`` or ``consume()``.

    ``trace`` is the helper ``await m["trace"]({"data": ...})``: reachable on every message
    the client hands out, never stored in it (``json.dumps(m)`` shows wire fields only).
    """

    id: str
    transactionId: str
    partitionId: str
    partition: str
    leaseId: str
    data: Any
    createdAt: str
    traceId: Optional[str]
    producerSub: Optional[str]
    consumerGroup: str
    retryCount: int
    queue: str
    errorMessage: str
    trace: TraceMethod


class AckResponse(TypedDict, total=False):
    """``ack()``'s answer: ``success`` and ``error``, the broker's fields for a single
    message, ``results`` (and ``failed``) for a list."""

    success: bool
    error: Optional[str]
    results: List[Dict[str, Any]]
    failed: List[Dict[str, Any]]
    processed: int
    transactionId: str
    index: int
    dlq: bool
    leaseReleased: Optional[bool]
    queueName: Optional[str]
    partitionName: Optional[str]


class BufferStats(TypedDict, total=False):
    activeBuffers: int
    totalBufferedMessages: int
    oldestBufferAge: float
    flushesPerformed: int
    totalBufferedBytes: int
    failedFlushes: int
    droppedMessages: int


class DLQResponse(TypedDict, total=False):
    messages: List[Dict[str, Any]]
    total: int
    pagination: Dict[str, int]


class TransactionResponse(TypedDict, total=False):
    success: bool
    transactionId: str
    results: List[Dict[str, Any]]
    error: Optional[str]


MessageWithTrace = Message
# Handlers and callbacks may be plain or async functions (their result is awaited when it is
# awaitable). A handler may also be typed with plain dicts: messages are dicts at runtime.
MessageHandler = Callable[[Message], Any]
BatchMessageHandler = Callable[[List[Message]], Any]
Handler = Union[
    MessageHandler,
    BatchMessageHandler,
    Callable[[Dict[str, Any]], Any],
    Callable[[List[Dict[str, Any]]], Any],
]
SuccessCallback = Callable[[Any, Any], Any]
ErrorCallback = Callable[[Any, Exception], Any]
DuplicateCallback = Callable[[List[Dict[str, Any]], Exception], Any]
