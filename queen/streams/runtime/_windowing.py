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

In processing-time mode each of them also says until when the partition holds an open
window (``Work.open_until``), so that the runner keeps flushing a partition that went quiet
until its last window has closed.
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
    """What one cycle commits besides the ack, and what it changes in memory once committed.

    ``open_until`` is the wall-clock time (epoch ms) by which every window of the partition
    that is still open once this work is committed is due to close (``end + grace``): 0 when
    none is open, None when unknown (event time, or a flush that read only ripe rows).
    """

    __slots__ = ("emits", "late", "open_until", "state_ops", "watermark")

    def __init__(self, state_ops: List[Dict[str, Any]], emits: List[Dict[str, Any]],
                 watermark: Optional[int] = None, late: int = 0,
                 open_until: Optional[int] = None) -> None:
        self.state_ops = state_ops
        self.emits = emits
        self.watermark = watermark
        self.late = late
        self.open_until = open_until


EndOf = Callable[[Any], Optional[float]]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _window_end(row: Any) -> Optional[float]:
    end = row.get("windowEnd") if isinstance(row, dict) else None
    return end if _number(end) else None


def _open_until(rows: Dict[str, Any], ops: List[Dict[str, Any]], prefix: str, end_of: EndOf,
                grace_ms: int) -> int:
    """The latest ``end + grace`` of the rows under ``prefix`` once ``ops`` are applied
    (0 when no row is left)."""
    ends = {key: end_of(row) for key, row in rows.items() if key.startswith(prefix)}
    for op in ops:
        key = op["key"]
        if not key.startswith(prefix):
            continue
        if op["type"] == "delete":
            ends.pop(key, None)
        else:
            ends[key] = end_of(op.get("value"))
    known = [end for end in ends.values() if end is not None]
    return int(max(known)) + grace_ms if known else 0


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
    open_until = None if window.event_time_fn else _open_until(
        loaded, ops, window.operator_tag + SEP, _window_end, window.grace_period_ms)
    _with_watermark(ops, new_wm)
    return Work(ops, result["emits"], new_wm, late, open_until)


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
    open_until = None if window.event_time_fn else _sessions_open_until(window, sessions, ops)
    _with_watermark(ops, new_wm)
    return Work(ops, result["emits"], new_wm, late, open_until)


def _sessions_open_until(window: Any, sessions: Dict[str, Any], ops: List[Dict[str, Any]]
                         ) -> int:
    def end_of(row: Any) -> Optional[float]:
        last = row.get("lastEventTime") if isinstance(row, dict) else None
        return last + window.gap_ms if _number(last) else None

    return _open_until(sessions, ops, window.open_prefix, end_of, window.grace_period_ms)


async def flush_partition(http: Any, query_id: str, stages: Stages, partition_id: str,
                          clock: float, probe: bool = False) -> Work:
    """The idle flush of one partition at ``clock`` (empty when there is nothing to emit).

    ``probe`` reads the open windows too, to learn ``open_until`` (a restarted runner
    probes the partitions it adopted); otherwise only the ripe rows are read.
    """
    window, reducer = stages.window, stages.reducer
    assert window is not None and reducer is not None
    processing_time = window.event_time_fn is None
    if window.window_kind == "session":
        loaded = await get_state(http, query_id, partition_id, [],
                                 key_prefix=window.open_prefix)
        result = await window.run_session([], loaded, reducer.fn, reducer.session_initial,
                                          clock, reducer.emit_value)
        swept = result["stateOps"]
        return Work(swept, result["emits"], open_until=_sessions_open_until(
            window, loaded, swept) if processing_time else None)
    ripe = clock - window.grace_period_ms
    if ripe < 0:
        return Work([], [])
    tag = window.operator_tag
    stored = await get_state(http, query_id, partition_id, [], key_prefix=tag + SEP,
                             ripe_at_or_before=None if probe else int(ripe))
    # A probe reads the open rows too; the broker's ripe_at_or_before filter is applied here.
    rows = {k: v for k, v in stored.items()
            if (end := _window_end(v)) is not None and end <= ripe} if probe else stored
    finish = reducer.emit_value
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
    open_until = _open_until(stored, ops, tag + SEP, _window_end, window.grace_period_ms) \
        if probe and processing_time else None
    return Work(ops, emits, open_until=open_until)
