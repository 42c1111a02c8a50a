"""``GET /api/v1/resources/...``: queues, one queue, namespaces, tasks, overview (§2.8).

Counters are computed live (see :mod:`._stats`) instead of lagging behind a statistics job.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .._wire import Request, Response
from ._context import Context
from ._state import Queue
from ._stats import partition_stats, sum_stats
from ._timefmt import fmt_ms

__all__ = [
    "handle_namespaces", "handle_overview", "handle_queue", "handle_queues", "handle_tasks",
    "message_counts", "queue_row", "queue_totals",
]


def queue_totals(ctx: Context, q: Queue) -> Dict[str, int]:
    now = ctx.clock.now()
    return sum_stats([partition_stats(ctx.state, p, now) for p in q.partitions.values()])


def message_counts(stats: Dict[str, int]) -> Dict[str, int]:
    """The ``messages`` object of a queue or partition: three of its counters."""
    return {"pending": stats["pending"], "processing": stats["processing"],
            "total": stats["total"]}


def queue_row(ctx: Context, q: Queue) -> Dict[str, Any]:
    """One queue of a listing; ``/resources/queues`` and ``/status/queues`` share the shape."""
    return {
        "createdAt": fmt_ms(q.created_us), "id": q.id, "name": q.name,
        "namespace": q.namespace, "partitions": len(q.partitions), "task": q.task,
        "messages": message_counts(queue_totals(ctx, q)),
    }


def handle_queues(ctx: Context, req: Request) -> Response:
    failed = ctx.fault("resources")
    if failed is not None:
        return failed
    queues = sorted(ctx.state.queues.values(), key=lambda q: q.created_us, reverse=True)
    return ctx.reply({"queues": [queue_row(ctx, q) for q in queues]})


def handle_queue(ctx: Context, req: Request, name: str) -> Response:
    failed = ctx.fault("resources")
    if failed is not None:
        return failed
    q = ctx.state.queues.get(name)
    if q is None:
        return ctx.reply({"error": "Queue not found"}, 404)
    now = ctx.clock.now()
    parts = []
    stats = []
    for p in q.partitions.values():
        s = partition_stats(ctx.state, p, now)
        stats.append(s)
        parts.append({
            "createdAt": fmt_ms(p.created_us), "id": p.id, "name": p.name,
            "newestMessage": fmt_ms(p.msgs[-1].created_us) if p.msgs else None,
            "oldestMessage": fmt_ms(p.msgs[0].created_us) if p.msgs else None,
            "stats": s,
        })
    return ctx.reply({
        "createdAt": fmt_ms(q.created_us), "id": q.id, "name": q.name,
        "namespace": q.namespace, "partitions": parts, "task": q.task,
        "totals": sum_stats(stats),
    })


def _grouped(ctx: Context, attr: str) -> List[Dict[str, Any]]:
    groups: Dict[str, Dict[str, Any]] = {}
    for q in ctx.state.queues.values():
        key = getattr(q, attr)
        if not key:
            continue  # queues with an empty task/namespace are not listed (§2.8)
        g = groups.setdefault(key, {attr: key, "queues": 0, "partitions": 0,
                                    "messages": {"pending": 0, "total": 0}})
        t = queue_totals(ctx, q)
        g["queues"] += 1
        g["partitions"] += len(q.partitions)
        g["messages"]["pending"] += t["pending"]
        g["messages"]["total"] += t["total"]
    return sorted(groups.values(), key=lambda g: g[attr])


def handle_namespaces(ctx: Context, req: Request) -> Response:
    return ctx.reply({"namespaces": _grouped(ctx, "namespace")})


def handle_tasks(ctx: Context, req: Request) -> Response:
    return ctx.reply({"tasks": _grouped(ctx, "task")})


def handle_overview(ctx: Context, req: Request) -> Response:
    state = ctx.state
    totals = sum_stats([queue_totals(ctx, q) for q in state.queues.values()])
    elapsed = max((ctx.clock.now_us() - state.started_us) / 1_000_000, 1.0)
    window = min(elapsed, 300.0)
    zero = {"avg": 0, "max": 0, "median": 0, "min": 0}
    return ctx.reply({
        "lag": {"offset": dict(zero), "time": dict(zero)},
        "messages": totals,
        "namespaces": len({q.namespace for q in state.queues.values() if q.namespace}),
        "partitions": sum(len(q.partitions) for q in state.queues.values()),
        "queues": len(state.queues),
        "statsAge": 0,
        "tasks": len({q.task for q in state.queues.values() if q.task}),
        "throughput": {
            "ingestedPerSecond": round(state.pushed / window, 2) if state.pushed else 0,
            "processedPerSecond": round(state.acked / window, 2) if state.acked else 0,
        },
        "timestamp": fmt_ms(ctx.clock.now_us()),
    })
