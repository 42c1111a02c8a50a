"""``POST /api/v1/push`` and the message-storing core shared with transactions and streams.

Spec §2.1, §3.9, §6.2: items are validated in order and the first invalid one aborts the whole
request with nothing stored; an empty ``items`` array is an immediate 201 ``[]``; queues and
partitions are created on first use; all items of one call share one ``created_at`` and get
strictly increasing UUIDv7 ids; a repeated (partition, transactionId) — stored earlier or
earlier in the same request — is reported as ``duplicate`` with the stored id.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

from .._wire import Request, Response
from ._context import Context
from ._ids import is_uuid, uuid4
from ._jsonio import BadRequest, DbFailure, get, parse_body
from ._responses import immediate
from ._state import Message, State

__all__ = ["NUL_ERROR", "Item", "handle_push", "holds_nul", "replay_buffer", "sql_check", "store"]

_MISSING: Any = object()
TOO_LONG = "value too long for type character varying(255)"
# PostgreSQL's text and jsonb cannot hold U+0000: the statement fails before it runs.
NUL_ERROR = (
    "ERROR:  unsupported Unicode escape sequence\nDETAIL:  \\u0000 cannot be converted to "
    "text.\nCONTEXT:  JSON data, line 1: ...\nunnamed portal parameter $1 = '...'\n"
)


def holds_nul(value: Any) -> bool:
    """Whether a decoded JSON value has a NUL character in any string or key."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return True
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return False


class Item(NamedTuple):
    queue: str
    partition: str
    payload: Any
    tx: Optional[str]  # None or "" → generated
    trace: Optional[str]  # None or "" → no trace id


def _validate(raw: Any) -> Item:
    if not isinstance(raw, dict):
        raise BadRequest("Queue must be a string")
    queue = raw.get("queue", _MISSING)
    if not isinstance(queue, str):
        raise BadRequest("Queue must be a string")
    partition = raw.get("partition", "Default")
    if not isinstance(partition, str):
        raise BadRequest("Partition must be a string")
    tx = raw.get("transactionId", _MISSING)
    if tx is not _MISSING and not isinstance(tx, str):
        raise BadRequest("TransactionId must be a string")
    trace = raw.get("traceId", _MISSING)
    if trace is not _MISSING and not isinstance(trace, str):
        raise BadRequest("TraceId must be a string")
    return Item(
        queue,
        partition,
        raw.get("payload"),
        tx if isinstance(tx, str) else None,
        trace if isinstance(trace, str) else None,
    )


def sql_check(items: List[Item]) -> Optional[str]:
    """The PostgreSQL error the insert would raise for these items, if any (§1.2, Q11, Q12).

    A NUL character anywhere in an item fails the call too (observed on the 0.15 broker: the
    push is answered ``buffered`` and retried from the disk buffer forever).
    """
    for it in items:
        if holds_nul([it.queue, it.partition, it.tx or "", it.trace or "", it.payload]):
            return NUL_ERROR
        if len(it.queue) > 255 or len(it.partition) > 255 or (it.tx and len(it.tx) > 255):
            return TOO_LONG
        if it.trace and not is_uuid(it.trace):
            return f'invalid input syntax for type uuid: "{it.trace}"'
    return None


def store(
    ctx: Context, items: List[Item], *, strict: bool = False, v4_ids: Optional[List[bool]] = None
) -> List[Dict[str, Any]]:
    """Store items in one database call; return the ``/push`` result entries.

    With ``strict`` (transactions) a duplicate raises :class:`DbFailure` with the unique
    constraint error instead of being reported (§2.5). ``v4_ids[i]`` gives item ``i`` a random
    version-4 id (single-form transactional pushes, §2.5).
    """
    state: State = ctx.state
    now = ctx.clock.now()
    now_us = state.stamp(now)
    out: List[Dict[str, Any]] = []
    next_id = state.ids.next
    fast = state.journal is None
    last: Any = None
    q = p = None
    for i, it in enumerate(items):
        if (it.queue, it.partition) != last:
            q = state.queue(it.queue, now_us)
            p = state.partition(q, it.partition, now_us)
            last = (it.queue, it.partition)
        assert q is not None and p is not None
        tx = it.tx or uuid4()
        dup = p.by_tx.get(tx)
        if dup is not None:
            if strict:
                raise DbFailure.sql(
                    'duplicate key value violates unique constraint '
                    '"messages_partition_transaction_unique"'
                )
            out.append({
                "index": i, "message_id": dup.id, "queueName": q.name, "status": "duplicate",
                "transaction_id": tx,
            })
            continue
        mid = uuid4() if v4_ids and v4_ids[i] else next_id(now)
        trace = it.trace or None
        msg = Message(mid, tx, it.payload, trace, now_us, p)
        if fast and (not p.keys or msg.key > p.keys[-1]):
            # Hot path of a plain push: append in order, no undo journal to feed.
            p.msgs.append(msg)
            p.keys.append(msg.key)
            p.by_tx[tx] = msg
            p.last_activity_us = now_us
            state.pushed += 1
        else:
            state.add_message(p, msg)
        out.append({
            "index": i, "message_id": mid, "partition_id": p.id, "queueName": q.name,
            "status": "queued", "trace_id": trace, "transaction_id": tx,
        })
    return out


def _buffered(items: List[Item]) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    for it in items:
        entry: Dict[str, Any] = {"partition": it.partition, "queue": it.queue, "status": "buffered"}
        if it.tx:
            entry["transactionId"] = it.tx
        out.append(entry)
    return out


def replay_buffer(ctx: Context) -> None:
    """Drain the disk buffer into the queues, in order (§2.15, §3.15).

    Items the database would keep rejecting (non-UUID ``traceId``, over-long names) are
    dropped here; the real server retries them forever and they never arrive either.
    """
    state = ctx.state
    if not state.buffer:
        return
    pending, state.buffer = state.buffer, []
    good = [it for it in pending if sql_check([it]) is None]
    if good:
        store(ctx, good)
        for name in {it.queue for it in good}:
            ctx.notify(name)


def handle_push(ctx: Context, req: Request) -> Response:
    body = parse_body(req.body)
    raw_items = get(body, "items")
    if not isinstance(raw_items, list):
        raise BadRequest("items array is required")
    if not raw_items:
        return immediate(201, [])
    items = [_validate(raw) for raw in raw_items]
    state = ctx.state
    if state.maintenance:
        state.buffer.extend(items)
        return immediate(201, _buffered(items))
    fault = ctx.faults.take("push")
    if fault is not None or sql_check(items) is not None:
        # Failover: the items go to the disk buffer; the answer has no partition, no ids.
        if fault is not None:
            state.buffer.extend(items)
        return ctx.reply([{"queue": it.queue, "status": "buffered"} for it in items], 201)
    results = store(ctx, items)
    for name in {it.queue for it in items}:
        ctx.notify(name)
    return ctx.reply(results, 201)
