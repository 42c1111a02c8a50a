"""The window paths of a cycle and of the idle flush (client contract §8.10, §8.11).

Each function reads the partition's state, computes the state ops and the emitted windows,
and returns them as :class:`Work`; the runner commits that in one cycle and only then
adopts the new watermark, so its in-memory watermark never runs ahead of the stored one.

* Tumbling/sliding/cron: annotate, drop late events (event time, ``on_late="drop"``), fold
  into the windows of this operator's rows, close the windows whose ``windowEnd + grace``
  the clock has reached. The clock is the new watermark ``max(old, newest event -
  allowed_lateness)`` in event-time mode, else the newest ``createdAt`` of the batch.
* Sessions: the same around :meth:`WindowSessionOperator.run_session`.
* Idle flush: the ripe rows (``windowEnd <= clock - grace``) are emitted and deleted; open
  sessions are swept at the clock.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from .._plan import Stages
from .._time import parse_iso_ms
from ..operators.reduce_op import SEP, parse_state_key
from .state import get_state

__all__ = ["WATERMARK_STATE_KEY", "Work", "flush_partition", "session_cycle", "window_cycle"]

WATERMARK_STATE_KEY = "__wm__"
Report = Callable[[BaseException], None]


class Work:
    """What one cycle commits besides the ack, and what it changes in memory once committed."""

    __slots__ = ("emits", "late", "state_ops", "watermark")

    def __init__(self, state_ops: List[Dict[str, Any]], emits: List[Dict[str, Any]],
                 watermark: Optional[int] = None, late: int = 0) -> None:
        self.state_ops = state_ops
        self.emits = emits
        self.watermark = watermark
        self.late = late


def _stored_watermark(loaded: Dict[str, Any]) -> Optional[int]:
    row = loaded.get(WATERMARK_STATE_KEY)
    value = row.get("eventTimeMs") if isinstance(row, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    return None


def _late_filter(window: Any, annotated: List[Dict[str, Any]], watermark: Optional[int]
                 ) -> Tuple[List[Dict[str, Any]], int, float]:
    """Drop late events; returns (kept, dropped, newest event time)."""
    newest = -math.inf
    if window.event_time_fn is None:
        return annotated, 0, newest
    drop = window.on_late_policy == "drop" and watermark is not None
    kept = []
    for env in annotated:
        ts = env["eventTimeMs"]
        if ts > newest:
            newest = ts
        if drop and ts < watermark:
            continue
        kept.append(env)
    return kept, len(annotated) - len(kept), newest


def _advance(window: Any, watermark: Optional[int], newest: float) -> Optional[int]:
    candidate = newest - window.allowed_lateness_ms if math.isfinite(newest) else -math.inf
    best = max(-math.inf if watermark is None else watermark, candidate)
    return int(best) if math.isfinite(best) else None


def _with_watermark(ops: List[Dict[str, Any]], watermark: Optional[int]) -> None:
    if watermark is not None:
        ops.append({"type": "upsert", "key": WATERMARK_STATE_KEY,
                    "value": {"eventTimeMs": watermark}})


async def window_cycle(http: Any, query_id: str, stages: Stages, envelopes: List[Dict[str, Any]],
                       newest_created: float, partition_id: str,
                       known_watermark: Optional[int], report: Report) -> Work:
    """One cycle of a tumbling, sliding or cron window; ``newest_created`` is the newest
    ``createdAt`` (epoch ms) of the batch's messages."""
    window, reducer = stages.window, stages.reducer
    assert window is not None
    loaded = await get_state(http, query_id, partition_id, []) if reducer else {}
    watermark = _stored_watermark(loaded) if window.event_time_fn else None
    if watermark is None:
        watermark = known_watermark
    annotated = await window.annotate(envelopes, report)
    annotated, late, newest = _late_filter(window, annotated, watermark)
    if reducer is None:
        # A window with no reducer only annotates: values pass through.
        return Work([], [{"key": e["key"], "value": e["value"]} for e in annotated], None, late)
    if window.event_time_fn:
        new_wm = _advance(window, watermark, newest)
        clock: float = -math.inf if new_wm is None else new_wm
    else:
        new_wm = None
        clock = newest_created
    result = await reducer.run(annotated, loaded, clock, window.operator_tag,
                               window.grace_period_ms)
    ops = result["stateOps"]
    _with_watermark(ops, new_wm)
    return Work(ops, result["emits"], new_wm, late)


async def session_cycle(http: Any, query_id: str, stages: Stages,
                        envelopes: List[Dict[str, Any]], partition_id: str,
                        known_watermark: Optional[int], report: Report) -> Work:
    """One cycle of a session window."""
    window, reducer = stages.window, stages.reducer
    assert window is not None
    if reducer is None:
        raise RuntimeError("window_session requires a downstream .reduce() or .aggregate()")
    loaded = await get_state(http, query_id, partition_id, [])
    watermark = _stored_watermark(loaded) if window.event_time_fn else None
    if watermark is None:
        watermark = known_watermark
    enriched = await window.annotate(envelopes, report)
    enriched, late, newest = _late_filter(window, enriched, watermark)
    if window.event_time_fn:
        new_wm = _advance(window, watermark, newest)
        now: float = -math.inf if new_wm is None else new_wm
    else:
        new_wm = None
        newest_seen = max((e["eventTimeMs"] for e in enriched), default=None)
        now = time.time() * 1000 if newest_seen is None else newest_seen
    prefix = window.open_prefix
    sessions = {k: v for k, v in loaded.items() if k.startswith(prefix)}
    result = await window.run_session(enriched, sessions, reducer.fn, reducer.session_initial,
                                      now, reducer.emit_value)
    ops = result["stateOps"]
    _with_watermark(ops, new_wm)
    return Work(ops, result["emits"], new_wm, late)


async def flush_partition(http: Any, query_id: str, stages: Stages, partition_id: str,
                          clock: float) -> Optional[Work]:
    """The idle flush of one partition at ``clock``; None when there is nothing to emit."""
    window, reducer = stages.window, stages.reducer
    assert window is not None
    if window.window_kind == "session":
        if reducer is None:
            return None
        loaded = await get_state(http, query_id, partition_id, [],
                                 key_prefix=window.open_prefix)
        if not loaded:
            return None
        result = await window.run_session([], loaded, reducer.fn, reducer.session_initial,
                                          clock, reducer.emit_value)
        return Work(result["stateOps"], result["emits"]) if result["emits"] else None
    ripe = clock - window.grace_period_ms
    if ripe < 0:
        return None
    tag = window.operator_tag
    rows = await get_state(http, query_id, partition_id, [], key_prefix=tag + SEP,
                           ripe_at_or_before=int(ripe))
    finish = reducer.emit_value if reducer is not None else (lambda acc: acc)
    ops: List[Dict[str, Any]] = []
    emits: List[Dict[str, Any]] = []
    for sk, value in rows.items():
        parts = parse_state_key(sk)
        if parts is None or parts["operatorTag"] != tag:
            continue
        row = value if isinstance(value, dict) else {}
        start = row.get("windowStart")
        if not isinstance(start, (int, float)):
            start = parse_iso_ms(parts["windowKey"]) or 0
        emits.append({"key": parts["userKey"], "windowStart": start,
                      "windowEnd": row.get("windowEnd"), "windowKey": parts["windowKey"],
                      "value": finish(row.get("acc", value))})
        ops.append({"type": "delete", "key": sk})
    return Work(ops, emits) if emits else None
