"""Traces: record, read by message, by name, list names (spec §2.11, §3.14, Q30).

Both reads list traces oldest first (the order they were recorded), each with its names
sorted and without repeats. The by-name read has the LIMIT/OFFSET-after-aggregation bug:
every trace when ``offset`` is 0, ``"traces": null`` otherwise; the names list paginates
properly. ``worker_id`` is the number of the listener that recorded the trace, as a string.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .._wire import Request, Response
from ._context import Context
from ._ids import is_uuid
from ._jsonio import BadRequest, DbFailure, parse_body, type_error
from ._query import get_int, percent_decode
from ._state import QUEUE_MODE, Trace
from ._timefmt import fmt_ms

__all__ = ["handle_trace_names", "handle_trace_post", "handle_traces_by_message",
           "handle_traces_by_name"]


def handle_trace_post(ctx: Context, req: Request, node: int) -> Response:
    body = parse_body(req.body)
    if not isinstance(body, dict) or "transactionId" not in body or "partitionId" not in body:
        raise BadRequest("transactionId and partitionId are required")
    if "data" not in body:
        raise BadRequest("data is required")
    tx, pid = body["transactionId"], body["partitionId"]
    for v in (tx, pid):
        if not isinstance(v, str):
            raise type_error("string", v)
    group = body.get("consumerGroup", QUEUE_MODE)
    if not isinstance(group, str):
        raise type_error("string", group)
    event = body.get("eventType", "info")
    if not isinstance(event, str):
        raise type_error("string", event)
    raw_names = body.get("traceNames")
    if raw_names is None:
        names: List[str] = []
    elif isinstance(raw_names, str):
        names = [raw_names]
    elif isinstance(raw_names, list):
        names = [n for n in raw_names if isinstance(n, str)]
    else:
        names = []
    failed = ctx.fault("traces")
    if failed is not None:
        return failed
    if not is_uuid(pid):
        raise DbFailure.bad_uuid_parameter(pid)
    p = ctx.state.partitions.get(pid)
    msg = p.by_tx.get(tx) if p is not None else None
    if msg is None:
        return ctx.reply({"error": "Message not found", "success": False}, 500)
    t = Trace(msg, group, event, body["data"], sorted(set(names)), str(node), ctx.stamp())
    ctx.state.traces.append(t)
    return ctx.reply({"success": True, "traceId": t.id})


def handle_traces_by_message(ctx: Context, req: Request, pid: str, tx: str) -> Response:
    failed = ctx.fault("traces")
    if failed is not None:
        return failed
    if not is_uuid(pid):
        raise DbFailure.bad_uuid_parameter(pid)
    rows = [{
        "consumer_group": t.group, "created_at": fmt_ms(t.created_us), "data": t.data,
        "event_type": t.event_type, "id": t.id, "trace_names": t.names, "worker_id": t.worker,
    } for t in ctx.state.traces
        if t.message.partition.id == pid and t.message.tx == tx]
    return ctx.reply({"traces": rows})


def handle_traces_by_name(ctx: Context, req: Request, raw_name: str) -> Response:
    name = percent_decode(raw_name)
    limit = get_int(req.query, "limit", 100)
    offset = get_int(req.query, "offset", 0)
    failed = ctx.fault("traces")
    if failed is not None:
        return failed
    matches = [t for t in ctx.state.traces if name in t.names]
    rows: Any = None
    if offset < 1:
        rows = []
        for t in matches:
            m = t.message
            rows.append({
                "consumer_group": t.group, "created_at": fmt_ms(t.created_us), "data": t.data,
                "event_type": t.event_type, "id": t.id, "message_payload": m.data,
                "partition_id": m.partition.id, "partition_name": m.partition.name,
                "queue_name": m.partition.queue.name, "trace_names": t.names,
                "transaction_id": m.tx, "worker_id": t.worker,
            })
    return ctx.reply({"pagination": {"limit": limit, "offset": offset}, "total": len(matches),
                      "traces": rows})


def handle_trace_names(ctx: Context, req: Request) -> Response:
    limit = get_int(req.query, "limit", 50)
    offset = get_int(req.query, "offset", 0)
    failed = ctx.fault("traces")
    if failed is not None:
        return failed
    agg: Dict[str, Dict[str, Any]] = {}
    for t in ctx.state.traces:
        for n in t.names:
            e = agg.setdefault(n, {"trace_name": n, "trace_count": 0, "_msgs": set(),
                                   "_last": 0})
            e["trace_count"] += 1
            e["_msgs"].add(id(t.message))
            e["_last"] = max(e["_last"], t.created_us)
    rows = sorted(agg.values(), key=lambda e: (-e["_last"], e["trace_name"]))
    page = rows[max(offset, 0):][:max(limit, 0)]
    out = [{"last_seen": fmt_ms(e["_last"]), "message_count": len(e["_msgs"]),
            "trace_count": e["trace_count"], "trace_name": e["trace_name"]} for e in page]
    return ctx.reply({"pagination": {"limit": limit, "offset": offset}, "total": len(rows),
                      "trace_names": out})
