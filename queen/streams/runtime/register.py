"""``POST /streams/v1/queries``: register a query (client contract §8.10, API §2.16, Q36).

A changed operator chain under the same name is a conflict: HTTP 409, or ``success: false``
with an error starting ``config_hash mismatch`` (what the 0.15 broker sends, with status 200).
Both raise :class:`~queen.StreamsConfigHashMismatch`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ..._errors import StreamsConfigHashMismatch, StreamsHttpError, StreamsRegisterFailed

__all__ = ["StreamsConfigHashMismatch", "StreamsRegisterFailed", "register_query"]

MISMATCH_HINT = (
    "\n\nHint: pass reset=True to Stream.run(...) to wipe the existing state of this "
    "query_id, or pick a new query_id."
)


def _mismatch(error: Any) -> StreamsConfigHashMismatch:
    text = error if isinstance(error, str) and error else "config_hash mismatch"
    return StreamsConfigHashMismatch(text + MISMATCH_HINT)


async def register_query(
    http: Any,
    name: str,
    source_queue: str,
    config_hash: str,
    sink_queue: Optional[str] = None,
    reset: bool = False,
) -> Dict[str, Any]:
    """Register (or re-attach to) the query ``name``.

    Returns ``{"queryId": <server UUID>, "name", "fresh", "didReset"}``.

    Raises:
        StreamsConfigHashMismatch: the stored chain differs and ``reset`` is false.
        StreamsRegisterFailed: any other refusal or an empty answer.
        StreamsHttpError: a transport or HTTP failure.
    """
    body: Dict[str, Any] = {"name": name, "source_queue": source_queue,
                            "config_hash": config_hash, "reset": bool(reset)}
    if sink_queue:
        body["sink_queue"] = sink_queue
    try:
        res = await http.post("/streams/v1/queries", body)
    except StreamsHttpError as exc:
        if exc.status == 409:
            raise _mismatch(exc.body.get("error") if isinstance(exc.body, dict) else None) \
                from exc
        raise
    if not isinstance(res, dict) or not res.get("success"):
        error = res.get("error") if isinstance(res, dict) else None
        if isinstance(error, str) and error.startswith("config_hash mismatch"):
            raise _mismatch(error)
        raise StreamsRegisterFailed(error if isinstance(error, str) and error
                                    else "register failed")
    query_id = res.get("query_id")
    if not isinstance(query_id, str) or not query_id:
        raise StreamsRegisterFailed("register failed: the answer has no query_id")
    return {"queryId": query_id, "name": res.get("name"), "fresh": bool(res.get("fresh")),
            "didReset": bool(res.get("reset"))}
