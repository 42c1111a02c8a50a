"""``POST /api/v1/ack`` and ``POST /api/v1/ack/batch`` (spec §2.3, §2.4, §3.8, §6.4).

Acks are cursor operations on (partition, consumer group). ``completed`` moves the cursor to
the message (even backwards) and releases the lease once as many acks as delivered messages
arrived; ``failed`` with budget left releases the lease and bumps the retry counter at most
once per lease; an exhausted ``failed`` or ``dlq`` dead-letters the message, moves the cursor
and reports ``leaseReleased: false`` even when it ended the lease; ``retry`` releases the
lease only. A batch is applied in (partition, group, message) order and answered in request
order. An empty batch never gets an answer.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

from .._wire import Request, Response
from ._context import Context
from ._ids import is_uuid
from ._jsonio import BadRequest, DbFailure, get, parse_body, type_error
from ._state import QUEUE_MODE, Consumer, Message, Partition

__all__ = ["AckOutcome", "apply_ack", "handle_ack", "handle_ack_batch", "uuid_error"]

_MISSING: Any = object()


def uuid_error(value: str, context: str) -> DbFailure:
    """The SQL error body of a non-UUID id (§1.4)."""
    return DbFailure.sql(
        f'ERROR:  invalid input syntax for type uuid: "{value}"\nCONTEXT:  {context}\n'
    )


_ACK_CONTEXT = "PL/pgSQL function queen.ack_messages_v2(jsonb) line 14 at FOR over SELECT rows"


class AckOutcome:
    """What one acknowledgment did."""

    __slots__ = ("dlq", "error", "lease_released", "msg", "partition", "success")

    def __init__(self) -> None:
        self.success = False
        self.error: Optional[str] = None
        self.dlq = False
        self.lease_released: Optional[bool] = False
        self.partition: Optional[Partition] = None
        self.msg: Optional[Message] = None


def apply_ack(
    ctx: Context, partition_id: str, tx: str, status: str, group: str,
    lease_id: Optional[str], error_text: str, *, tx_mode: bool = False,
    lease_ok: Optional[bool] = None,
) -> AckOutcome:
    """Apply one acknowledgment (§6.4); ``tx_mode`` applies the transaction rules (§2.5).

    ``lease_ok`` carries a lease check made before the call started: a batch validates
    every lease token against the state at the start of the call, so a whole-batch nack or
    ``[completed, failed, completed]`` is applied in full even though its first release
    ended the lease (§3.8, verified).

    As in the broker's ack procedure, the message is looked up first (a missing one is
    ``Message not found`` whatever else the ack says), and ``leaseReleased`` of a
    ``completed`` ack says whether the partition is unleased once the ack is applied: also
    ``true`` when an earlier ack of the batch already released it, ``null`` when the group
    has no cursor row to update.
    """
    state = ctx.state
    now = ctx.clock.now()
    now_us = state.stamp(now)
    out = AckOutcome()
    p = state.partitions.get(partition_id)
    out.partition = p
    msg = p.by_tx.get(tx) if p is not None else None
    if p is None or msg is None:
        out.error = "Message not found"
        return out
    out.msg = msg
    c = p.consumers.get(group)
    if lease_ok is None:
        lease_ok = lease_valid(c, lease_id, now)
    if not lease_ok:
        out.error = "Invalid or expired lease"
        return out
    q = p.queue
    if status in ("completed", "success"):
        out.success = True
        if c is None and not tx_mode:
            out.lease_released = None  # the cursor update finds no row: nothing is stored
            return out
        c = state.consumer(p, group, now_us)  # a transaction creates the missing row
        state.touch(c)
        c.cursor = msg.key
        c.acked += 1
        c.total_consumed += 1
        c.last_consumed_us = now_us
        state.acked += 1
        if c.batch_size > 0 and c.acked >= c.batch_size:
            c.release()
            c.retry = 0
        out.lease_released = c.token is None
        ctx.notify(q.name)
        return out
    if status in ("failed", "dlq"):
        # Outside a transaction a group without a cursor row has no retry budget to read,
        # so its nack dead-letters at once (the procedure compares NULLs).
        if (status == "failed" and not tx_mode and c is not None
                and c.retry < (q.options.get("retryLimit") or 0)):
            state.touch(c)
            if c.token is not None:
                c.release()
                c.retry += 1
            out.success = True
            out.lease_released = True
            ctx.notify(q.name)
            return out
        if c is None and tx_mode:
            c = state.consumer(p, group, now_us)
        state.dead_letter(msg, group, error_text, c.retry if c is not None else 0, now_us)
        if c is not None:
            state.touch(c)
            c.cursor = msg.key
            c.last_consumed_us = now_us
            c.acked += 1
            if tx_mode or (c.batch_size > 0 and c.acked >= c.batch_size):
                c.release()
        out.dlq = True
        out.success = True
        ctx.notify(q.name)
        return out
    if status == "retry" and not tx_mode:
        if c is not None:
            state.touch(c)
            c.release()
        out.success = True
        out.lease_released = True
        ctx.notify(q.name)
        return out
    return out  # unknown status: success false, error null (§3.8)


def lease_valid(c: Optional[Consumer], lease_id: Optional[str], now: float) -> bool:
    """No token given, or the token is the row's current unexpired lease."""
    if not lease_id:
        return True
    return c is not None and c.token == lease_id and c.lease_active(now)


