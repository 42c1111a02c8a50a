"""``queen.sync``: the queen-turbo client without async.

The same fluent API as :class:`queen.Queen`, with blocking calls::

    from queen.sync import Queen

    with Queen("http://localhost:6632") as q:
        q.queue("tasks").push([{"data": {"job": 1}}])
        msgs = q.queue("tasks").batch(10).wait(False).pop()
        q.ack(msgs)
        q.queue("tasks").group("workers").concurrency(4).limit(100).consume(handle)  # blocks

It drives the async client on a private event loop thread, so every option, default, result
and error is the async client's; see :class:`queen.sync.Queen` for the few differences
(callbacks as keyword arguments, handlers as plain functions run in worker threads).
Errors are the ``queen`` package's: ``from queen import QueenError``.
"""

from ._builders import Admin, DLQBuilder, QueueBuilder, TransactionBuilder, TransactionQueueBuilder
from ._client import Queen

__all__ = ["Admin", "DLQBuilder", "Queen", "QueueBuilder", "TransactionBuilder",
           "TransactionQueueBuilder"]
