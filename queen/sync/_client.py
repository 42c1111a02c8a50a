"""``queen.sync.Queen``: the async client driven from a private event loop thread."""

from __future__ import annotations

import atexit
import importlib
import inspect
import signal
import sys
import threading
import weakref
from typing import Any, List, Optional

from .._client import Queen as AsyncQueen
from .._defaults import CLIENT_DEFAULTS
from ._builders import Admin, QueueBuilder, TransactionBuilder
from ._mirror import Mirror, Runtime, mirrors
from ._portal import Portal

__all__ = ["Queen"]


def _handle_signals(args: tuple, kwargs: dict) -> bool:
    if kwargs.get("handle_signals") is not None:
        return bool(kwargs["handle_signals"])
    config = args[0] if args else kwargs.get("config")
    if isinstance(config, dict) and config.get("handle_signals") is not None:
        return bool(config["handle_signals"])
    return bool(CLIENT_DEFAULTS["handle_signals"])


@mirrors(AsyncQueen)
class Queen(Mirror):
    """The synchronous client: ``queen.Queen``'s API with blocking methods.

    Takes exactly the async constructor's arguments. Builders stage as in the async client;
    the calls that ``await`` there (``push()``, ``pop()``, ``create()``, ``commit()``,
    ``ack()``, every ``admin`` method, ...) block here and return the same results or raise
    the same errors. An awaitable builder's callback setters become keyword arguments of the
    call that runs it: ``queue(q).push(items, on_duplicate=fn)``.

    Safe to share between threads. Handlers and callbacks are plain functions and run in
    worker threads. With ``handle_signals`` (the default) SIGTERM in the main thread raises
    ``SystemExit`` there (unless the program handles SIGTERM itself), like Ctrl-C raises
    ``KeyboardInterrupt``: a blocked ``consume()`` stops cleanly and re-raises it. Clients
    left open are closed (buffers flushed) when the interpreter exits.
    """

    __slots__ = ("__weakref__", "_closed", "_lock")
    plain_on_loop = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        handle = _handle_signals(args, kwargs)
        portal = Portal()
        try:
            target = portal.call(lambda: AsyncQueen(*args, **{**kwargs, "handle_signals": False}))
        except BaseException:
            portal.stop()
            raise
        super().__init__(target, Runtime(portal))
        self._closed = False
        self._lock = threading.Lock()
        _open_clients.add(self)
        if handle:
            self.enable_graceful_shutdown()

    # -- builders (typed here; the mirror would build the same) ----------------------------

    def queue(self, name: Optional[str] = None) -> QueueBuilder:
        return QueueBuilder(self._async.queue(name), self._rt)

    def transaction(self) -> TransactionBuilder:
        return TransactionBuilder(self._async.transaction(), self._rt)

    @property
    def admin(self) -> Admin:
        return Admin(self._async.admin, self._rt)

    @property
    def urls(self) -> List[str]:
        return self._async.urls

    # -- lifecycle ------------------------------------------------------------------------

    def enable_graceful_shutdown(self) -> None:
        """Turn SIGTERM in the main thread into ``SystemExit`` (a clean stop of a blocked
        ``consume()``, then the exit-time close) while this client is open, unless the program
        handles SIGTERM itself."""
        _terminate.register(self)

    def disable_graceful_shutdown(self) -> None:
        _terminate.unregister(self)

    def close(self, *, timeout_millis: int = 30000) -> None:
        """Stop consumers, flush buffers within the deadline, close the connections and the
        private loop. Callable from any thread, also from a handler (it then returns at once
        and the client closes once that handler has finished); never raises."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _open_clients.discard(self)
        _terminate.unregister(self)
        portal = self._rt.portal
        future = portal.submit(self._async.close(timeout_millis=timeout_millis))
        if portal.in_worker():
            future.add_done_callback(lambda _: portal.stop())
            return
        try:
            future.result()
        finally:
            portal.stop()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Queen:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"queen.sync.Queen(urls={self.urls!r})"


Queen.__init__.__signature__ = inspect.signature(AsyncQueen.__init__)  # type: ignore[attr-defined]

# Every client still open when the interpreter exits is closed, so buffered messages are
# sent (the loop threads are daemons and would otherwise just stop). threading's exit hooks
# run before concurrent.futures refuses new work at shutdown, which resolving a host name
# for a new connection still needs; plain atexit hooks run after that.
_open_clients: set[Queen] = set()


def _close_open_clients() -> None:
    for client in list(_open_clients):
        client.close()


# Hooks run last-registered first: concurrent.futures' own must be in place before ours.
importlib.import_module("concurrent.futures.thread")
getattr(threading, "_register_atexit", atexit.register)(_close_open_clients)


class _TerminateHandler:
    """SIGTERM → ``SystemExit(0)`` in the main thread while a client wants it, unless the
    program already handles SIGTERM itself; the default comes back when the last client
    closes or opts out."""

    def __init__(self) -> None:
        self._clients: weakref.WeakSet[Queen] = weakref.WeakSet()
        self._previous: Any = None
        self._installed = False
        self._lock = threading.Lock()

    def register(self, client: Queen) -> None:
        with self._lock:
            self._clients.add(client)
            if self._installed or threading.current_thread() is not threading.main_thread():
                return
            if not hasattr(signal, "SIGTERM"):
                return
            previous = signal.getsignal(signal.SIGTERM)
            if previous is not signal.SIG_DFL:
                return  # the program (or its server: gunicorn, uwsgi...) handles SIGTERM
            self._previous = previous
            signal.signal(signal.SIGTERM, self._handle)
            self._installed = True

    def unregister(self, client: Queen) -> None:
        with self._lock:
            self._clients.discard(client)
            if self._clients or not self._installed:
                return
            if threading.current_thread() is threading.main_thread():
                previous = self._previous if self._previous is not None else signal.SIG_DFL
                signal.signal(signal.SIGTERM, previous)
                self._installed = False

    @staticmethod
    def _handle(signum: int, frame: Any) -> None:
        sys.exit(0)


_terminate = _TerminateHandler()
