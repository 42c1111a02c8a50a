"""``.flat_map(fn)``: one output per element of the list ``fn`` returns (client contract §8.3).

Each output keeps the input's message and key; before a reducer or gate ``fn`` sees the
source message, after one the current value (a ``None`` element there keeps the previous
value, as a ``None`` from ``map`` does).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from .._calls import is_awaitable
from ._user_fn import UserFunctionOperator

__all__ = ["FlatMapOperator"]


def _checked(out: Any) -> List[Any]:
    if not isinstance(out, list):
        raise TypeError(f"flat_map fn must return a list (got {type(out).__name__})")
    return out


class FlatMapOperator(UserFunctionOperator):
    kind = "flatMap"
    method = "flat_map"

    async def apply(self, envelope: Dict[str, Any]) -> List[Dict[str, Any]]:
        out = self._call(envelope.get("msg"), envelope.get("ctx"))
        if is_awaitable(out):
            out = await out
        return [{**envelope, "value": v} for v in _checked(out)]

    async def run_pre(self, envelopes: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        call = self._call
        result: List[Dict[str, Any]] = []
        for env in envelopes:
            out = call(env["msg"], None)
            if is_awaitable(out):
                out = await out
            result.extend({**env, "value": v} for v in _checked(out))
        return result

    async def run_post(self, emits: List[Dict[str, Any]], ctx_of: Callable[[Dict[str, Any]], Any]
                       ) -> List[Dict[str, Any]]:
        call = self._call
        result: List[Dict[str, Any]] = []
        for e in emits:
            out = call(e["value"], ctx_of(e))
            if is_awaitable(out):
                out = await out
            previous = e["value"]
            result.extend({**e, "value": previous if v is None else v} for v in _checked(out))
        return result
