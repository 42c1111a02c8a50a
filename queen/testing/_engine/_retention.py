"""Retention and max-wait deletion (spec §3.11, §4).

``retentionSeconds`` deletes every message older than N s and ``completedRetentionSeconds``
those every group with a cursor on the partition has consumed — both only with
``retentionEnabled``. ``maxWaitTimeSeconds`` deletes messages older than N s that no group has
consumed yet (not dead-lettered). Deletions take DLQ entries and traces with them. The real
server runs these every 5 min / 1 min; the engine runs them when
:meth:`Broker.run_retention` is called.
"""

from __future__ import annotations

from typing import List

from ._context import Context
from ._state import Message

__all__ = ["run_retention"]


def run_retention(ctx: Context) -> int:
    state = ctx.state
    now_us = int(ctx.clock.now() * 1_000_000)
    doomed: List[Message] = []
    for q in state.queues.values():
        o = q.options
        keep_all = int((o.get("retentionSeconds") or 0) * 1_000_000)
        keep_done = int((o.get("completedRetentionSeconds") or 0) * 1_000_000)
        max_wait = int((o.get("maxWaitTimeSeconds") or 0) * 1_000_000)
        enabled = bool(o.get("retentionEnabled"))
        for p in q.partitions.values():
            cursors = [c.cursor for c in p.consumers.values()]
            for m in p.msgs:
                age = now_us - m.created_us
                consumed_by_all = bool(cursors) and all(
                    cur is not None and cur >= m.key for cur in cursors
                )
                consumed_by_any = any(cur is not None and cur >= m.key for cur in cursors)
                expired = enabled and keep_all and age > keep_all
                done = enabled and keep_done and age > keep_done and consumed_by_all
                stale = max_wait and age > max_wait and not consumed_by_any
                if expired or done or stale:
                    doomed.append(m)
    state.drop_messages(doomed)
    return len(doomed)
