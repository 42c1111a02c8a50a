"""The engine's controllable clock.

Leases, delayed processing, window buffers, subscription instants, retention and long-poll
deadlines all read time from one :class:`Clock` (spec §6.1: "use an injectable clock"), so a
test can jump over a 300 s lease with ``clock.advance(301)`` instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Callable, List, Optional

__all__ = ["Clock"]


class Clock:
    """Wall-clock time plus an offset that only grows.

    Args:
        start: epoch seconds the clock should read now; ``None`` follows real time.
        frozen: when true the clock stands still between :meth:`advance` calls, which makes
            timestamps in assertions exact. Long polls still end on real time (a frozen
            clock never reaches a deadline by itself).
    """

    def __init__(self, start: Optional[float] = None, *, frozen: bool = False) -> None:
        self._frozen = frozen
        base = time.time()
        self._offset = 0.0 if start is None else start - base
        self._fixed = base + self._offset
        self._listeners: List[Callable[[], None]] = []

    def now(self) -> float:
        """Current time in epoch seconds."""
        if self._frozen:
            return self._fixed
        return time.time() + self._offset

    def now_us(self) -> int:
        """Current time in integer epoch microseconds (the database's timestamp precision)."""
        return int(self.now() * 1_000_000)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake everything that waits on time (parked long polls).

        Raises:
            ValueError: for a negative step; time never runs backwards in the broker.
        """
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        self._fixed += seconds
        for listener in list(self._listeners):
            listener()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every :meth:`advance` (the broker's long-poll wake-up)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)
