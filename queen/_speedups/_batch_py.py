"""Per-address FIFO of encoded push items, cut into push-request chunks.

This is the documented twin of ``_batch_c.pyx``. The client buffer (one per
``"<queue>/<partition>"``) keeps items here already encoded by the codec, so a flush only
joins bytes: no Python dict is walked again after admission.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Deque, List, Optional, Sequence, Tuple

__all__ = ["Chunk", "ItemQueue"]


class Chunk:
    """Items taken from an :class:`ItemQueue` for one push request.

    Attributes:
        items: the encoded items, oldest first.
        arrivals: their admission times (the clock of the caller), same order.
        nbytes: the summed length of ``items``.
    """

    __slots__ = ("arrivals", "items", "nbytes")

    def __init__(self, items: List[bytes], arrivals: List[float], nbytes: int) -> None:
        self.items = items
        self.arrivals = arrivals
        self.nbytes = nbytes

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def body(self) -> bytes:
        """The ``POST /api/v1/push`` body: ``{"items":[...]}``."""
        return b'{"items":[' + b",".join(self.items) + b"]}"


class ItemQueue:
    """FIFO of encoded items with byte accounting."""

    __slots__ = ("_arrivals", "_items", "nbytes")

    def __init__(self) -> None:
        self._items: Deque[bytes] = deque()
        self._arrivals: Deque[float] = deque()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def append(self, item: bytes, arrived: float) -> None:
        """Add one encoded item at the back."""
        self._items.append(item)
        self._arrivals.append(arrived)
        self.nbytes += len(item)

    def extend(self, items: Sequence[bytes], arrived: float) -> None:
        """Add several encoded items at the back, all admitted at ``arrived``."""
        self._items.extend(items)
        self._arrivals.extend([arrived] * len(items))
        self.nbytes += sum(map(len, items))

    def oldest_arrival(self) -> Optional[float]:
        """Admission time of the front item, or None when empty."""
        return self._arrivals[0] if self._arrivals else None

    def take(self, n: int, max_bytes: Optional[int] = None, min_count: int = 1) -> Chunk:
        """Remove and return up to ``n`` items from the front.

        With ``max_bytes``, stop before the item that would bring the chunk's summed size
        past it, once ``min_count`` items (at least one) are taken: a push request grows up to
        a byte cap but always carries its first item, however large.
        """
        count = max(0, min(n, len(self._items)))
        if max_bytes is not None:
            floor = max(min_count, 1)
            total = 0
            for i, item in enumerate(islice(self._items, count)):
                if i >= floor and total + len(item) > max_bytes:
                    count = i
                    break
                total += len(item)
        items = [self._items.popleft() for _ in range(count)]
        arrivals = [self._arrivals.popleft() for _ in range(count)]
        size = sum(map(len, items))
        self.nbytes -= size
        return Chunk(items, arrivals, size)

    def requeue(self, chunk: Chunk) -> None:
        """Put a taken chunk back at the front, in its original order."""
        self._items.extendleft(reversed(chunk.items))
        self._arrivals.extendleft(reversed(chunk.arrivals))
        self.nbytes += chunk.nbytes

    def snapshot(self) -> Tuple[List[bytes], List[float]]:
        """Copies of the queued items and arrival times (for close-time reporting)."""
        return list(self._items), list(self._arrivals)
