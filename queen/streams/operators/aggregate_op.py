"""``.aggregate({name: extractor})``: a reduce with named accumulators (client contract §8.5).

``count`` adds the extracted number or 1; ``sum`` and any other name add numbers; ``min`` and
``max`` track numbers; ``avg`` keeps ``__avg_sum``/``__avg_count`` beside it in the state so a
window can resume, and they are removed from emitted values (DECISION D23c). A number is an
int or float, never a bool.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from ..._errors import QueenTypeError, QueenValidationError
from .._calls import is_awaitable
from .reduce_op import ReduceOperator

__all__ = ["RESERVED_AGGREGATE_FIELDS", "AggregateOperator"]

RESERVED_AGGREGATE_FIELDS = ["count", "sum", "min", "max", "avg"]
_HELPERS = ("__avg_sum", "__avg_count")


def _is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float or (isinstance(v, (int, float)) and t is not bool)


def _count(acc: Dict[str, Any], name: str, v: Any) -> None:
    acc[name] = acc.get(name, 0) + (v if _is_number(v) else 1)


def _add(acc: Dict[str, Any], name: str, v: Any) -> None:
    if _is_number(v):
        acc[name] = acc.get(name, 0) + v
    elif name not in acc:
        acc[name] = 0


def _min(acc: Dict[str, Any], name: str, v: Any) -> None:
    if _is_number(v):
        cur = acc.get(name)
        if cur is None or v < cur:
            acc[name] = v


def _max(acc: Dict[str, Any], name: str, v: Any) -> None:
    if _is_number(v):
        cur = acc.get(name)
        if cur is None or v > cur:
            acc[name] = v


def _avg(acc: Dict[str, Any], name: str, v: Any) -> None:
    if _is_number(v):
        total = acc.get("__avg_sum", 0) + v
        count = acc.get("__avg_count", 0) + 1
        acc["__avg_sum"], acc["__avg_count"], acc["avg"] = total, count, total / count


# How each reserved name folds a value; any other name adds numbers, like "sum".
_FOLDS: Dict[str, Callable[[Dict[str, Any], str, Any], None]] = {
    "count": _count, "sum": _add, "min": _min, "max": _max, "avg": _avg,
}
Field = Tuple[str, Callable[[Any], Any], Callable[[Dict[str, Any], str, Any], None]]


class AggregateOperator(ReduceOperator):
    kind = "aggregate"

    def __init__(self, extractors: Dict[str, Callable[[Any], Any]]) -> None:
        if not isinstance(extractors, dict):
            raise QueenTypeError("aggregate requires a dict of named extractors")
        fields: List[Field] = []
        for name, fn in extractors.items():
            if not callable(fn):
                raise QueenTypeError(f"aggregate.{name} must be callable")
            fields.append((name, fn, _FOLDS.get(name, _add)))
        if not fields:
            raise QueenValidationError("aggregate requires at least one extractor")
        initial: Dict[str, Any] = {}
        for name, _, _ in fields:
            if name in ("min", "max"):
                initial[name] = None
            elif name == "avg":
                initial.update({"__avg_sum": 0, "__avg_count": 0, "avg": 0})
            else:
                initial[name] = 0
        self._fields = fields
        super().__init__(self._fold, initial)
        self.fields = [name for name, _, _ in fields]
        self.config = {"fields": list(self.fields)}

    def initial_acc(self) -> Any:
        return dict(self.initial)  # flat dict of numbers and None: a shallow copy is a copy

    def _fold(self, acc: Any, value: Any) -> Any:
        # The accumulator belongs to the runtime (a fresh copy or a decoded state row), so it
        # is updated in place; an async extractor switches to the awaiting path.
        out = acc if type(acc) is dict else (acc if isinstance(acc, dict) else {})
        for i, (name, fn, fold) in enumerate(self._fields):
            v = fn(value)
            if is_awaitable(v):
                return self._fold_async(out, value, i, v)
            fold(out, name, v)
        return out

    async def _fold_async(self, acc: Dict[str, Any], value: Any, i: int, pending: Any
                          ) -> Dict[str, Any]:
        name, _, fold = self._fields[i]
        fold(acc, name, await pending)
        for name, fn, fold in self._fields[i + 1:]:
            v = fn(value)
            if is_awaitable(v):
                v = await v
            fold(acc, name, v)
        return acc

    def emit_value(self, acc: Any) -> Any:
        if isinstance(acc, dict) and ("__avg_sum" in acc or "__avg_count" in acc):
            return {k: v for k, v in acc.items() if k not in _HELPERS}
        return acc
