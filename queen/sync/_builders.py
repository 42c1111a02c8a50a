"""The synchronous builders: mirrors of the async ones, plus consume() and buffer()."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable, Dict, Optional

from .._admin import Admin as AsyncAdmin
from .._builders._dlq import DLQBuilder as AsyncDLQBuilder
from .._builders._queue import QueueBuilder as AsyncQueueBuilder
from .._builders._transaction import TransactionBuilder as AsyncTransactionBuilder
from .._builders._transaction import TransactionQueueBuilder as AsyncTransactionQueueBuilder
from ._mirror import Mirror, mirrors

__all__ = ["Admin", "DLQBuilder", "QueueBuilder", "TransactionBuilder",
           "TransactionQueueBuilder"]

STOP_POLL_SECONDS = 0.05  # how often a running consume() looks at its stop signals


class StopSignal:
    """The abort signal handed to the async consumer: the caller's own signal (anything
    with ``is_set()``, e.g. a ``threading.Event``) or an interrupt of the blocked caller."""

    def __init__(self, user_signal: Optional[Any]) -> None:
        self._user = user_signal
        self._interrupted = threading.Event()

    def interrupt(self) -> None:
        self._interrupted.set()

    def is_set(self) -> bool:
        return self._interrupted.is_set() or bool(
            self._user is not None and self._user.is_set()
        )

    async def wait(self) -> None:
        while not self.is_set():
            await asyncio.sleep(STOP_POLL_SECONDS)


@mirrors(AsyncQueueBuilder)
class QueueBuilder(Mirror):
    """``queen.sync.Queen.queue(name)``: the async ``QueueBuilder``'s methods, blocking."""

    __slots__ = ()

    def buffer(self, options: Dict[str, Any]) -> QueueBuilder:
        """As the async ``buffer()``; ``on_flush_error`` runs in a worker thread."""
        options = dict(options)
        if options.get("on_flush_error") is not None:
            options["on_flush_error"] = self._rt.callback(
                options["on_flush_error"], "on_flush_error"
            )
        self._async.buffer(options)
        return self

    def consume(
        self,
        handler: Callable[..., Any],
        *,
        signal: Optional[Any] = None,
        on_error: Optional[Callable[..., Any]] = None,
        on_success: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Consume until ``limit``, ``idle_millis``, ``signal.is_set()``, ``close()`` or an
        interrupt (Ctrl-C) stops it; blocks meanwhile.

        ``handler`` (and the callbacks) are plain functions, called in ``concurrency``
        worker threads. On an interrupt the handlers already running finish and their
        messages are acknowledged, messages not yet handled are released, and then the
        interrupt is raised again (a second interrupt abandons the wait).
        """
        rt = self._rt
        stop = StopSignal(signal)
        holder: Dict[str, concurrent.futures.Executor] = {}
        executor = _LazyExecutor(holder)
        builder = self._async.consume(
            rt.callback(handler, "consume() handler", executor),
            signal=stop,
        )
        holder["pool"] = concurrent.futures.ThreadPoolExecutor(
            max_workers=builder.options.concurrency, thread_name_prefix="queen-sync-handler"
        )
        try:
            rt.apply_callbacks(builder, {"on_error": on_error, "on_success": on_success}, executor)
            future = rt.portal.submit(builder)
            try:
                future.result()
            except BaseException:
                if future.done():
                    raise
                # An interrupt of the blocked caller: stop cleanly, then re-raise it.
                stop.interrupt()
                try:
                    future.result()
                except BaseException:
                    if not future.done():
                        future.cancel()  # a second interrupt: abandon the clean stop
                raise
        finally:
            holder["pool"].shutdown(wait=False)


class _LazyExecutor(concurrent.futures.Executor):
    """The consume() handler pool, created once the run's concurrency is known."""

    def __init__(self, holder: Dict[str, concurrent.futures.Executor]) -> None:
        self._holder = holder

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        return self._holder["pool"].submit(fn, *args, **kwargs)


@mirrors(AsyncTransactionBuilder)
class TransactionBuilder(Mirror):
    """``queen.sync.Queen.transaction()``: stage with ack()/queue().push(), then commit()."""

    __slots__ = ()


@mirrors(AsyncTransactionQueueBuilder)
class TransactionQueueBuilder(Mirror):
    __slots__ = ()


@mirrors(AsyncDLQBuilder)
class DLQBuilder(Mirror):
    __slots__ = ()


@mirrors(AsyncAdmin)
class Admin(Mirror):
    """``queen.sync.Queen.admin``: every async ``Admin`` method, blocking."""

    __slots__ = ()
