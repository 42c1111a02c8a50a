"""``POST /api/v1/transaction``: atomic acks and pushes (spec §2.5, Q22, §6.6).

Operations run in order against the live state with an undo journal; the first failure rolls
everything back and answers ``success: false`` with the results computed so far (the failing
ack included). Rules that differ from ``/push`` and ``/ack``: a duplicate ``transactionId``
aborts with the unique-constraint error, ``failed`` dead-letters at once, ``retry`` and other
statuses abort with ``ACK operation failed: Unknown error``, ``completed`` creates a missing
cursor row, a push item without ``payload`` stores ``{}``, ``requiredLeases`` is ignored and
transactional pushes do not wake parked pops.
"""

from __future__ import annotations

from typing import Any, Dict, List

import orjson

from .._wire import Request, Response
from ._context import Context
from ._ids import is_uuid, uuid4
from ._jsonio import BadRequest, DbFailure, get, parse_body
from ._push import NUL_ERROR, Item, holds_nul, sql_check, store
from ._state import QUEUE_MODE, Journal

__all__ = ["handle_transaction"]

_MISSING: Any = object()


class _Abort(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _item(raw: Any, payload_key_fallback: bool) -> Item:
    queue = get(raw, "queue")
    if not isinstance(queue, str):
        raise _Abort(
            'null value in column "name" of relation "queues" violates not-null constraint'
        )
    partition = get(raw, "partition")
    payload = get(raw, "payload", _MISSING)
    if payload is _MISSING:
        payload = get(raw, "data", {}) if payload_key_fallback else {}
    tx = get(raw, "transactionId")
    trace = get(raw, "traceId")
    return Item(
        queue,
        partition if isinstance(partition, str) else "Default",
        payload,
        tx if isinstance(tx, str) else None,
        trace if isinstance(trace, str) and trace else None,
    )


def _text(value: Any) -> str:
    """A JSON value as PostgreSQL's ``->>`` reads it: strings bare, the rest as JSON."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _run(ctx: Context, ops: List[Any], results: List[Dict[str, Any]]) -> None:
    from ._ack import apply_ack

    for op in ops:
        kind = get(op, "type")
        if kind == "push":
            items = get(op, "items", _MISSING)
            flat = (
                [(_item(raw, False), False) for raw in items] if isinstance(items, list)
                else [(_item(op, True), True)]
            )
            for it, v4 in flat:
                err = sql_check([it])
                if err is not None:
                    raise _Abort(err)
                try:
                    r = store(ctx, [it], strict=True, v4_ids=[v4])[0]
                except DbFailure as exc:
                    raise _Abort(str(exc.body["error"])) from None
                results.append({
                    "index": len(results), "messageId": r["message_id"],
                    "partitionId": r["partition_id"], "queueName": r["queueName"],
                    "success": True, "transactionId": r["transaction_id"], "type": "push",
                })
        elif kind == "ack":
            tx = get(op, "transactionId")
            pid = get(op, "partitionId")
            if isinstance(pid, str) and not is_uuid(pid):
                raise _Abort(f'invalid input syntax for type uuid: "{pid}"')
            status = get(op, "status", "completed")
            group = get(op, "consumerGroup")
            lease = get(op, "leaseId")
            err_text = get(op, "error")
            o = apply_ack(
                ctx, pid if isinstance(pid, str) else "", tx if isinstance(tx, str) else "",
                status if isinstance(status, str) else "",
                group if isinstance(group, str) else QUEUE_MODE,
                lease if isinstance(lease, str) else None,
                err_text if isinstance(err_text, str) else "Unknown error",
                tx_mode=True,
            )
            results.append({
                "dlq": o.dlq, "error": o.error, "index": len(results), "success": o.success,
                "transactionId": tx, "type": "ack",
            })
            if not o.success:
                raise _Abort("ACK operation failed: " + (o.error or "Unknown error"))
        else:
            # The failing operation is listed too; ->> renders a missing type as "null".
            text = "Unknown operation type: " + ("null" if kind is None else _text(kind))
            results.append({"error": text, "index": len(results), "success": False,
                            "type": None if kind is None else _text(kind)})
            raise _Abort(text)


def handle_transaction(ctx: Context, req: Request) -> Response:
    body = parse_body(req.body)
    ops = get(body, "operations")
    if not isinstance(ops, list):
        raise BadRequest("operations array required")
    if not ops:
        raise BadRequest("operations array cannot be empty")
    fault = ctx.faults.take("transaction")
    if fault is not None:
        return ctx.reply({"error": fault, "success": False}, 500)
    if holds_nul(ops):
        # The operations travel as one jsonb parameter, which cannot hold U+0000: the call
        # fails before the procedure runs, with the plain error shape (observed on 0.15).
        return ctx.reply({"error": NUL_ERROR, "success": False}, 500)
    state = ctx.state
    journal = Journal()
    state.journal = journal
    results: List[Dict[str, Any]] = []
    txid = uuid4()
    try:
        _run(ctx, ops, results)
    except _Abort as exc:
        journal.rollback()
        return ctx.reply(
            {"error": exc.error, "results": results, "success": False, "transactionId": txid},
            500,
        )
    finally:
        state.journal = None
    return ctx.reply({"results": results, "success": True, "transactionId": txid})
