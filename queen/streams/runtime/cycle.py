"""``POST /streams/v1/cycle``: state ops, sink pushes and the source ack in one database
transaction (client contract §8.10, API §2.16, §3.17).

The broker applies all of it or nothing, which is what makes a stream exactly-once: a runner
that dies before the commit leaves the messages leased (they come back after the lease
expires) and the state untouched; after the commit, state, output and cursor moved together.

Sending a cycle twice is harmless, so the HTTP retries may re-send one whose answer was lost:
every sink item carries a ``transactionId`` fixed when the cycle is built (the broker reports
a repeated id as a duplicate instead of storing it again), state upserts and deletes are
idempotent, and an ack that released its lease fails the replay as a whole ("Invalid or
expired lease"), rolling it back.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..._errors import StreamsCycleFailed
from ..._speedups import uuid7

__all__ = ["StreamsCycleFailed", "commit_cycle", "stamp_push_items"]


def stamp_push_items(items: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Give every push item without one a fresh UUIDv7 ``transactionId`` (in place)."""
    for item in items:
        if not item.get("transactionId"):
            item["transactionId"] = uuid7()
    return items


async def commit_cycle(
    http: Any,
    query_id: str,
    partition_id: str,
    consumer_group: str,
    state_ops: Optional[List[Dict[str, Any]]] = None,
    push_items: Optional[List[Dict[str, Any]]] = None,
    ack: Optional[Dict[str, Any]] = None,
    release_lease: bool = True,
) -> Dict[str, Any]:
    """Commit one cycle; returns the broker's answer.

    Raises:
        StreamsCycleFailed: the broker rolled the cycle back (its ``error``, or
            ``"cycle commit failed"``); ``body`` is its answer.
    """
    body = {
        "query_id": query_id,
        "partition_id": partition_id,
        "consumer_group": consumer_group,
        "state_ops": state_ops or [],
        "push_items": stamp_push_items(push_items or []),
        "ack": ack,
        "release_lease": release_lease is not False,
    }
    res = await http.post("/streams/v1/cycle", body)
    if not isinstance(res, dict) or not res.get("success"):
        error = res.get("error") if isinstance(res, dict) else None
        raise StreamsCycleFailed(error if isinstance(error, str) and error
                                 else "cycle commit failed", body=res)
    return res
