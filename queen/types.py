"""Typing shapes of the public API (client contract §1.4).

They are ``TypedDict`` classes with ``total=False``, for annotations only: at runtime every
value is a plain ``dict`` (a ``dict`` subclass for messages).
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
    "Message",
    "MessageHandler",
    "MessageWithTrace",
    "SuccessCallback",
    "TraceConfig",
    "TraceMethod",
    "TransactionResponse",
]


class Message(TypedDict, total=False):
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


class AckResponse(TypedDict, total=False):
    success: bool
    error: Optional[str]
    results: List[Dict[str, Any]]
    failed: List[Dict[str, Any]]


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


class TraceConfig(TypedDict, total=False):
    data: Any
    traceName: Union[str, List[str]]
    eventType: str


TraceMethod = Callable[[TraceConfig], Awaitable[Dict[str, Any]]]
MessageWithTrace = Message
MessageHandler = Callable[[Message], Any]
BatchMessageHandler = Callable[[List[Message]], Any]
SuccessCallback = Callable[..., Any]
ErrorCallback = Callable[..., Any]
DuplicateCallback = Callable[..., Any]
