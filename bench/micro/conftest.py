"""Shared data of the micro benchmarks: push items, finished push bodies and pop answers.

Payloads are ~200-byte JSON objects; messages look like a 0.15 broker's pop answer.
"""

from __future__ import annotations

from typing import Any, Dict, List

import orjson

from queen._message import message_class

PAYLOAD: Dict[str, Any] = {
    "orderId": 123456789,
    "customer": "c-0001",
    "status": "created",
    "amount": 1234.5,
    "tags": ["priority", "eu"],
    "note": "x" * 90,
}
TX = "01a21eb3-da5a-7000-b0de-b7d996df2f4b"


# The client's own message type (a consumer's bound subclass), so that what the decoder pays
# per message is what pop() and consume() pay.
Message = message_class(None, "g")


def user_items(n: int, with_ids: bool = False) -> List[Dict[str, Any]]:
    """``{"data": payload}`` items; ``with_ids`` gives each its own ``transactionId``."""
    if with_ids:
        return [{"data": dict(PAYLOAD, orderId=i), "transactionId": TX} for i in range(n)]
    return [{"data": dict(PAYLOAD, orderId=i)} for i in range(n)]


def finished_body(n: int) -> Dict[str, Any]:
    """The push body dict the encoder produces, ready for a single orjson.dumps."""
    return {
        "items": [
            {"queue": "orders", "partition": "p1", "payload": item["data"], "transactionId": TX}
            for item in user_items(n)
        ]
    }


def pop_body(n: int) -> bytes:
    lease = "01a21eb3-da69-7000-a720-cddd5b5424a9"
    messages = [
        {
            "consumerGroup": "__QUEUE_MODE__",
            "createdAt": "2026-11-27T20:30:33.056779Z",
            "data": dict(PAYLOAD, orderId=i),
            "id": TX,
            "leaseId": lease,
            "partition": "p1",
            "partitionId": "97515195-465f-4d2c-b2f8-6c37271a8d12",
            "producerSub": None,
            "traceId": None,
            "transactionId": f"tx-{i}",
        }
        for i in range(n)
    ]
    return orjson.dumps(
        {
            "consumerGroup": "__QUEUE_MODE__",
            "leaseId": lease,
            "messages": messages,
            "partition": "p1",
            "partitionId": "97515195-465f-4d2c-b2f8-6c37271a8d12",
            "partitionsClaimed": 1,
            "queue": "orders",
            "success": True,
        }
    )
