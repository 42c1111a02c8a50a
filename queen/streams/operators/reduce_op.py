"""``.reduce(fn, initial)``: fold each window's values (client contract §8.5, §8.11).

Window state rows are ``"<tag>\\x1f<windowKey>\\x1f<userKey>"`` → ``{"acc", "windowStart",
"windowEnd"}``; a two-part key ``"<windowKey>\\x1f<userKey>"`` is the legacy shape, read with
an empty tag and never written. :meth:`ReduceOperator.run` seeds the accumulators from the
rows of one operator tag, folds a batch of annotated envelopes into them, then closes every
window with ``windowEnd + grace <= clock`` (emitted, and its row deleted if it had one) and
upserts every other window the batch touched.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Dict, List, Optional

from ..._errors import QueenTypeError
from .._calls import is_awaitable
from .._time import parse_iso_ms

__all__ = ["SEP", "ReduceOperator", "parse_state_key", "state_key_for"]

SEP = "\u001f"
_IMMUTABLE = (int, float, str, bool, type(None))


def state_key_for(operator_tag: str, window_key: str, user_key: Optional[str] = None) -> str:
    """``"<tag>\\x1f<windowKey>\\x1f<userKey>"`` (or the two-part key without a user key)."""
    if user_key is None:
        return f"{operator_tag}{SEP}{window_key}"
    return f"{operator_tag}{SEP}{window_key}{SEP}{user_key}"


def parse_state_key(state_key: Any) -> Optional[Dict[str, str]]:
    """``{"operatorTag", "windowKey", "userKey"}`` of a window row key, None otherwise."""
    if not isinstance(state_key, str):
        return None
    parts = state_key.split(SEP)
    if len(parts) == 3:
        return {"operatorTag": parts[0], "windowKey": parts[1], "userKey": parts[2]}
    if len(parts) == 2:
        return {"operatorTag": "", "windowKey": parts[0], "userKey": parts[1]}
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Window:
    __slots__ = ("acc", "end", "key", "seeded", "start", "touched", "wkey")

    def __init__(self, key: str, start: int, end: int, wkey: str, acc: Any, seeded: bool) -> None:
        self.key, self.start, self.end, self.wkey = key, start, end, wkey
        self.acc, self.seeded, self.touched = acc, seeded, False


class ReduceOperator:
    kind = "reduce"

    def __init__(self, fn: Callable[[Any, Any], Any], initial: Any = None) -> None:
        if not callable(fn):
            raise QueenTypeError(".reduce(fn) requires a callable")
        self.fn = fn
        self.initial = initial
        self.config: Dict[str, Any] = {"hasInitial": initial is not None}

    # -- the accumulator ----------------------------------------------------------------

    def initial_acc(self) -> Any:
        """A fresh accumulator: a deep copy of ``initial``."""
        init = self.initial
        return init if isinstance(init, _IMMUTABLE) else copy.deepcopy(init)

    def session_initial(self) -> Any:
        """Session windows start from 0 when no ``initial`` is given (reference behaviour)."""
        return 0 if self.initial is None else self.initial_acc()

    def fold(self, acc: Any, value: Any) -> Any:
        """``fn(acc, value)``; the result may be awaitable."""
        return self.fn(acc, value)

    def emit_value(self, acc: Any) -> Any:
        """The value a closed window emits."""
        return acc

    # -- one batch against the loaded state ---------------------------------------------

    async def run(
        self,
        envelopes: List[Dict[str, Any]],
        loaded_state: Dict[str, Any],
        stream_time_ms: Optional[float] = None,
        operator_tag: str = "",
        grace_period_ms: int = 0,
    ) -> Dict[str, List[Dict[str, Any]]]:
        """Fold ``envelopes`` into the windows of ``loaded_state``.

        Returns ``{"stateOps": [...], "emits": [...]}``; an emit is ``{key, windowStart,
        windowEnd, windowKey, value}``. ``stream_time_ms`` is the close clock; without a
        finite one, the newest window start of the batch is used.
        """
        windows: Dict[str, _Window] = {}
        for sk, value in loaded_state.items():
            if sk.startswith("__"):
                continue
            parts = parse_state_key(sk)
            if parts is None or (operator_tag and parts["operatorTag"] != operator_tag):
                continue
            row = value if isinstance(value, dict) else {}
            start: Any = row.get("windowStart")
            if not _number(start):
                start = parse_iso_ms(parts["windowKey"]) or 0
            end: Any = row.get("windowEnd")
            if not _number(end):
                end = start
            acc = row.get("acc", value)
            windows[sk] = _Window(parts["userKey"], start, end, parts["windowKey"], acc, True)

        fold = self.fn
        newest = -math.inf
        for env in envelopes:
            wkey = env["windowKey"]
            key = env["key"]
            sk = f"{operator_tag or env.get('operatorTag') or ''}{SEP}{wkey}{SEP}{key}"
            w = windows.get(sk)
            if w is None:
                w = _Window(key, env["windowStart"], env["windowEnd"], wkey, self.initial_acc(),
                            False)
                windows[sk] = w
            value = env["value"]
            acc = fold(w.acc, env["msg"] if value is None else value)
            if is_awaitable(acc):
                acc = await acc
            w.acc = acc
            w.touched = True
            if w.start > newest:
                newest = w.start

        clock = stream_time_ms
        if clock is None or not math.isfinite(clock):
            clock = newest
        ops: List[Dict[str, Any]] = []
        emits: List[Dict[str, Any]] = []
        emit_value = self.emit_value
        for sk, w in windows.items():
            if w.end + grace_period_ms <= clock:
                emits.append({"key": w.key, "windowStart": w.start, "windowEnd": w.end,
                              "windowKey": w.wkey, "value": emit_value(w.acc)})
                if w.seeded:
                    ops.append({"type": "delete", "key": sk})
            elif w.touched:
                ops.append({"type": "upsert", "key": sk,
                            "value": {"acc": w.acc, "windowStart": w.start, "windowEnd": w.end}})
        return {"stateOps": ops, "emits": emits}
