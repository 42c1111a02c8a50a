"""Message inspection: list, detail, delete (spec §2.12).

The list has no payload, is newest first, filters by ``queue``/``partition``/``ns``/``task``/
``status`` in the ``from``..``to`` window (default the last hour; ``to`` rounded up to the end
of its minute) with ``limit`` 200. Detail uses ``payload`` (not ``data``). Deleting a message
also deletes its DLQ entries and traces; cursors are untouched.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

from .._wire import Request, Response
from ._context import Context
from ._ids import is_uuid
from ._jsonio import DbFailure
from ._query import get_int, get_param
from ._state import QUEUE_MODE, Message, Partition, Queue
from ._stats import bus_status, message_status, queue_mode_status
from ._timefmt import fmt_ms, parse_ts

__all__ = ["handle_message_delete", "handle_message_detail", "handle_messages"]


def _mode(partitions: List[Partition]) -> Dict[str, Any]:
    groups: Set[str] = set()
    queue_mode = False
    for p in partitions:
        for g in p.consumers:
            if g == QUEUE_MODE:
                queue_mode = True
            else:
                groups.add(g)
    kind = ("hybrid" if queue_mode and groups else "queue" if queue_mode
            else "bus" if groups else "none")
    return {"busGroupsCount": len(groups), "hasQueueMode": queue_mode, "type": kind}


def _dead(ctx: Context) -> Set[int]:
    return {id(e.message) for e in ctx.state.dlq}


def _lease_expiry(p: Partition) -> Optional[str]:
    """The queue-mode row's lease expiry, as stored: also once expired, and whatever the
    message (the list and the detail join that row, not the message's own delivery)."""
    qm = p.consumers.get(QUEUE_MODE)
    if qm is None or qm.token is None:
        return None
    return fmt_ms(int(qm.expires * 1_000_000))


def handle_messages(ctx: Context, req: Request) -> Response:
    qs = req.query
    queue, partition = get_param(qs, "queue"), get_param(qs, "partition")
    ns, task, status = get_param(qs, "ns"), get_param(qs, "task"), get_param(qs, "status")
    now = ctx.clock.now()
    now_us = int(now * 1_000_000)
    raw_from, raw_to = get_param(qs, "from"), get_param(qs, "to")
    t_from = parse_ts(raw_from) if raw_from else None
    t_to = parse_ts(raw_to) if raw_to else None
    start = t_from if t_from is not None else now_us - 3600 * 1_000_000
    end = t_to if t_to is not None else now_us
    end = (end // 60_000_000 + 1) * 60_000_000  # rounded up to the end of its minute
    limit, offset = get_int(qs, "limit", 200), get_int(qs, "offset", 0)
    failed = ctx.fault("messages")
    if failed is not None:
        return failed
    dead = _dead(ctx)
    queues: List[Queue] = [
        q for q in ctx.state.queues.values()
        if (queue is None or q.name == queue) and (ns is None or q.namespace == ns)
        and (task is None or q.task == task)
    ]
    # The mode looks at every partition of the queue filter holding a message in the window.
    in_window = [p for q in ctx.state.queues.values() if queue is None or q.name == queue
                 for p in q.partitions.values()
                 if any(start <= m.created_us < end for m in p.msgs)]
    parts = [p for q in queues for p in q.partitions.values()
             if partition is None or p.name == partition]
    rows = []
    for p in parts:
        for m in p.msgs:
            if not start <= m.created_us < end:
                continue
            st = message_status(m, now, dead)
            if status is not None and st != status:
                continue
            rows.append((m, st))
    rows.sort(key=lambda r: r[0].key, reverse=True)
    out = []
    for m, st in rows[max(offset, 0):][:max(limit, 0)]:
        p = m.partition
        q = p.queue
        out.append({
            "busStatus": bus_status(p, m),
            "createdAt": fmt_ms(m.created_us), "id": m.id,
            "leaseExpiresAt": _lease_expiry(p), "namespace": q.namespace,
            "partition": p.name, "partitionId": p.id, "producerSub": m.producer_sub,
            "queue": q.name, "queuePath": f"{q.name}/{p.name}",
            "queuePriority": q.options.get("priority", 0),
            "queueStatus": queue_mode_status(m, now, dead), "status": st,
            "task": q.task, "traceId": m.trace_id, "transactionId": m.tx,
        })
    return ctx.reply({"messages": out, "mode": _mode(in_window)})


def _find(ctx: Context, pid: str, tx: str) -> Optional[Message]:
    if not is_uuid(pid):
        raise DbFailure.bad_uuid_parameter(pid)
    p = ctx.state.partitions.get(pid)
    return p.by_tx.get(tx) if p is not None else None


def handle_message_detail(ctx: Context, req: Request, pid: str, tx: str) -> Response:
    failed = ctx.fault("messages")
    if failed is not None:
        return failed
    m = _find(ctx, pid, tx)
    if m is None:
        return ctx.reply({"error": "Message not found"}, 404)
    now = ctx.clock.now()
    p, q = m.partition, m.partition.queue
    entry = next((e for e in ctx.state.dlq if e.message is m), None)
    groups = []
    for g, c in p.consumers.items():
        consumed = c.cursor is not None and c.cursor >= m.key
        groups.append({"consumed": consumed, "name": g,
                       "leaseExpiresAt": (fmt_ms(int(c.expires * 1_000_000))
                                          if c.token is not None else None)})
    mode = _mode([p])
    mode["consumedByGroups"] = sum(1 for g in groups if g["consumed"] and g["name"] != QUEUE_MODE)
    o = q.options
    return ctx.reply({
        "consumerGroups": groups, "createdAt": fmt_ms(m.created_us),
        "errorMessage": entry.error if entry else None, "id": m.id, "isEncrypted": False,
        "leaseExpiresAt": _lease_expiry(p), "mode": mode, "namespace": q.namespace,
        "partition": p.name, "partitionId": p.id, "payload": m.data,
        "producerSub": m.producer_sub, "queue": q.name,
        "queueConfig": {"leaseTime": o["leaseTime"], "priority": o["priority"],
                        "retryDelay": o["retryDelay"], "retryLimit": o["retryLimit"],
                        "ttl": o["ttl"]},
        "queuePath": f"{q.name}/{p.name}",
        "retryCount": entry.retry_count if entry else None,
        "status": message_status(m, now, _dead(ctx)), "task": q.task,
        "traceId": m.trace_id, "transactionId": m.tx,
    })


def handle_message_delete(ctx: Context, req: Request, pid: str, tx: str) -> Response:
    failed = ctx.fault("messages")
    if failed is not None:
        return failed
    m = _find(ctx, pid, tx)
    if m is not None:
        ctx.state.drop_messages([m])
    return ctx.reply({
        "message": "Message deleted successfully" if m is not None else "Message not found",
        "partitionId": pid, "success": m is not None, "transactionId": tx,
    })
