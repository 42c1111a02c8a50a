"""Dashboard status and analytics endpoints (spec §2.13).

Only the top-level shapes are modelled ([Fake] note of §2.13): the right keys, counters from
the live state and time series with one bucket per minute of the requested window that carry
zeros except ingestion counts. ``/status/queues/:queue/messages`` keeps the LIMIT/OFFSET bug
(Q30) and answers an empty body for an empty queue. Analytics ``interval`` accepts any
``date_trunc`` unit; an unknown one is the SQL error body.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Tuple

from .._wire import Request, Response
from ._context import Context
from ._query import get_int, get_param
from ._resources import fmt_opt, partition_rows, queue_row, queue_totals
from ._stats import queue_mode_status, sum_stats
from ._timefmt import fmt_ms, fmt_s, parse_ts

__all__ = ["STATUS_ROUTES", "handle_analytics", "handle_queue_messages", "handle_status",
           "handle_status_queue", "handle_status_queues"]

_MIN = 60_000_000
_UNITS = ("microseconds", "milliseconds", "second", "minute", "hour", "day", "week", "month",
          "quarter", "year", "decade", "century", "millennium")


def _window(ctx: Context, req: Request, default_s: int) -> Tuple[int, int]:
    now_us = ctx.clock.now_us()
    f, t = get_param(req.query, "from"), get_param(req.query, "to")
    start = parse_ts(f) if f else None
    end = parse_ts(t) if t else None
    return (start if start is not None else now_us - default_s * 1_000_000,
            end if end is not None else now_us)


def _range(start: int, end: int) -> Dict[str, str]:
    return {"from": fmt_ms(start), "to": fmt_ms(end)}


def _messages_summary(ctx: Context) -> Dict[str, Any]:
    t = sum_stats([queue_totals(ctx, q) for q in ctx.state.queues.values()])
    s = ctx.state
    return {**t, "requests": {"ack": s.acked, "pop": s.popped, "push": s.pushed},
            "batchEfficiency": {"ack": 1.0, "pop": 1.0, "push": 1.0}}


def _queue_row(ctx: Context, name: str) -> Dict[str, Any]:
    q = ctx.state.queues[name]
    consumed = sum(c.total_consumed for p in q.partitions.values()
                   for c in p.consumers.values())
    return {"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
            "partitions": len(q.partitions), "totalConsumed": consumed}


def _filtered(ctx: Context, req: Request) -> List[str]:
    queue = get_param(req.query, "queue")
    ns = get_param(req.query, "namespace")
    task = get_param(req.query, "task")
    return [q.name for q in ctx.state.queues.values()
            if (queue is None or q.name == queue) and (ns is None or q.namespace == ns)
            and (task is None or q.task == task)]


def _buckets(start: int, end: int) -> List[int]:
    first = start // _MIN * _MIN
    count = min(max((end - first) // _MIN + 1, 1), 1440)
    return [first + i * _MIN for i in range(count)]


def _throughput(ctx: Context, start: int, end: int, names: List[str]) -> List[Dict[str, Any]]:
    counts: Dict[int, int] = {}
    for n in names:
        for p in ctx.state.queues[n].partitions.values():
            for m in p.msgs:
                if start <= m.created_us <= end:
                    b = m.created_us // _MIN * _MIN
                    counts[b] = counts.get(b, 0) + 1
    rows = []
    for b in _buckets(start, end):
        k = counts.get(b, 0)
        rows.append({
            "timestamp": fmt_s(b), "ingested": k, "processed": 0, "popMessages": 0,
            "ingestedPerSecond": round(k / 60, 2), "processedPerSecond": 0, "popPerSecond": 0,
            "avgLagMs": 0, "maxLagMs": 0, "avgEventLoopLagMs": 0, "maxEventLoopLagMs": 0,
            "minFreeSlots": 0, "dbErrors": 0, "ackFailed": 0, "dlqCount": 0,
            "queenCpuUserPct": 0, "queenCpuSysPct": 0, "queenRssMb": 0, "dbPoolActive": 0,
            "dbPoolIdle": 10, "dbPoolSize": 10,
        })
    return rows


def handle_status(ctx: Context, req: Request) -> Response:
    failed = ctx.fault("status")
    if failed is not None:
        return failed
    start, end = _window(ctx, req, 3600)
    names = _filtered(ctx, req)
    now = ctx.clock.now()
    leases = [c for q in ctx.state.queues.values() for p in q.partitions.values()
              for c in p.consumers.values() if c.lease_active(now)]
    tp = _throughput(ctx, start, end, names)
    dlq = ctx.state.dlq
    errors: Dict[str, int] = {}
    for e in dlq:
        errors[e.error] = errors.get(e.error, 0) + 1
    return ctx.reply({
        "timeRange": _range(start, end), "bucketMinutes": 1, "pointCount": len(tp),
        "throughput": tp, "queues": [_queue_row(ctx, n) for n in names],
        "messages": _messages_summary(ctx),
        "leases": {"active": len(leases), "partitionsWithLeases": len(leases),
                   "totalBatchSize": sum(c.batch_size for c in leases),
                   "totalAcked": sum(c.acked for c in leases)},
        "deadLetterQueue": {
            "totalMessages": len(dlq),
            "affectedPartitions": len({id(e.message.partition) for e in dlq}),
            "topErrors": [{"error": k, "count": v} for k, v in
                          sorted(errors.items(), key=lambda kv: -kv[1])[:5]],
        },
        "workers": [{"workerId": ctx.node, "hostname": "queen-testing", "dbConnections": 10,
                     "freeSlots": 10, "jobQueueSize": 0, "avgEventLoopLagMs": 0,
                     "maxEventLoopLagMs": 0, "messagesProcessed": ctx.state.acked}],
        "errors": {"dbErrors": 0, "ackFailed": 0, "dlqMessages": len(dlq)},
        "statsAge": 0,
    })


def handle_status_queues(ctx: Context, req: Request) -> Response:
    failed = ctx.fault("status")
    if failed is not None:
        return failed
    limit, offset = get_int(req.query, "limit", 100), get_int(req.query, "offset", 0)
    names = _filtered(ctx, req)
    rows = [queue_row(ctx, ctx.state.queues[n]) for n in names[max(offset, 0):][:max(limit, 0)]]
    return ctx.reply({"queues": rows, "pagination": {"limit": limit, "offset": offset}})


def handle_status_queue(ctx: Context, req: Request, name: str) -> Response:
    failed = ctx.fault("status")
    if failed is not None:
        return failed
    q = ctx.state.queues.get(name)
    if q is None:
        return ctx.reply({"error": "Queue not found"}, 404)
    parts, stats = [], []
    for p, s in partition_rows(ctx, q):
        stats.append(s.counts)
        # The broker joins every stats row of the partition with every cursor row, so the
        # cursor sums are counted once per stats row (one per group).
        rows = max(len(p.consumers), 1)
        last = [c.last_consumed_us for c in p.consumers.values()
                if c.last_consumed_us is not None]
        parts.append({
            "id": p.id, "name": p.name, "createdAt": fmt_ms(p.created_us),
            "messages": s.counts,
            "stats": s.counts,
            "cursor": {
                "totalConsumed": rows * sum(c.total_consumed for c in p.consumers.values()),
                "batchesConsumed": rows * sum(c.batches for c in p.consumers.values())},
            "lastActivity": fmt_opt(max(last) if last else None),
            "oldestMessage": fmt_opt(s.oldest_us),
            "newestMessage": fmt_opt(s.newest_us),
        })
    o = q.options
    t = sum_stats(stats)
    return ctx.reply({
        "queue": {"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
                  "priority": o["priority"], "createdAt": fmt_ms(q.created_us),
                  "config": {"leaseTime": o["leaseTime"], "retryLimit": o["retryLimit"],
                             "retryDelay": o["retryDelay"], "ttl": o["ttl"],
                             "maxQueueSize": o["maxSize"],
                             "deadLetterQueue": o["deadLetterQueue"]}},
        "partitions": parts,
        "totals": {"messages": t, **t},
    })


def handle_queue_messages(ctx: Context, req: Request, name: str) -> Response:
    failed = ctx.fault("status")
    if failed is not None:
        return failed
    if get_int(req.query, "offset", 0) >= 1:
        return ctx.reply({"success": True, "value": None})
    q = ctx.state.queues.get(name)
    if q is None:
        return ctx.reply([])
    now = ctx.clock.now()
    dead = {id(e.message) for e in ctx.state.dlq}
    msgs = sorted((m for p in q.partitions.values() for m in p.msgs),
                  key=lambda m: m.key, reverse=True)
    return ctx.reply([{
        "id": m.id, "transactionId": m.tx, "partitionId": m.partition.id,
        "queuePath": f"{q.name}/{m.partition.name}", "queue": q.name,
        "partition": m.partition.name, "status": queue_mode_status(m, now, dead),
        "createdAt": fmt_ms(m.created_us),
    } for m in msgs])


def _trunc(us: int, unit: str) -> int:
    d = datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc)
    if unit == "minute":
        d = d.replace(second=0, microsecond=0)
    elif unit == "hour":
        d = d.replace(minute=0, second=0, microsecond=0)
    elif unit in ("day", "week"):
        d = d.replace(hour=0, minute=0, second=0, microsecond=0)
        if unit == "week":
            d = datetime.fromtimestamp(d.timestamp() - d.weekday() * 86400, tz=timezone.utc)
    elif unit == "month":
        d = d.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit in ("year", "quarter", "decade", "century", "millennium"):
        d = d.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "second":
        d = d.replace(microsecond=0)
    return int(d.timestamp() * 1_000_000)


_ANALYTICS_SQL = """WITH time_buckets AS (
        SELECT generate_series(
            date_trunc(v_interval, v_from_ts),
            date_trunc(v_interval, v_to_ts),
            v_bucket_width
        ) as bucket
    ),
    message_buckets AS (
        SELECT
            date_trunc(v_interval, m.created_at) as bucket,
            COUNT(*) as message_count
        FROM queen.messages m
        JOIN queen.partitions p ON p.id = m.partition_id
        JOIN queen.queues q ON q.id = p.queue_id
        WHERE m.created_at >= v_from_ts AND m.created_at <= v_to_ts
          AND (v_queue IS NULL OR q.name = v_queue)
          AND (v_namespace IS NULL OR q.namespace = v_namespace)
          AND (v_task IS NULL OR q.task = v_task)
        GROUP BY date_trunc(v_interval, m.created_at)
    )
    SELECT jsonb_build_object(
        'dataPoints', COALESCE((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'timestamp', to_char(tb.bucket, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                    'messages', COALESCE(mb.message_count, 0)
                ) ORDER BY tb.bucket
            )
            FROM time_buckets tb
            LEFT JOIN message_buckets mb ON mb.bucket = tb.bucket
        ), '[]'::jsonb),
        'interval', v_interval,
        'from', to_char(v_from_ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'to', to_char(v_to_ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    )"""

#: Series step per interval; the procedure steps any other unit by one hour.
_STEP_US = {"minute": 60_000_000, "hour": 3_600_000_000, "day": 86_400_000_000}


def handle_analytics(ctx: Context, req: Request) -> Response:
    """Messages created per ``interval`` bucket, every bucket of the window listed (zeros
    included): a series from the truncated ``from`` to the truncated ``to``."""
    interval = get_param(req.query, "interval") or "hour"
    failed = ctx.fault("status")
    if failed is not None:
        return failed
    unit = interval.lower()
    if unit not in _UNITS:
        error = (f'ERROR:  unit "{interval}" not recognized for type timestamp with time zone'
                 f'\nCONTEXT:  SQL statement "{_ANALYTICS_SQL}"\nPL/pgSQL function '
                 "queen.get_analytics_v1(jsonb) line 27 at SQL statement\n")
        return ctx.reply({"error": error, "success": False}, 500)
    start, end = _window(ctx, req, 86400)
    counts: Dict[int, int] = {}
    for n in _filtered(ctx, req):
        for p in ctx.state.queues[n].partitions.values():
            for m in p.msgs:
                if start <= m.created_us <= end:
                    b = _trunc(m.created_us, unit)
                    counts[b] = counts.get(b, 0) + 1
    step = _STEP_US.get(interval, 3_600_000_000)
    bucket, last = _trunc(start, unit), _trunc(end, unit)
    points = []
    while bucket <= last:
        points.append({"messages": counts.get(bucket, 0), "timestamp": fmt_ms(bucket)})
        bucket += step
    return ctx.reply({"dataPoints": points, "interval": interval, "from": fmt_ms(start),
                      "to": fmt_ms(end)})


def _simple(keys: Dict[str, Any]) -> Any:
    def handler(ctx: Context, req: Request) -> Response:
        failed = ctx.fault("status")
        if failed is not None:
            return failed
        start, end = _window(ctx, req, 3600)
        body = {k: (v() if callable(v) else v) for k, v in keys.items()}
        if "timeRange" in body:
            body["timeRange"] = _range(start, end)
        if "timestamp" in body:
            body["timestamp"] = fmt_ms(ctx.clock.now_us())
        return ctx.reply(body)
    return handler


def _queue_lag(ctx: Context, req: Request) -> Response:
    """A JSON list of per-queue, per-minute pop-lag rows, newest minute first.

    The broker writes a row for each minute a queue was active; the engine lists the minutes
    in which a queue was created or received messages. Lag figures are worker samples the
    engine does not take: zero.
    """
    failed = ctx.fault("status")
    if failed is not None:
        return failed
    start, end = _window(ctx, req, 3600)
    queue = get_param(req.query, "queue")
    rows: List[Tuple[int, str]] = []
    for q in ctx.state.queues.values():
        if queue is not None and q.name != queue:
            continue
        minutes = {q.created_us // _MIN * _MIN}
        minutes.update(m.created_us // _MIN * _MIN
                       for p in q.partitions.values() for m in p.msgs)
        rows.extend((b, q.name) for b in minutes if start <= b <= end)
    rows.sort(key=lambda r: (-r[0], r[1]))
    return ctx.reply([{"avgLagMs": 0, "bucketTime": fmt_s(b), "maxLagMs": 0, "popCount": 0,
                       "queueName": name} for b, name in rows])


_ZERO_SUMMARY = {k: 0 for k in (
    "totalPushMessages", "totalPopMessages", "totalAckMessages", "totalPushRequests",
    "totalPopRequests", "totalAckRequests", "totalDbErrors", "totalAckFailed", "totalDlq",
    "pendingMessages")}

#: (path suffix under /api/v1, handler) of the remaining dashboard routes.
STATUS_ROUTES: List[Tuple[str, Any]] = [
    ("/analytics/system-metrics", _simple({
        "replicas": [], "bucketMinutes": 1, "pointCount": 0, "replicaCount": 1,
        "timeRange": None})),
    ("/analytics/worker-metrics", _simple({
        "timeRange": None, "bucketMinutes": 1, "pointCount": 0, "timeSeries": [],
        "workers": [], "queues": [], "summary": _ZERO_SUMMARY})),
    ("/analytics/queue-lag", _queue_lag),
    ("/analytics/queue-ops", _simple({
        "bucketMinutes": 1, "queues": [], "series": [], "timeRange": None})),
    ("/analytics/queue-parked-replicas", _simple({
        "bucketMinutes": 1, "replicas": [], "series": [], "timeRange": None})),
    ("/analytics/retention", _simple({
        "bucketMinutes": 1, "series": [], "timeRange": None,
        "totals": {"completedRetentionMsgs": 0, "eventCount": 0, "evictionMsgs": 0,
                   "retentionMsgs": 0, "totalMsgs": 0}})),
    ("/analytics/postgres-stats", _simple({
        "timestamp": None, "database": "queen",
        "databaseCache": {"cacheHitRatio": 0, "cacheHits": 0, "database": "queen",
                          "diskReads": 0},
        "tableCache": [], "indexCache": [],
        "cacheSummary": {k: {"cacheHits": 0, "diskReads": 0, "hitRatio": 0}
                         for k in ("indexes", "tables")},
        "deadTuples": [], "hotUpdates": [], "activeQueries": [], "autovacuumStatus": [],
        "bufferConfig": {"sharedBuffers": "0", "sharedBuffersSize": "0 MB"},
        "bufferUsage": [], "tableSizes": []})),
]
