"""Live counters behind the admin and dashboard endpoints.

The real server reads most of these from a statistics table a background job refreshes every
~10 s (§2.8), so its numbers lag; the engine computes them on request from its state, which
is what the statistics job converges to. "completed" counts messages behind the queue-mode
cursor (or, for partitions only named groups consume, behind every group's cursor, §2.12);
"processing" is the size of an active lease's batch; ``failed`` is always 0 (§2.8).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set

from ._state import QUEUE_MODE, Message, Partition, State

__all__ = ["consumed_index", "message_status", "partition_stats", "sum_stats"]

_KEYS = ("completed", "deadLetter", "failed", "pending", "processing", "total")


def consumed_index(p: Partition) -> int:
    """Number of leading messages of ``p`` considered consumed."""
    qm = p.consumers.get(QUEUE_MODE)
    if qm is not None:
        return p.after(qm.cursor)
    if p.consumers:
        return min(p.after(c.cursor) for c in p.consumers.values())
    return 0


def _processing(p: Partition, now: float, done: int) -> int:
    best = 0
    for c in p.consumers.values():
        if c.lease_active(now):
            best = max(best, max(c.batch_size - c.acked, 0))
    return min(best, len(p.msgs) - done)


def partition_stats(state: State, p: Partition, now: float) -> Dict[str, int]:
    total = len(p.msgs)
    done = consumed_index(p)
    processing = _processing(p, now, done)
    dead = sum(1 for e in state.dlq if e.message.partition is p)
    return {
        "completed": done, "deadLetter": dead, "failed": 0,
        "pending": max(total - done - processing, 0), "processing": processing, "total": total,
    }


def sum_stats(rows: List[Dict[str, int]]) -> Dict[str, int]:
    out = dict.fromkeys(_KEYS, 0)
    for r in rows:
        for k in _KEYS:
            out[k] += r[k]
    return out


def message_status(state: State, m: Message, now: float,
                   dead: Optional[Set[int]] = None) -> str:
    """``pending``/``processing``/``completed``/``dead_letter`` of one message (§2.12)."""
    p = m.partition
    if dead is not None and id(m) in dead:
        return "dead_letter"
    qm = p.consumers.get(QUEUE_MODE)
    rows = [qm] if qm is not None else list(p.consumers.values())
    if rows and all(c.cursor is not None and c.cursor >= m.key for c in rows):
        return "completed"
    idx = p.after(m.key) - 1
    for c in rows:
        if c.lease_active(now):
            first = p.after(c.cursor)
            if first <= idx < first + c.batch_size:
                return "processing"
    return "pending"
