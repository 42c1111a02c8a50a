"""``.gate(fn)``: a per-record allow/deny decision with state per key (client contract §8.6).

``fn(value, ctx)`` returns ``True``/``False`` or ``{"allow": bool}``; ``ctx`` has the
attributes ``state`` (a dict persisted per key), ``stream_time_ms``, ``partition_id``,
``partition`` and ``key``, plus the JS spellings ``streamTimeMs`` and ``partitionId``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from ..._errors import QueenTypeError
from .._calls import is_awaitable

__all__ = ["GateContext", "GateOperator", "gate_decision"]

_BAD_RESULT = ".gate(fn) must return bool or {'allow': bool}"


def gate_decision(out: Any) -> bool:
    """The allow flag of a gate function's result, or TypeError."""
    if out is True or out is False:
        return out
    if isinstance(out, dict) and isinstance(out.get("allow"), bool):
        return bool(out["allow"])
    raise TypeError(_BAD_RESULT)


class GateContext:
    """What a gate function sees besides the value."""

    __slots__ = ("key", "partition", "partition_id", "state", "stream_time_ms")

    def __init__(self, state: Dict[str, Any], stream_time_ms: int, partition_id: str,
                 partition: Any, key: str) -> None:
        self.state = state
        self.stream_time_ms = stream_time_ms
        self.partition_id = partition_id
        self.partition = partition
        self.key = key

    @property
    def streamTimeMs(self) -> int:
        return self.stream_time_ms

    @property
    def partitionId(self) -> str:
        return self.partition_id


class GateOperator:
    kind = "gate"

    def __init__(self, fn: Callable[[Any, Any], Any]) -> None:
        if not callable(fn):
            raise QueenTypeError(".gate(fn) requires a callable")
        self.fn = fn
        self.config: Dict[str, Any] = {}

    async def evaluate(self, envelope: Dict[str, Any], ctx: Any) -> Dict[str, bool]:
        """``{"allow": bool}`` for one envelope (its ``value``)."""
        out = self.fn(envelope.get("value"), ctx)
        if is_awaitable(out):
            out = await out
        return {"allow": gate_decision(out)}
