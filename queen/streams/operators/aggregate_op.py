"""``.aggregate({name: extractor})``: a reduce with named accumulators (client contract §8.5).

``count`` adds the extracted number or 1; ``sum`` and any other name add numbers; ``min`` and
``max`` track numbers; ``avg`` keeps ``__avg_sum``/``__avg_count`` beside it in the state so a
window can resume, and they are removed from emitted values (DECISION D23c). A number is an
int or float, never a bool.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from .._calls import is_awaitable
from .reduce_op import ReduceOperator

__all__ = ["RESERVED_AGGREGATE_FIELDS", "AggregateOperator"]

RESERVED_AGGREGATE_FIELDS = ["count", "sum", "min", "max", "avg"]
_HELPERS = ("__avg_sum", "__avg_count")


def _apply(acc: Dict[str, Any], name: str, v: Any) -> None:
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    if name == "count":
        acc["count"] = acc.get("count", 0) + (v if number else 1)
    elif name == "min":
        if number:
            cur = acc.get("min")
            acc["min"] = v if cur is None or v < cur else cur
    elif name == "max":
        if number:
            cur = acc.get("max")
            acc["max"] = v if cur is None or v > cur else cur
    elif name == "avg":
        if number:
            total = acc.get("__avg_sum", 0) + v
            count = acc.get("__avg_count", 0) + 1
            acc["__avg_sum"], acc["__avg_count"], acc["avg"] = total, count, total / count
    elif number:
        acc[name] = acc.get(name, 0) + v
    else:
        acc.setdefault(name, 0)


class AggregateOperator(ReduceOperator):
    kind = "aggregate"

    def __init__(self, extractors: Dict[str, Callable[[Any], Any]]) -> None:
        if not isinstance(extractors, dict):
            raise TypeError("aggregate requires a dict of named extractors")
        fields: List[Tuple[str, Callable[[Any], Any]]] = []
        for name, fn in extractors.items():
            if not callable(fn):
                raise TypeError(f"aggregate.{name} must be callable")
            fields.append((name, fn))
        if not fields:
            raise ValueError("aggregate requires at least one extractor")
        initial: Dict[str, Any] = {}
        for name, _ in fields:
            if name in ("min", "max"):
                initial[name] = None
            elif name == "avg":
                initial.update({"__avg_sum": 0, "__avg_count": 0, "avg": 0})
            else:
                initial[name] = 0
        self._fields = fields
        super().__init__(self._fold, initial)
        self.fields = [name for name, _ in fields]
        self.config = {"fields": list(self.fields)}

    def initial_acc(self) -> Any:
        return dict(self.initial)  # flat dict of numbers and None: a shallow copy is a copy

    def _fold(self, acc: Any, value: Any) -> Any:
        # The accumulator belongs to the runtime (a fresh copy or a decoded state row), so it
        # is updated in place; an async extractor switches to the awaiting path.
        out = acc if isinstance(acc, dict) else {}
        for i, (name, fn) in enumerate(self._fields):
            v = fn(value)
            if is_awaitable(v):
                return self._fold_async(out, value, i, v)
            _apply(out, name, v)
        return out

    async def _fold_async(self, acc: Dict[str, Any], value: Any, i: int, pending: Any
                          ) -> Dict[str, Any]:
        name = self._fields[i][0]
        _apply(acc, name, await pending)
        for name, fn in self._fields[i + 1:]:
            v = fn(value)
            if is_awaitable(v):
                v = await v
            _apply(acc, name, v)
        return acc

    def emit_value(self, acc: Any) -> Any:
        if isinstance(acc, dict) and ("__avg_sum" in acc or "__avg_count" in acc):
            return {k: v for k, v in acc.items() if k not in _HELPERS}
        return acc
