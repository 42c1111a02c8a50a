"""Engine-level fault injection: make the "database" fail (spec §1.4, §2.1, §3.15, §6.8).

``broker.faults.db_error("push", message=..., count=1)`` makes the next ``count`` calls of
that kind answer the database-failure shape of the route: for push the disk-buffer failover
array ``[{"queue": ..., "status": "buffered"}, ...]`` (§2.1; the items are replayed into the
queue on a later request, as the server's buffer drain would), for every other route the
``{"success": false, "error": message}`` object. Faults are consumed before the route runs
its database work and after validation, as on the server.
"""

from __future__ import annotations

from typing import Dict, List, Optional

__all__ = ["KINDS", "DbFaults"]

#: Kinds of database calls a fault can target.
KINDS = (
    "push", "pop", "ack", "transaction", "lease", "configure", "delete", "resources",
    "consumer_groups", "dlq", "traces", "messages", "status", "streams",
)
DEFAULT_MESSAGE = "connection to server was lost"


class DbFaults:
    """Pending database failures per kind."""

    def __init__(self) -> None:
        self._pending: Dict[str, List[str]] = {}

    def db_error(self, kind: str, message: str = DEFAULT_MESSAGE, count: int = 1) -> None:
        """Fail the next ``count`` database calls of ``kind`` with ``message``.

        Raises:
            ValueError: for an unknown kind (see :data:`KINDS`).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        self._pending.setdefault(kind, []).extend([message] * count)

    def take(self, kind: str) -> Optional[str]:
        """The message of the next pending fault of ``kind`` (consuming it), or ``None``."""
        queue = self._pending.get(kind)
        if not queue:
            return None
        return queue.pop(0)

    def pending(self, kind: str) -> int:
        """How many faults of ``kind`` are still armed."""
        return len(self._pending.get(kind, ()))

    def clear(self) -> None:
        """Disarm every fault."""
        self._pending.clear()
