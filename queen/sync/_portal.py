"""The private event loop behind one synchronous client.

Each ``queen.sync.Queen`` owns a daemon thread running an asyncio loop; the async client
lives on that loop and every blocking call is a coroutine submitted to it. Callers may be
any number of threads, and a thread that runs an event loop of its own is just another
caller: its loop is never touched. User code (handlers, callbacks) runs in worker threads,
never on the private loop, so it may call the synchronous client again.
"""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import inspect
import threading
from typing import Any, Awaitable, Callable, Optional, Set, TypeVar

from .._errors import QueenError, QueenValidationError

__all__ = ["Portal", "plain_callable"]

T = TypeVar("T")

ON_LOOP_THREAD = (
    "the synchronous client was called from its own event loop thread; call it from "
    "handlers and callbacks (which run in worker threads) or from any other thread"
)


def plain_callable(fn: Any, what: str) -> Callable[..., Any]:
    """``fn`` if it is a plain callable; an ``async def`` (or a non-callable) is an error."""
    if not callable(fn):
        raise QueenValidationError(f"{what} must be callable, got {type(fn).__name__}")
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    ):
        raise QueenValidationError(
            f"{what} is an async function: the synchronous client calls plain functions "
            "(use queen.Queen, the async client, for async handlers)"
        )
    return fn


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _Call:
    """One blocking call: the task on the loop and the lock its caller sleeps on."""

    __slots__ = ("released", "task", "waiter")

    def __init__(self) -> None:
        self.waiter = _thread.allocate_lock()
        self.waiter.acquire()
        self.task: Optional[asyncio.Task] = None
        self.released = False

    def finish(self, _: Any) -> None:
        """Wake the caller (on the loop thread: at most once, so no lock is needed)."""
        if not self.released:
            self.released = True
            self.waiter.release()

    def result(self) -> Any:
        if self.task is None or not self.task.done():
            raise QueenError("Queen client is closed")
        return self.task.result()


class Portal:
    """One event loop in one daemon thread, and the ways to run things on it."""

    def __init__(self, name: str = "queen-sync") -> None:
        self.loop = asyncio.new_event_loop()
        self._stopped = False
        # Callers blocked in run(), released with "closed" if the loop ends under them.
        self._pending: Set[_Call] = set()
        self._pending_lock = threading.Lock()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name=name, daemon=True
        )
        self._thread.start()
        ready.wait()
        # Worker threads for user callbacks that are not consume handlers (push and
        # operation callbacks, on_flush_error, Message.trace callers).
        self.callbacks = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix=f"{name}-callback"
        )
        self._worker = threading.local()  # .active: this thread runs a user callback

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        try:
            self.loop.run_forever()
        finally:
            self._stopped = True
            with self._pending_lock:
                stranded = list(self._pending)
            for call in stranded:
                call.finish(None)
            self.loop.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def on_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, awaitable: Awaitable[T]) -> concurrent.futures.Future:
        """Schedule ``awaitable`` on the loop; the caller waits on the returned future."""
        self._check_caller(awaitable)
        return asyncio.run_coroutine_threadsafe(_await(awaitable), self.loop)

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run ``awaitable`` on the loop and return its result (or raise its error).

        The hot path of every blocking call, so it skips ``run_coroutine_threadsafe`` and its
        two futures: one callback starts the task, one bare lock carries the completion
        back. An interrupt (Ctrl-C) while waiting cancels the operation, then propagates.
        """
        self._check_caller(awaitable)
        loop = self.loop
        call = _Call()

        def start() -> None:
            call.task = loop.create_task(_await(awaitable))
            call.task.add_done_callback(call.finish)

        def cancel() -> None:  # queued after start(), so the task exists by then
            if call.task is not None:
                call.task.cancel()

        with self._pending_lock:
            self._pending.add(call)
        try:
            try:
                loop.call_soon_threadsafe(start)
            except RuntimeError:  # the loop closed since _check_caller()
                if inspect.iscoroutine(awaitable):
                    awaitable.close()
                raise QueenError("Queen client is closed") from None
            try:
                call.waiter.acquire()
            except BaseException:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(cancel)
                raise
        finally:
            with self._pending_lock:
                self._pending.discard(call)
        return call.result()

    def _check_caller(self, awaitable: Awaitable[Any]) -> None:
        if self.on_loop_thread():
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never awaited: no "was never awaited" warning
            raise QueenError(ON_LOOP_THREAD)
        if self._stopped:
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise QueenError("Queen client is closed")

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run the plain function ``fn(*args)`` on the loop thread (client state lives there)."""

        async def call() -> T:
            return fn(*args)

        return self.run(call())

    def in_thread(
        self,
        fn: Callable[..., Any],
        adapt: Callable[[Any], Any],
        executor: Optional[concurrent.futures.Executor] = None,
    ) -> Callable[..., Awaitable[Any]]:
        """An async function that runs ``fn(*map(adapt, args))`` in a worker thread.

        The async client awaits it like an async callback; the loop stays free meanwhile.
        """
        loop = self.loop
        pool = executor or self.callbacks

        worker = self._worker

        def call(args: Any) -> Any:
            worker.active = True
            try:
                return fn(*args)
            finally:
                worker.active = False

        async def run_in_thread(*args: Any) -> Any:
            adapted = [adapt(arg) for arg in args]
            result = await loop.run_in_executor(pool, call, adapted)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise QueenValidationError(
                    f"{getattr(fn, '__name__', 'a callback')} returned an awaitable: the "
                    "synchronous client calls plain functions"
                )
            return result

        return run_in_thread

    def in_worker(self) -> bool:
        """Whether the calling thread is running a user handler or callback of this loop."""
        return bool(getattr(self._worker, "active", False))

    def stop(self) -> None:
        """Stop the loop and its thread (after the client has closed on it)."""
        self.callbacks.shutdown(wait=False)
        self._stopped = True
        if not self.running:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.on_loop_thread():
            self._thread.join()
