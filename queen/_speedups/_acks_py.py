"""Ack answers read for what a consumer acts on: each entry's outcome, no full decode.

This is the documented twin of ``_acks_c.pyx``; both return equal values and raise the same
errors for every input.

``/ack`` answers a one-entry array and ``/ack/batch`` one entry per acknowledgment (API §2.3,
§2.4), each entry an object such as::

    {"dlq":false,"error":null,"index":0,"leaseReleased":true,"partitionName":"P",
     "queueName":"Q","success":true,"transactionId":"T"}

A consumer settling its own messages needs only ``success``, ``error``, ``leaseReleased``
and ``dlq`` of each entry (whether to log a failure, and what became of the partition's
lease); the public ``ack()`` returns the whole decoded answer and does not use this.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

import orjson

__all__ = ["ack_outcomes", "all_succeeded"]

#: ``(success, error, leaseReleased, dlq)`` of one answer entry.
Outcome = Tuple[Any, Any, Any, Any]

_NONE: Outcome = (None, None, None, None)


def ack_outcomes(body: bytes) -> Tuple[Any, Optional[List[Outcome]]]:
    """Read an ack answer.

    Returns ``(None, outcomes)`` for a JSON array: one ``(success, error, leaseReleased,
    dlq)`` tuple per entry, holding the entry's values (None for a missing key; all four None
    for an entry that is not an object). Returns ``(value, None)`` for any other JSON value
    (the broker's ``{"success": false, "error": ...}`` object) and ``(None, None)`` for an
    empty body. Raises ``ValueError`` (orjson.JSONDecodeError) on a body that is not JSON.
    """
    if not body:
        return None, None
    value = orjson.loads(body)
    if not isinstance(value, list):
        return value, None
    return None, [
        (e.get("success"), e.get("error"), e.get("leaseReleased"), e.get("dlq"))
        if isinstance(e, dict)
        else _NONE
        for e in value
    ]


def all_succeeded(results: List[Any]) -> bool:
    """Whether every entry of a decoded ack answer is an object whose ``success`` is
    ``true`` (what ``ack()`` checks before it looks for refusals)."""
    return all(isinstance(e, dict) and e.get("success") is True for e in results)
