"""``.key_by(fn)``: the state key of each record (client contract §8.2).

``fn`` receives the source message; the key is ``str()`` of its result. Without ``key_by``
the key is the source partition id, so one partition's state rows belong to one worker.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from ..._errors import QueenTypeError
from .._calls import is_awaitable

__all__ = ["KeyByOperator"]


class KeyByOperator:
    kind = "keyBy"

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise QueenTypeError(".key_by(fn) requires a callable")
        self.fn = fn
        self.config: Dict[str, Any] = {}

    async def apply(self, envelope: Dict[str, Any]) -> List[Dict[str, Any]]:
        key = self.fn(envelope.get("msg"))
        if is_awaitable(key):
            key = await key
        return [{**envelope, "key": str(key)}]

    async def run_pre(self, envelopes: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        fn = self.fn
        for env in envelopes:
            key = fn(env["msg"])
            if is_awaitable(key):
                key = await key
            env["key"] = key if type(key) is str else str(key)
        return envelopes
