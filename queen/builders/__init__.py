"""``queen.builders`` of queen-mq 0.15: the builder classes the client hands out (for
annotations and ``isinstance``; create them through ``Queen.queue()`` and
``Queen.transaction()``)."""

from .._builders._consume import ConsumeBuilder
from .._builders._dlq import DLQBuilder
from .._builders._operation import OperationBuilder
from .._builders._push import PushBuilder
from .._builders._queue import QueueBuilder
from .._builders._transaction import TransactionBuilder, TransactionQueueBuilder

__all__ = [
    "ConsumeBuilder",
    "DLQBuilder",
    "OperationBuilder",
    "PushBuilder",
    "QueueBuilder",
    "TransactionBuilder",
    "TransactionQueueBuilder",
]
