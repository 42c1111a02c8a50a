"""Consumer-group management (spec §2.9, §3.6, Q27).

Lists are built from consumer rows: a group appears once per queue where it has a cursor
row; ``members`` counts those rows; ``totalLag`` is always null; ``state`` is ``Lagging`` when
the max time lag exceeds 300 s, ``Stable`` when some partition was consumed, else ``Dead``.
Subscription updates rewrite every metadata row of the group; seeks move only existing
cursor rows and release their leases.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .._wire import Request, Response
from ._context import Context
from ._jsonio import BadRequest, DbFailure, get, parse_body, type_error
from ._query import get_bool, get_param, stoi
from ._state import Consumer, Partition, State
from ._stats import pending_from
from ._timefmt import fmt_ms, parse_ts

__all__ = [
    "handle_delete_group", "handle_delete_group_queue", "handle_group", "handle_groups",
    "handle_lagging", "handle_partition_seek", "handle_seek", "handle_stats_refresh",
    "handle_subscription",
]


def _lag(state: State, p: Partition, c: Consumer,
         now_us: int) -> Tuple[int, int, Optional[int]]:
    """(offset lag, time lag in whole seconds rounded as PostgreSQL casts them, created_at of
    the oldest unconsumed message); unconsumed = after the cursor or subscription start."""
    idx = pending_from(state, p, c)
    offset = len(p.msgs) - idx
    if not offset:
        return 0, 0, None
    oldest = p.msgs[idx].created_us
    return offset, max((now_us - oldest + 500_000) // 1_000_000, 0), oldest


def _rows(ctx: Context) -> List[Tuple[Partition, Consumer]]:
    out = []
    for q in ctx.state.queues.values():
        for p in q.partitions.values():
            for c in p.consumers.values():
                out.append((p, c))
    return out


def handle_groups(ctx: Context, req: Request) -> Response:
    failed = ctx.fault("consumer_groups")
    if failed is not None:
        return failed
    now_us = ctx.clock.now_us()
    agg: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for p, c in _rows(ctx):
        q = p.queue
        e = agg.setdefault((c.group, q.name), {
            "maxTimeLag": 0, "members": 0, "name": c.group, "partitionsWithLag": 0,
            "queueName": q.name, "topics": [q.name], "totalLag": None, "_consumed": False,
        })
        e["members"] += 1
        offset, lag, _ = _lag(ctx.state, p, c, now_us)
        if offset:
            e["partitionsWithLag"] += 1
            e["maxTimeLag"] = max(e["maxTimeLag"], lag)
        if c.cursor is not None:
            e["_consumed"] = True
    out = []
    for (group, queue), e in agg.items():
        consumed = e.pop("_consumed")
        e["state"] = "Lagging" if e["maxTimeLag"] > 300 else ("Stable" if consumed else "Dead")
        meta = ctx.state.subs.get((group, queue, "")) or next(
            (m for k, m in ctx.state.subs.items() if k[0] == group and k[1] == queue), None)
        e["subscriptionCreatedAt"] = fmt_ms(meta.created_us) if meta else None
        e["subscriptionMode"] = meta.mode if meta else None
        e["subscriptionTimestamp"] = fmt_ms(meta.ts_us) if meta else None
        out.append(e)
    return ctx.reply(out)


def handle_lagging(ctx: Context, req: Request) -> Response:
    raw = get_param(req.query, "minLagSeconds")
    if raw is None:
        threshold = 3600
    else:
        parsed = stoi(raw)
        if parsed is None:
            return _stoi_failure()
        threshold = parsed
    failed = ctx.fault("consumer_groups")
    if failed is not None:
        return failed
    now_us = ctx.clock.now_us()
    rows: List[Dict[str, Any]] = []
    for p, c in _rows(ctx):
        offset, lag, oldest = _lag(ctx.state, p, c, now_us)
        if not offset or lag <= threshold:
            continue
        rows.append({
            "consumer_group": c.group, "lag_hours": round(lag / 3600, 2),
            "last_consumed_at": fmt_ms(c.last_consumed_us) if c.last_consumed_us else None,
            "offset_lag": offset,
            "oldest_unconsumed_at": fmt_ms(oldest) if oldest is not None else None,
            "partition_id": p.id, "partition_name": p.name, "queue_name": p.queue.name,
            "time_lag_seconds": lag, "worker_id": c.token,
        })
    rows.sort(key=lambda r: r["time_lag_seconds"], reverse=True)
    return ctx.reply(rows)


def _stoi_failure() -> Response:
    from ._responses import immediate

    return immediate(500, {"error": "stoi"})


def handle_group(ctx: Context, req: Request, group: str) -> Response:
    failed = ctx.fault("consumer_groups")
    if failed is not None:
        return failed
    now = ctx.clock.now()
    now_us = int(now * 1_000_000)
    out: Dict[str, Any] = {}
    for p, c in _rows(ctx):
        if c.group != group:
            continue
        offset, lag, _ = _lag(ctx.state, p, c, now_us)
        active = c.lease_active(now)
        out.setdefault(p.queue.name, {"partitions": []})["partitions"].append({
            "lastConsumedAt": fmt_ms(c.last_consumed_us) if c.last_consumed_us else None,
            "leaseActive": active, "offsetLag": offset, "partition": p.name,
            "timeLagSeconds": lag, "totalConsumed": c.total_consumed,
            "workerId": c.token if active else None,
        })
    return ctx.reply(out)


def _delete(ctx: Context, req: Request, group: str, queue: Optional[str]) -> Dict[str, Any]:
    delete_meta = get_bool(req.query, "deleteMetadata", True)
    state = ctx.state
    deleted = 0
    for q in list(state.queues.values()):
        if queue is not None and q.name != queue:
            continue
        for p in q.partitions.values():
            c = p.consumers.pop(group, None)
            if c is not None:
                c.release()
                deleted += 1
        ctx.notify(q.name)
    if delete_meta:
        for key in [k for k in state.subs if k[0] == group and (queue is None or k[1] == queue)]:
            del state.subs[key]
    body: Dict[str, Any] = {"consumerGroup": group, "deletedPartitions": deleted,
                            "metadataDeleted": delete_meta, "success": True}
    if queue is not None:
        body["queueName"] = queue
    return body


def handle_delete_group(ctx: Context, req: Request, group: str) -> Response:
    failed = ctx.fault("consumer_groups")
    if failed is not None:
        return failed
    return ctx.reply(_delete(ctx, req, group, None))


def handle_delete_group_queue(ctx: Context, req: Request, group: str, queue: str) -> Response:
    failed = ctx.fault("consumer_groups")
    if failed is not None:
        return failed
    return ctx.reply(_delete(ctx, req, group, queue))


def _tz_error(text: str, fn: str) -> DbFailure:
    return DbFailure.sql(
        f'ERROR:  invalid input syntax for type timestamp with time zone: "{text}"\n'
        f"CONTEXT:  PL/pgSQL function {fn}\n"
    )


def handle_subscription(ctx: Context, req: Request, group: str) -> Response:
    body = parse_body(req.body)
    if not isinstance(body, dict) or "subscriptionTimestamp" not in body:
        raise BadRequest("Missing subscriptionTimestamp in request body")
    text = body["subscriptionTimestamp"]
    if not isinstance(text, str):
        raise type_error("string", text)
    failed = ctx.fault("consumer_groups")
    if failed is not None:
        return failed
    rows = [m for k, m in ctx.state.subs.items() if k[0] == group]
    if rows:
        ts = parse_ts(text)
        if ts is None:
            raise _tz_error(text, "queen.update_subscription_timestamp_v1(text,text)")
        for m in rows:
            m.ts_us = ts
    return ctx.reply({"consumerGroup": group, "newTimestamp": text, "rowsUpdated": len(rows),
                      "success": True})


def handle_seek(ctx: Context, req: Request, group: str, queue: str) -> Response:
    body = parse_body(req.body)
    to_end = get(body, "toEnd") is True
    text = get(body, "timestamp")
    if not to_end and text is None:
        raise BadRequest("Must specify either 'toEnd': true or 'timestamp'")
    ts: Optional[int] = None
    if not to_end:
        if not isinstance(text, str):
            raise type_error("string", text)
        ts = parse_ts(text)
        if ts is None:
            raise _tz_error(text, "queen.seek_consumer_group_v1(text,text,boolean,text)")
    failed = ctx.fault("consumer_groups")
    if failed is not None:
        return failed
    q = ctx.state.queues.get(queue)
    moved = 0
    for p in (q.partitions.values() if q is not None else ()):
        c = p.consumers.get(group)
        if c is None:
            continue
        if to_end:
            c.cursor = p.msgs[-1].key if p.msgs else None
        else:
            assert ts is not None
            at = p.first_at_or_after(ts + 1)
            c.cursor = p.keys[at - 1] if at else None
        c.release()
        moved += 1
    if q is not None:
        ctx.notify(q.name)
    return ctx.reply({
        "consumerGroup": group, "partitionsUpdated": moved, "queueName": queue,
        "seekToEnd": to_end, "success": True,
        "targetTimestamp": None if ts is None else fmt_ms(ts),
    })


def handle_partition_seek(ctx: Context, req: Request, group: str, queue: str,
                          partition: str) -> Response:
    failed = ctx.fault("consumer_groups")
    if failed is not None:
        return failed
    q = ctx.state.queues.get(queue)
    p = q.partitions.get(partition) if q is not None else None
    if p is None:
        return ctx.reply({"error": "Partition not found", "success": False}, 404)
    newest = p.newest()
    c = p.consumers.get(group)
    updated = c is not None and newest is not None
    if c is not None and newest is not None:
        c.cursor = newest.key
        c.release()
    return ctx.reply({
        "consumerGroup": group,
        "cursorMovedTo": fmt_ms(newest.created_us) if newest is not None else None,
        "partitionName": partition, "queueName": queue, "success": True, "updated": updated,
    })


def handle_stats_refresh(ctx: Context, req: Request) -> Response:
    state = ctx.state
    parts = sum(len(q.partitions) for q in state.queues.values())
    return ctx.reply({
        "cleanup": {"orphanedDeleted": 0},
        "namespace": {"namespacesUpdated": len({q.namespace for q in state.queues.values()})},
        "partition": {"dirtyPartitionsScanned": parts, "newPartitions": 0,
                      "partitionsSkippedByWatermark": 0, "partitionsUpdated": parts},
        "queue": {"queuesUpdated": len(state.queues)},
        "system": {"systemUpdated": 1},
        "task": {"tasksUpdated": len({q.task for q in state.queues.values() if q.task})},
    })
