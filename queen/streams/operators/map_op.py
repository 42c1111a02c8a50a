"""``.map(fn)``: replace the value (client contract §8.3).

Before a reducer or gate, ``fn`` receives the source message (and ``ctx=None``), so in
``.map(a).map(b)`` both see the message and ``b``'s result wins (both reference SDKs do
this). After a reducer or gate it receives the current value and the emit context; a ``None``
result there keeps the previous value.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from .._calls import is_awaitable
from ._user_fn import UserFunctionOperator

__all__ = ["MapOperator"]


class MapOperator(UserFunctionOperator):
    kind = "map"
    method = "map"

    async def apply(self, envelope: Dict[str, Any]) -> List[Dict[str, Any]]:
        """One envelope ``{msg, key, value[, ctx]}``: ``fn(msg, ctx)`` becomes the value."""
        value = self._call(envelope.get("msg"), envelope.get("ctx"))
        if is_awaitable(value):
            value = await value
        return [{**envelope, "value": value}]

    async def run_pre(self, envelopes: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        call = self._call
        for env in envelopes:
            value = call(env["msg"], None)
            if is_awaitable(value):
                value = await value
            env["value"] = value
        return envelopes

    async def run_post(self, emits: List[Dict[str, Any]], ctx_of: Callable[[Dict[str, Any]], Any]
                       ) -> List[Dict[str, Any]]:
        call = self._call
        for e in emits:
            value = call(e["value"], ctx_of(e))
            if is_awaitable(value):
                value = await value
            if value is not None:
                e["value"] = value
        return emits
