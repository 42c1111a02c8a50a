"""``GET /api/v1/dlq`` (spec §2.10, Q30, Q31).

Filters: ``queue`` and ``consumerGroup`` only (``partition``/``from``/``to`` are ignored).
Newest ``failedAt`` first; ``id`` is the message id; no ``total``. LIMIT/OFFSET are applied
after aggregation in the server: ``limit`` limits nothing and any ``offset`` ≥ 1 answers
``{"success": true, "value": null}``.
"""

from __future__ import annotations

from .._wire import Request, Response
from ._context import Context
from ._jsonio import DbFailure
from ._query import get_int, get_param
from ._timefmt import fmt_ms

__all__ = ["handle_dlq"]


def handle_dlq(ctx: Context, req: Request) -> Response:
    queue = get_param(req.query, "queue")
    group = get_param(req.query, "consumerGroup")
    limit = get_int(req.query, "limit", 100)
    offset = get_int(req.query, "offset", 0)
    fault = ctx.faults.take("dlq")
    if fault is not None:
        return ctx.reply({"error": fault, "success": False}, 500)
    if limit < 0:
        raise DbFailure.sql("LIMIT must not be negative")
    if offset < 0:
        raise DbFailure.sql("OFFSET must not be negative")
    if offset >= 1:
        return ctx.reply({"success": True, "value": None})
    rows = []
    for e in sorted(ctx.state.dlq, key=lambda e: e.failed_us, reverse=True):
        m = e.message
        p = m.partition
        if queue is not None and p.queue.name != queue:
            continue
        if group is not None and e.group != group:
            continue
        rows.append({
            "consumerGroup": e.group, "createdAt": fmt_ms(m.created_us), "data": m.data,
            "errorMessage": e.error, "failedAt": fmt_ms(e.failed_us), "id": m.id,
            "partition": p.name, "partitionId": p.id, "producerSub": m.producer_sub,
            "queue": p.queue.name, "retryCount": e.retry_count, "transactionId": m.tx,
        })
    return ctx.reply({"messages": rows, "pagination": {"limit": limit, "offset": offset}})
