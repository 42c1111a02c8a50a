"""Streams v1: register a query, commit a cycle, read state (spec §2.16, §3.17, Q36).

A cycle applies state ops, sink pushes and the source ack atomically: any failure rolls all
of them back and answers ``success: false`` with the counts of the rolled-back work. Sink
duplicates are reported, not fatal. A ``completed`` ack moves the cursor and clears the
lease only with ``release_lease``; ``failed``/``dlq`` dead-letters at once and reports
``count: 0, lease_released: false`` although the lease is cleared. Integer fields
(``ack.count``, ``ripe_at_or_before``, stored ``windowEnd`` values when filtered) must be
integral JSON numbers.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .._wire import Request, Response
from ._context import Context
from ._ids import is_uuid, uuid4
from ._jsonio import BadRequest, DbFailure, dumps, get, parse_body
from ._push import Item, sql_check, store
from ._state import QUEUE_MODE, Journal
from ._timefmt import fmt_pg

__all__ = ["StreamsState", "handle_cycle", "handle_register", "handle_state_get"]

Row = Tuple[Any, int]  # (value, updated_us)


class _Query:
    __slots__ = ("config_hash", "id", "name", "sink", "source")

    def __init__(self, name: str, source: str, sink: str, config_hash: str) -> None:
        self.id = uuid4()
        self.name = name
        self.source = source
        self.sink = sink
        self.config_hash = config_hash


class StreamsState:
    """Registered queries and their state shards keyed by (query id, partition id)."""

    def __init__(self) -> None:
        self.by_name: Dict[str, _Query] = {}
        self.shards: Dict[Tuple[str, str], Dict[str, Row]] = {}

    def wipe(self, query_id: str) -> None:
        for key in [k for k in self.shards if k[0] == query_id]:
            del self.shards[key]


def _streams(ctx: Context) -> StreamsState:
    if ctx.state.streams is None:
        ctx.state.streams = StreamsState()
    s: StreamsState = ctx.state.streams
    return s


def _object(req: Request) -> Dict[str, Any]:
    body = parse_body(req.body)
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def _required(body: Dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key} is required")
    return value


def _shard_ids(body: Dict[str, Any]) -> Tuple[str, str]:
    # Unlike _required, an empty id passes here: it fails the uuid check later, with the
    # broker's own error in the reply.
    qid = body.get("query_id")
    if not isinstance(qid, str):
        raise BadRequest("query_id is required")
    pid = body.get("partition_id")
    if not isinstance(pid, str):
        raise BadRequest("partition_id is required")
    return qid, pid


def handle_register(ctx: Context, req: Request) -> Response:
    body = _object(req)
    name = _required(body, "name")
    source = _required(body, "source_queue")
    config_hash = _required(body, "config_hash")
    sink = body.get("sink_queue")
    sink = sink if isinstance(sink, str) else ""
    reset = body.get("reset") is True
    failed = ctx.fault("streams")
    if failed is not None:
        return failed
    st = _streams(ctx)
    q = st.by_name.get(name)
    if q is None:
        q = _Query(name, source, sink, config_hash)
        st.by_name[name] = q
        return ctx.reply({"config_hash": config_hash, "fresh": True, "name": name,
                          "query_id": q.id, "reset": False, "success": True})
    did_reset = False
    if q.config_hash != config_hash:
        if not reset:
            return ctx.reply({
                "error": f"config_hash mismatch: operator chain changed for queryId '{name}'. "
                         "Pass reset:true to wipe existing state, or use a new queryId.",
                "name": name, "query_id": q.id, "success": False,
            }, 409)
        st.wipe(q.id)
        q.config_hash = config_hash
        did_reset = True
    q.source, q.sink = source, sink
    return ctx.reply({"config_hash": config_hash, "fresh": False, "name": name,
                      "query_id": q.id, "reset": did_reset, "success": True})


class _CycleError(Exception):
    pass


def _int_field(value: Any, kind: str = "integer") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        text = value if isinstance(value, str) else dumps(value).decode()
        raise _CycleError(f'invalid input syntax for type {kind}: "{text}"')
    return value


def _cycle_ack(ctx: Context, pid: str, group: str, ack: Any,
               release: bool) -> Dict[str, Any]:
    state = ctx.state
    tx = get(ack, "transactionId")
    if not isinstance(tx, str):
        raise _CycleError("ack.transactionId is required")
    status = get(ack, "status", "completed")
    count = _int_field(get(ack, "count", 1))
    if status not in ("completed", "success", "failed", "dlq"):
        raise _CycleError(f"Unknown ack.status: {status}")
    p = state.partitions.get(pid)
    msg = p.by_tx.get(tx) if p is not None else None
    if p is None or msg is None:
        raise _CycleError("Message not found")
    now = ctx.clock.now()
    now_us = state.stamp(now)
    c = p.consumers.get(group)
    lease = get(ack, "leaseId")
    if isinstance(lease, str) and lease and (c is None or c.token != lease
                                             or not c.lease_active(now)):
        raise _CycleError("Invalid or expired lease")
    c = state.consumer(p, group, now_us)
    state.touch(c)
    c.cursor = msg.key
    c.last_consumed_us = now_us
    if status in ("completed", "success"):
        c.total_consumed += count
        if release:
            c.release()
        ctx.notify(p.queue.name)
        return {"count": count, "dlq": False, "lease_released": release, "success": True}
    err = get(ack, "error")
    state.dead_letter(msg, group, err if isinstance(err, str) else
                      "Streaming cycle reported failure", c.retry, now_us)
    c.release()
    ctx.notify(p.queue.name)
    return {"count": 0, "dlq": True, "lease_released": False, "success": True}


def handle_cycle(ctx: Context, req: Request) -> Response:
    body = _object(req)
    qid, pid = _shard_ids(body)
    failed = ctx.fault("streams")
    if failed is not None:
        return failed
    state = ctx.state
    src = state.partitions.get(pid)
    out: Dict[str, Any] = {
        "ack_result": None, "partition_id": pid, "push_results": [], "query_id": qid,
        "queueName": src.queue.name if src is not None else None, "state_ops_applied": 0,
        "success": True,
    }
    for key, value in (("query_id", qid), ("partition_id", pid)):
        if not is_uuid(value):
            out[key] = ""
            out["success"] = False
            out["error"] = f'invalid input syntax for type uuid: "{value}"'
            return ctx.reply(out)
    group = body.get("consumer_group")
    group = group if isinstance(group, str) else QUEUE_MODE
    release = body.get("release_lease", True) is not False
    shards = _streams(ctx).shards
    shard_key = (qid, pid)
    before = dict(shards.get(shard_key, {}))
    journal = Journal()
    state.journal = journal
    try:
        shard = shards.setdefault(shard_key, {})
        for op in body.get("state_ops") or []:
            kind = get(op, "type")
            key = get(op, "key")
            if kind == "upsert":
                shard[str(key)] = (get(op, "value", {}), state.stamp(ctx.clock.now()))
            elif kind == "delete":
                shard.pop(str(key), None)
            else:
                raise _CycleError(f"Unknown state_op type: {kind}")
            out["state_ops_applied"] += 1
        items = _sink_items(body.get("push_items") or [])
        if items:
            err = sql_check(items)
            if err is not None:
                raise _CycleError(err)
            out["push_results"] = store(ctx, items)
        ack = body.get("ack")
        if ack is not None:
            out["ack_result"] = _cycle_ack(ctx, pid, group, ack, release)
    except _CycleError as exc:
        journal.rollback()
        shards[shard_key] = before
        out["success"] = False
        out["error"] = str(exc)
        out["ack_result"] = None
    finally:
        state.journal = None
    return ctx.reply(out)


def _sink_items(raw: Any) -> List[Item]:
    items = []
    for it in raw if isinstance(raw, list) else []:
        queue = get(it, "queue")
        if not isinstance(queue, str):
            raise _CycleError(
                'null value in column "name" of relation "queues" violates not-null constraint'
            )
        part = get(it, "partition")
        tx = get(it, "transactionId")
        trace = get(it, "traceId")
        items.append(Item(queue, part if isinstance(part, str) else "Default",
                          get(it, "payload"), tx if isinstance(tx, str) else None,
                          trace if isinstance(trace, str) and trace else None))
    return items


def _state_error(message: str) -> Dict[str, Any]:
    return {"error": message, "success": False}


def handle_state_get(ctx: Context, req: Request) -> Response:
    body = _object(req)
    qid, pid = _shard_ids(body)
    failed = ctx.fault("streams")
    if failed is not None:
        return failed
    for value in (qid, pid):
        if not is_uuid(value):
            return ctx.reply(_state_error(f'invalid input syntax for type uuid: "{value}"'), 400)
    keys = body.get("keys")
    wanted = set(k for k in keys if isinstance(k, str)) if isinstance(keys, list) and keys \
        else None
    prefix = body.get("key_prefix")
    ripe: Optional[int] = None
    try:
        if body.get("ripe_at_or_before") is not None:
            ripe = _int_field(body["ripe_at_or_before"], "bigint")
        shard = _streams(ctx).shards.get((qid, pid), {})
        rows = []
        for key in sorted(shard):
            value, updated = shard[key]
            if wanted is not None and key not in wanted:
                continue
            if isinstance(prefix, str) and prefix and not key.startswith(prefix):
                continue
            if ripe is not None:
                end = get(value, "windowEnd")
                if isinstance(end, bool) or not isinstance(end, (int, float)):
                    continue
                if _int_field(end, "bigint") > ripe:
                    continue
            rows.append({"key": key, "updated_at": fmt_pg(updated), "value": value})
    except _CycleError as exc:
        raise DbFailure(_state_error(str(exc))) from None
    return ctx.reply({"rows": rows, "success": True})
