"""``POST /streams/v1/state/get``: read a (query, partition) shard's rows (API §2.16)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

from ..._errors import StreamsStateGetFailed

__all__ = ["StreamsStateGetFailed", "get_state"]


async def get_state(
    http: Any,
    query_id: str,
    partition_id: str,
    keys: Optional[Iterable[str]] = None,
    *,
    key_prefix: Optional[str] = None,
    ripe_at_or_before: Optional[int] = None,
) -> Dict[str, Any]:
    """The shard's rows as ``{key: value}`` (in key order); all rows when ``keys`` is empty.

    ``key_prefix`` and ``ripe_at_or_before`` (epoch ms, rows whose ``windowEnd`` is at most
    this) narrow the read on the broker.

    Raises:
        StreamsStateGetFailed: the broker answered ``success: false`` or nothing.
    """
    body: Dict[str, Any] = {"query_id": query_id, "partition_id": partition_id,
                            "keys": list(keys) if keys else []}
    if key_prefix is not None:
        body["key_prefix"] = key_prefix
    if ripe_at_or_before is not None:
        body["ripe_at_or_before"] = int(ripe_at_or_before)
    res = await http.post("/streams/v1/state/get", body)
    if not isinstance(res, dict) or not res.get("success"):
        error = res.get("error") if isinstance(res, dict) else None
        raise StreamsStateGetFailed(error if isinstance(error, str) and error
                                    else "state.get failed")
    out: Dict[str, Any] = {}
    for row in res.get("rows") or ():
        if isinstance(row, dict) and isinstance(row.get("key"), str):
            out[row["key"]] = row.get("value")
    return out
