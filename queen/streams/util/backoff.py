"""Exponential backoff with jitter for the ``/streams/v1/*`` retries (client contract §8.10)."""

from __future__ import annotations

import asyncio
import random

__all__ = ["Backoff", "make_backoff", "sleep"]


class Backoff:
    """Delays of ``initial_ms * multiplier**k`` capped at ``max_ms``, plus up to 30 % jitter."""

    __slots__ = ("_attempt", "initial_ms", "max_ms", "multiplier")

    def __init__(self, initial_ms: float = 50, max_ms: float = 5000, multiplier: float = 2) -> None:
        self.initial_ms = initial_ms
        self.max_ms = max_ms
        self.multiplier = multiplier
        self._attempt = 0

    def next(self) -> float:
        """The next delay in milliseconds."""
        ms = min(self.max_ms, int(self.initial_ms * self.multiplier**self._attempt))
        self._attempt += 1
        return ms + int(random.random() * ms * 0.3)

    def reset(self) -> None:
        self._attempt = 0


def make_backoff(initial_ms: float = 50, max_ms: float = 5000, multiplier: float = 2) -> Backoff:
    """A fresh :class:`Backoff` (the reference SDK's factory name)."""
    return Backoff(initial_ms, max_ms, multiplier)


async def sleep(ms: float) -> None:
    """``asyncio.sleep`` in milliseconds."""
    await asyncio.sleep(ms / 1000.0)
