"""``.filter(pred)``: keep what the predicate finds truthy (client contract §8.3).

Before a reducer or gate the predicate sees the source message; after one, the current
value and the emit context.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from .._calls import is_awaitable
from ._user_fn import UserFunctionOperator

__all__ = ["FilterOperator"]


class FilterOperator(UserFunctionOperator):
    kind = "filter"
    method = "filter"

    async def apply(self, envelope: Dict[str, Any]) -> List[Dict[str, Any]]:
        keep = self._call(envelope.get("msg"), envelope.get("ctx"))
        if is_awaitable(keep):
            keep = await keep
        return [envelope] if keep else []

    async def run_pre(self, envelopes: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        call = self._call
        out = []
        for env in envelopes:
            keep = call(env["msg"], None)
            if is_awaitable(keep):
                keep = await keep
            if keep:
                out.append(env)
        return out

    async def run_post(self, emits: List[Dict[str, Any]], ctx_of: Callable[[Dict[str, Any]], Any]
                       ) -> List[Dict[str, Any]]:
        call = self._call
        out = []
        for e in emits:
            keep = call(e["value"], ctx_of(e))
            if is_awaitable(keep):
                keep = await keep
            if keep:
                out.append(e)
        return out
