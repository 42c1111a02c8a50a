"""Process-wide graceful shutdown on SIGINT/SIGTERM (client contract §5.12, D20).

The first registered client installs the handlers (main thread only; elsewhere installation
is skipped with a DEBUG record) and remembers the handlers they replace; when the last
registered client closes or opts out, those previous handlers are restored. On the first
signal every registered client is closed (which stops its consumers and flushes its buffers)
and the process exits with 0, or 1 if shutting down failed; a second signal exits with 1 at
once.

With a running event loop the exit is quiet and comes last: every ``await consume(...)``
that the shutdown stopped returns normally once the clients are closed, the code after it
runs, and when the tasks that called ``consume()`` have finished (or after
:data:`EXIT_GRACE_SECONDS`) while other tasks still run, ``SystemExit`` is raised from a plain
loop callback, so it leaves the loop like a Ctrl-C does, with no task holding an unretrieved
exception. A program whose main coroutine ends first simply ends (status 0).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set

from ._logging import ClientLogger

if TYPE_CHECKING:
    from ._client import Queen

__all__ = ["EXIT_GRACE_SECONDS", "ShutdownRegistry", "shutdown_registry"]

SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s)
#: How long the code after a stopped ``consume()`` may run before the process exits.
EXIT_GRACE_SECONDS = 5.0


def _exit(status: int) -> None:
    raise SystemExit(status)


class ShutdownRegistry:
    def __init__(self) -> None:
        self._clients: List[Queen] = []
        self._loggers: Dict[int, ClientLogger] = {}
        self._previous: Dict[int, Any] = {}
        self._installed = False
        self._signals_seen = 0
        self._shutting_down = False
        self._task: Optional[asyncio.Task] = None
        self._closing_clients: List[Queen] = []
        self._closed: Optional[asyncio.Future] = None  # done when the closing clients are
        self._callers: Set[asyncio.Task] = set()  # tasks whose consume() the shutdown stopped
        self._lock = threading.Lock()

    @property
    def installed(self) -> bool:
        return self._installed

    def register(self, client: Queen, log: ClientLogger) -> None:
        with self._lock:
            if threading.current_thread() is not threading.main_thread():
                log.debug("Queen.signals", "not in the main thread: signal handlers not installed")
                return
            if any(c is client for c in self._clients):
                return
            self._clients.append(client)
            self._loggers[id(client)] = log
            if not self._installed:
                for sig in SIGNALS:
                    self._previous[sig] = signal.getsignal(sig)
                    signal.signal(sig, self._handle)
                self._installed = True

    def unregister(self, client: Queen) -> None:
        with self._lock:
            before = len(self._clients)
            self._clients = [c for c in self._clients if c is not client]
            self._loggers.pop(id(client), None)
            # During a signal-driven shutdown the handlers stay in place until it ends, so a
            # second signal still means "exit now".
            if before and not self._clients and self._installed and not self._shutting_down:
                self._restore()

    def _restore(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()
        self._installed = False
        self._signals_seen = 0

    def _log(self) -> ClientLogger:
        return next(iter(self._loggers.values()), ClientLogger())

    def _handle(self, signum: int, frame: Any) -> None:
        self._signals_seen += 1
        log = self._log()
        name = signal.Signals(signum).name
        if self._signals_seen > 1:
            log.warning("Queen.signals", "Received multiple shutdown signals, exiting immediately")
            sys.exit(1)
        log.warning("Queen.signals", f"Received {name}, shutting down gracefully...")
        self._shutting_down = True
        clients = list(self._clients)
        self._closing_clients = clients
        loop: Optional[asyncio.AbstractEventLoop]
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            # The handler runs between two bytecodes of the loop's thread: schedule the
            # shutdown on the loop instead of blocking it. call_soon_threadsafe writes to the
            # loop's self-pipe; a bare create_task would sit unnoticed while the selector
            # sleeps (a consumer parked in a 30 s long poll).
            loop.call_soon_threadsafe(self._start_shutdown, loop, clients, log)
            return
        try:
            asyncio.run(self._close_all(clients))
        except Exception as exc:
            log.error("Queen.signals", {"error": str(exc)})
            sys.exit(1)
        sys.exit(0)

    def _start_shutdown(
        self, loop: asyncio.AbstractEventLoop, clients: List[Queen], log: ClientLogger
    ) -> None:
        self._closed = loop.create_future()
        self._callers = set()
        self._task = loop.create_task(self._shutdown(clients, log))

    async def wait_for_shutdown(self, client: Queen) -> None:
        """Wait until a signal-driven shutdown closing ``client`` has closed the clients.

        A consumer stopped by that shutdown waits here before ``await consume(...)``
        returns: otherwise a program whose main coroutine ends with the consumer would
        return from ``asyncio.run``, which cancels the shutdown before the buffers are
        flushed. The waiting task is remembered: the process exits once it has finished.
        """
        closed = self._closed
        current = asyncio.current_task()
        if closed is None or closed.done() or current is self._task:
            return
        if not any(c is client for c in self._closing_clients):
            return
        if current is not None:
            self._callers.add(current)
        await asyncio.wait({closed})

    async def _close_all(self, clients: List[Queen]) -> None:
        try:
            for client in clients:
                await client.close()
        finally:
            self._shutting_down = False
            if not self._clients and self._installed:
                self._restore()

    async def _shutdown(self, clients: List[Queen], log: ClientLogger) -> None:
        loop = asyncio.get_running_loop()
        status = 0
        try:
            try:
                await self._close_all(clients)
            except Exception as exc:
                log.error("Queen.signals", {"error": str(exc)})
                status = 1
            finally:
                if self._closed is not None and not self._closed.done():
                    self._closed.set_result(None)  # stopped consume() calls return now
            # Their callers carry on; the process exits once they are done.
            callers = {t for t in self._callers if not t.done()}
            if callers:
                await asyncio.wait(callers, timeout=EXIT_GRACE_SECONDS)
        except asyncio.CancelledError:
            # The loop is ending (asyncio.run's main coroutine returned): exit 0 follows by
            # itself; only a failed shutdown still has to say 1.
            if status:
                loop.call_soon(_exit, status)
            raise
        current = asyncio.current_task()
        if status or any(t is not current and not t.done() for t in asyncio.all_tasks(loop)):
            # Raised from a plain callback, SystemExit leaves the loop without a task carrying
            # it. With nothing else left, the program is ending by itself (with status 0).
            loop.call_soon(_exit, status)


shutdown_registry = ShutdownRegistry()
