"""Parking long-poll pops (spec §1.6, §6.3 step 7, §6.8).

The real single server re-runs a parked pop 0.1, 0.2, 0.3, 1.1, 2.1, 3.1 ... s after it
arrived (100 ms after each of the first three empty attempts, 800 ms after the fourth, then
every second) and answers an expired poll on the first tick after its deadline. "wire" mode
keeps exactly those ticks; "prompt" mode additionally wakes on pushes to the queue and at the
deadline itself. Both wake on :meth:`Clock.advance`, which counts as elapsed time.
"""

from __future__ import annotations

import asyncio
from typing import Dict, Iterator, Optional, Set

__all__ = ["Hub", "ticks"]


def ticks() -> Iterator[float]:
    """Offsets (seconds after arrival) of the server's retry attempts."""
    yield 0.1
    yield 0.2
    yield 0.3
    t = 1.1
    while True:
        yield t
        t += 1.0


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Hub:
    """Futures of parked pops, by queue, woken by pushes and clock jumps."""

    def __init__(self) -> None:
        self._by_queue: Dict[str, Set[asyncio.Future[None]]] = {}
        self._all: Set[asyncio.Future[None]] = set()

    def parked(self) -> int:
        """How many pops are parked right now."""
        return len(self._all)

    def wake_queue(self, queue: str) -> None:
        for fut in list(self._by_queue.get(queue, ())):
            self._wake(fut)

    def wake_all(self) -> None:
        for fut in list(self._all):
            self._wake(fut)

    @staticmethod
    def _wake(fut: asyncio.Future[None]) -> None:
        loop = fut.get_loop()
        try:
            running: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            _resolve(fut)
        else:
            # Clock.advance called from another thread (the thread-backed sync server).
            loop.call_soon_threadsafe(_resolve, fut)

    async def sleep(self, delay: float, queue: Optional[str]) -> None:
        """Sleep ``delay`` seconds or until woken (by a push to ``queue`` if given)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._all.add(fut)
        if queue is not None:
            self._by_queue.setdefault(queue, set()).add(fut)
        handle = loop.call_later(max(delay, 0.0), _resolve, fut)
        try:
            await fut
        finally:
            handle.cancel()
            self._all.discard(fut)
            if queue is not None:
                waiters = self._by_queue.get(queue)
                if waiters is not None:
                    waiters.discard(fut)
                    if not waiters:
                        del self._by_queue[queue]
