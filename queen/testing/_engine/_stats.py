"""The counters behind the admin and dashboard endpoints, and the status of one message.

The real server keeps one statistics row per (partition, consumer group) that a background
job refreshes every ~10 s (and ``POST /api/v1/stats/refresh`` on demand); the endpoints read
those rows. The engine computes on request what two consecutive refreshes leave in them, so
its numbers are the broker's settled numbers, never stale ones:

* per group row: ``pending`` = messages after the group's cursor (or its subscription
  start), the leased ones included; ``processing`` = the undelivered part of an active
  lease's batch, capped by ``pending``; ``deadLetter`` = the group's DLQ entries;
  ``completed`` = total - pending - deadLetter; ``failed`` is always 0;
* a partition no group has touched has one row: everything pending except dead letters;
* a partition reports the MAX of its rows, a queue the SUM of its partitions.

Message statuses follow the broker's message list (§2.12): dead-lettered (for any group),
else behind the queue-mode cursor, else "processing" while the queue-mode lease is active,
else pending; partitions consumed only by named groups count a message completed once
every group passed it.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set

from ._state import QUEUE_MODE, Consumer, Message, Partition, State

__all__ = [
    "PartitionStats", "bus_status", "message_status", "partition_stats", "pending_from",
    "queue_mode_status",
    "sum_stats",
]

_KEYS = ("completed", "deadLetter", "failed", "pending", "processing", "total")


class PartitionStats:
    """A partition's counters plus the two instants the stats rows carry.

    Attributes:
        counts: ``completed``, ``deadLetter``, ``failed``, ``pending``, ``processing``,
            ``total``.
        oldest_us: the stats job's "oldest pending" instant (the cursor's message time of a
            group with pending messages; the newest message of an unconsumed partition).
        newest_us: the newest message's time.
    """

    __slots__ = ("counts", "newest_us", "oldest_us")

    def __init__(self, counts: Dict[str, int], oldest_us: Optional[int],
                 newest_us: Optional[int]) -> None:
        self.counts = counts
        self.oldest_us = oldest_us
        self.newest_us = newest_us


def pending_from(state: State, p: Partition, c: Consumer) -> int:
    """First message a group row counts as pending: after its cursor, else from its
    subscription start, else from the beginning."""
    if c.cursor is not None:
        return p.after(c.cursor)
    q = p.queue
    meta = state.subs.get((c.group, q.name, p.name)) or state.subs.get((c.group, q.name, ""))
    return p.first_at_or_after(meta.ts_us) if meta is not None else 0


def _dead_letters(state: State, p: Partition) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for e in state.dlq:
        if e.message.partition is p:
            counts[e.group] = counts.get(e.group, 0) + 1
    return counts


def partition_stats(state: State, p: Partition, now: float) -> PartitionStats:
    total = len(p.msgs)
    newest = p.msgs[-1].created_us if p.msgs else None
    dead = _dead_letters(state, p)
    if not p.consumers:
        all_dead = sum(dead.values())
        counts = {"completed": 0, "deadLetter": all_dead, "failed": 0,
                  "pending": max(total - all_dead, 0), "processing": 0, "total": total}
        return PartitionStats(counts, newest, newest)
    best = dict.fromkeys(_KEYS, 0)
    oldest: Optional[int] = None
    for c in p.consumers.values():
        pending = total - pending_from(state, p, c)
        row_total = max(total, c.total_consumed + pending)
        processing = (min(max(c.batch_size - c.acked, 0), pending)
                      if c.lease_active(now) else 0)
        row_dead = dead.get(c.group, 0)
        row = {"completed": max(row_total - pending - row_dead, 0), "deadLetter": row_dead,
               "failed": 0, "pending": pending, "processing": processing, "total": row_total}
        for k in _KEYS:
            best[k] = max(best[k], row[k])
        if pending > 0 and c.cursor is not None:
            oldest = c.cursor[0] if oldest is None else max(oldest, c.cursor[0])
    return PartitionStats(best, oldest, newest)


def sum_stats(rows: List[Dict[str, int]]) -> Dict[str, int]:
    out = dict.fromkeys(_KEYS, 0)
    for r in rows:
        for k in _KEYS:
            out[k] += r[k]
    return out


def _passed(c: Consumer, m: Message) -> bool:
    return c.cursor is not None and c.cursor >= m.key


def bus_status(p: Partition, m: Message) -> Dict[str, int]:
    """``busStatus`` of a listed message: named groups of its partition that passed it."""
    named = [c for g, c in p.consumers.items() if g != QUEUE_MODE]
    return {"consumedBy": sum(1 for c in named if _passed(c, m)), "totalGroups": len(named)}


def queue_mode_status(m: Message, now: float, dead: Set[int]) -> str:
    """The queue-mode view of one message (the list's ``queueStatus``)."""
    if id(m) in dead:
        return "dead_letter"
    qm = m.partition.consumers.get(QUEUE_MODE)
    if qm is not None and _passed(qm, m):
        return "completed"
    if qm is not None and qm.lease_active(now):
        return "processing"
    return "pending"


def message_status(m: Message, now: float, dead: Set[int]) -> str:
    """``pending``/``processing``/``completed``/``dead_letter`` of one message (§2.12)."""
    own = queue_mode_status(m, now, dead)
    p = m.partition
    if own != "dead_letter" and QUEUE_MODE not in p.consumers and p.consumers:
        bus = bus_status(p, m)
        return "completed" if bus["consumedBy"] == bus["totalGroups"] else "pending"
    return own
