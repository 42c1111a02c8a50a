"""Process-wide graceful shutdown on SIGINT/SIGTERM (client contract §5.12, D20).

The first registered client installs the handlers (main thread only; elsewhere installation
is skipped with a DEBUG record) and remembers the handlers they replace; when the last
registered client closes or opts out, those previous handlers are restored. On the first
signal every registered client is closed (which stops its consumers and flushes its buffers)
and the process exits with 0, or 1 if shutting down failed; a second signal exits with 1 at
once.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ._logging import ClientLogger

if TYPE_CHECKING:
    from ._client import Queen

__all__ = ["ShutdownRegistry", "shutdown_registry"]

SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s)


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
        self._task = loop.create_task(self._shutdown(clients, log))

    async def wait_for_shutdown(self, client: Queen) -> None:
        """Wait until a signal-driven shutdown closing ``client`` has finished.

        A consumer stopped by that shutdown waits here before ``await consume(...)``
        returns: otherwise a program whose main coroutine ends with the consumer would
        return from ``asyncio.run``, which cancels the shutdown before the buffers are
        flushed and the process exits with its status.
        """
        task = self._task
        if task is None or task.done() or task is asyncio.current_task():
            return
        if not any(c is client for c in self._closing_clients):
            return
        await asyncio.wait({task})

    async def _close_all(self, clients: List[Queen]) -> None:
        try:
            for client in clients:
                await client.close()
        finally:
            self._shutting_down = False
            if not self._clients and self._installed:
                self._restore()

    async def _shutdown(self, clients: List[Queen], log: ClientLogger) -> None:
        try:
            await self._close_all(clients)
        except Exception as exc:
            log.error("Queen.signals", {"error": str(exc)})
            sys.exit(1)
        sys.exit(0)


shutdown_registry = ShutdownRegistry()
