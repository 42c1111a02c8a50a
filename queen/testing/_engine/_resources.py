"""``GET /api/v1/resources/...``: queues, one queue, namespaces, tasks, overview (§2.8).

Counters are the settled values of the broker's statistics rows (see :mod:`._stats`), computed
on request instead of lagging behind the statistics job.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .._wire import Request, Response
from ._context import Context
from ._state import Partition, Queue
from ._stats import PartitionStats, partition_stats, sum_stats
from ._timefmt import fmt_ms

__all__ = [
    "fmt_opt",
    "handle_namespaces",
    "handle_overview",
    "handle_queue",
    "handle_queues",
    "handle_tasks",
    "message_counts",
    "partition_rows",
    "queue_row",
    "queue_totals",
]


def partition_rows(ctx: Context, q: Queue) -> List[Tuple[Partition, PartitionStats]]:
    """Every partition of ``q`` with its counters, in name order (as the broker lists them)."""
    now = ctx.clock.now()
    return [(p, partition_stats(ctx.state, p, now))
            for p in sorted(q.partitions.values(), key=lambda p: p.name)]


def queue_totals(ctx: Context, q: Queue) -> Dict[str, int]:
    return sum_stats([s.counts for _, s in partition_rows(ctx, q)])


def message_counts(stats: Dict[str, int], *, waiting_only: bool = False) -> Dict[str, int]:
    """The ``messages`` object of a queue listing: three of its counters. ``pending``
    includes the leased messages, except in ``/resources/queues`` (``waiting_only``)."""
    pending = stats["pending"]
    if waiting_only:
        pending = max(pending - stats["processing"], 0)
    return {"pending": pending, "processing": stats["processing"], "total": stats["total"]}


def queue_row(ctx: Context, q: Queue, *, waiting_only: bool = False) -> Dict[str, Any]:
    """One queue of a listing; ``/resources/queues`` and ``/status/queues`` share the shape."""
    return {
        "createdAt": fmt_ms(q.created_us), "id": q.id, "name": q.name,
        "namespace": q.namespace, "partitions": len(q.partitions), "task": q.task,
        "messages": message_counts(queue_totals(ctx, q), waiting_only=waiting_only),
    }


def fmt_opt(us: Optional[int]) -> Optional[str]:
    return fmt_ms(us) if us is not None else None


def handle_queues(ctx: Context, req: Request) -> Response:
    failed = ctx.fault("resources")
    if failed is not None:
        return failed
    queues = sorted(ctx.state.queues.values(), key=lambda q: q.created_us, reverse=True)
    return ctx.reply({"queues": [queue_row(ctx, q, waiting_only=True) for q in queues]})


def handle_queue(ctx: Context, req: Request, name: str) -> Response:
    failed = ctx.fault("resources")
    if failed is not None:
        return failed
    q = ctx.state.queues.get(name)
    if q is None:
        return ctx.reply({"error": "Queue not found"}, 404)
    rows = partition_rows(ctx, q)
    parts = [{
        "createdAt": fmt_ms(p.created_us), "id": p.id, "name": p.name,
        "newestMessage": fmt_opt(s.newest_us), "oldestMessage": fmt_opt(s.oldest_us),
        "stats": s.counts,
    } for p, s in rows]
    return ctx.reply({
        "createdAt": fmt_ms(q.created_us), "id": q.id, "name": q.name,
        "namespace": q.namespace, "partitions": parts, "task": q.task,
        "totals": sum_stats([s.counts for _, s in rows]),
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