def _entry(index: int, tx: str, o: AckOutcome) -> Dict[str, Any]:
    p = o.partition
    return {
        "dlq": o.dlq, "error": o.error, "index": index, "leaseReleased": o.lease_released,
        "partitionName": p.name if p is not None else None,
        "queueName": p.queue.name if p is not None else None,
        "success": o.success, "transactionId": tx,
    }


def _fields(item: Dict[str, Any], error_default: str) -> Tuple[str, Optional[str], str]:
    status = item.get("status", "completed")
    if not isinstance(status, str):
        raise type_error("string", status)
    lease = item.get("leaseId")
    err = item.get("error")
    return status, lease if isinstance(lease, str) else None, (
        err if isinstance(err, str) else error_default
    )


def handle_ack(ctx: Context, req: Request) -> Response:
    body = parse_body(req.body)
    tx = get(body, "transactionId")
    if not isinstance(tx, str):
        raise BadRequest("transactionId is required")
    pid = get(body, "partitionId")
    if not isinstance(pid, str):
        raise BadRequest("partitionId is required to ensure message uniqueness")
    status, lease, err = _fields(body, "")
    group = get(body, "consumerGroup")
    group = group if isinstance(group, str) else QUEUE_MODE
    fault = ctx.faults.take("ack")
    if fault is not None:
        return ctx.reply({"error": fault, "success": False}, 500)
    if not is_uuid(pid):
        raise uuid_error(pid, _ACK_CONTEXT)
    o = apply_ack(ctx, pid, tx, status, group, lease, err)
    return ctx.reply([_entry(0, tx, o)])


async def handle_ack_batch(ctx: Context, req: Request) -> Response:
    body = parse_body(req.body)
    acks = get(body, "acknowledgments")
    if not isinstance(acks, list):
        raise BadRequest("acknowledgments array is required")
    for a in acks:
        if not isinstance(get(a, "transactionId"), str):
            raise BadRequest("Each acknowledgment must have a valid transactionId string")
        if not isinstance(get(a, "partitionId"), str):
            raise BadRequest(
                "Each acknowledgment must have a valid partitionId string to ensure message "
                "uniqueness"
            )
    if not acks:
        # §2.4 / Q6: the merged batch produces no result for it; the callback is dropped.
        await asyncio.get_running_loop().create_future()
    group = get(body, "consumerGroup")
    group = group if isinstance(group, str) else QUEUE_MODE
    fields = [_fields(a, "Retries exhausted") for a in acks]
    fault = ctx.faults.take("ack")
    if fault is not None:
        return ctx.reply({"error": fault, "success": False}, 500)
    for a in acks:
        if not is_uuid(a["partitionId"]):
            raise uuid_error(a["partitionId"], _ACK_CONTEXT)
    state = ctx.state

    def order(i: int) -> Tuple[str, Tuple[int, str]]:
        pid, tx = acks[i]["partitionId"], acks[i]["transactionId"]
        p = state.partitions.get(pid)
        m = p.by_tx.get(tx) if p is not None else None
        return pid, (m.key if m is not None else (-1, ""))

    now = ctx.clock.now()
    valid = []
    for i in range(len(acks)):
        p = state.partitions.get(acks[i]["partitionId"])
        valid.append(lease_valid(p.consumers.get(group) if p else None, fields[i][1], now))
    results: List[Optional[Dict[str, Any]]] = [None] * len(acks)
    for i in sorted(range(len(acks)), key=order):
        status, lease, err = fields[i]
        tx = acks[i]["transactionId"]
        o = apply_ack(ctx, acks[i]["partitionId"], tx, status, group, lease, err,
                      lease_ok=valid[i])
        results[i] = _entry(i, tx, o)
    return ctx.reply(results)
