"""``.window_session(gap=...)``: per-key activity windows (client contract §8.4, §8.10).

A session stays open while events keep arriving within ``gap`` seconds of the previous one.
Open sessions are state rows ``"sess:<gap>\\x1fopen\\x1f<userKey>"`` → ``{"acc",
"sessionStart", "lastEventTime"}``. :meth:`WindowSessionOperator.run_session` folds a batch
into them, closes a session when an event comes after the gap or when the sweep finds
``lastEventTime + gap + grace <= now``, and emits ``{key, windowStart: sessionStart,
windowEnd: lastEventTime + gap, windowKey, value}`` for each closed one.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ..._errors import QueenValidationError
from .._calls import is_awaitable
from .._time import iso_from_ms
from ._window_common import MS_PER_SEC, WindowOperator, positive_number

__all__ = ["WindowSessionOperator"]

_SEP = "\u001f"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Session:
    __slots__ = ("acc", "closed", "dirty", "last", "start")

    def __init__(self, acc: Any, start: Any, last: Any, dirty: bool) -> None:
        self.acc, self.start, self.last, self.dirty, self.closed = acc, start, last, dirty, False


class WindowSessionOperator(WindowOperator):
    window_kind = "session"
    method = "window_session"
    config_kind = "window-session"

    def __init__(
        self,
        gap: Any = None,
        grace_period: Any = 0,
        idle_flush_ms: Any = 1000,
        event_time: Optional[Callable[[Any], Any]] = None,
        allowed_lateness: Any = 0,
        on_late: Optional[str] = None,
    ) -> None:
        if not positive_number(gap):
            raise QueenValidationError("window_session requires gap=<positive number>")
        self._init_common(grace_period, idle_flush_ms, event_time, allowed_lateness, on_late,
                          1000)
        self.gap = gap
        self.gap_ms = max(1, round(gap * MS_PER_SEC))
        self.operator_tag = f"sess:{self.tag_number(gap)}"
        self.config = self._config({"gap": gap})

    @property
    def open_prefix(self) -> str:
        return f"{self.operator_tag}{_SEP}open{_SEP}"

    def open_session_state_key(self, user_key: str) -> str:
        return self.open_prefix + user_key

    def _annotated(self, env: Dict[str, Any], ts: int) -> List[Dict[str, Any]]:
        # Sessions are built by run_session, so only the timestamp is added.
        return [{**env, "eventTimeMs": ts, "operatorTag": self.operator_tag,
                 "gracePeriodMs": self.grace_period_ms}]

    def _emit(self, key: str, s: _Session, finish: Callable[[Any], Any]) -> Dict[str, Any]:
        return {"key": key, "windowStart": s.start, "windowEnd": s.last + self.gap_ms,
                "windowKey": iso_from_ms(s.start), "value": finish(s.acc)}

    async def run_session(
        self,
        envelopes: List[Dict[str, Any]],
        loaded_state: Dict[str, Any],
        reducer_fn: Callable[[Any, Any], Any],
        reducer_initial: Callable[[], Any],
        now_ms: float,
        emit_value: Callable[[Any], Any] = lambda acc: acc,
    ) -> Dict[str, List[Dict[str, Any]]]:
        """Fold ``envelopes`` (annotated, in order) into the open sessions of
        ``loaded_state``, then sweep at ``now_ms``. Returns ``{"stateOps", "emits"}``."""
        prefix = self.open_prefix
        sessions: Dict[str, _Session] = {}
        stored = set()  # user keys that have a row: a closed session must delete it
        for sk, value in loaded_state.items():
            if not sk.startswith(prefix):
                continue
            key = sk[len(prefix):]
            row = value if isinstance(value, dict) else {}
            start, last = row.get("sessionStart"), row.get("lastEventTime")
            acc = row["acc"] if row.get("acc") is not None else reducer_initial()
            sessions[key] = _Session(acc, start if _number(start) else None,
                                     last if _number(last) else None, False)
            stored.add(key)

        emits: List[Dict[str, Any]] = []
        gap = self.gap_ms
        for env in envelopes:
            key = env["key"]
            ts = env["eventTimeMs"]
            s = sessions.get(key)
            if s is None or s.last is None or s.start is None:
                s = sessions[key] = _Session(reducer_initial(), ts, ts, True)
            elif s.last + gap >= ts:
                if ts > s.last:
                    s.last = ts
                s.dirty = True
            else:
                emits.append(self._emit(key, s, emit_value))
                s = sessions[key] = _Session(reducer_initial(), ts, ts, True)
            value = env["value"]
            acc = reducer_fn(s.acc, env["msg"] if value is None else value)
            if is_awaitable(acc):
                acc = await acc
            s.acc = acc

        limit = now_ms - self.grace_period_ms
        ops: List[Dict[str, Any]] = []
        for key, s in sessions.items():
            if s.last is not None and s.start is not None and s.last + gap <= limit:
                emits.append(self._emit(key, s, emit_value))
                if key in stored:
                    ops.append({"type": "delete", "key": prefix + key})
            elif s.dirty:
                ops.append({"type": "upsert", "key": prefix + key,
                            "value": {"acc": s.acc, "sessionStart": s.start,
                                      "lastEventTime": s.last}})
        return {"stateOps": ops, "emits": emits}
