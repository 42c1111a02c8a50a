"""``.foreach(fn)``: a side effect per emitted value, before the cycle commits (§8.7).

At-least-once: an exception aborts the cycle, and the source messages are redelivered (so
``fn`` may see a value again). Use ``.to(queue)`` for exactly-once output.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from .._calls import is_awaitable
from ._user_fn import UserFunctionOperator

__all__ = ["ForeachOperator"]


class ForeachOperator(UserFunctionOperator):
    kind = "foreach"
    method = "foreach"

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__(fn)
        self.config = {"kind": "foreach"}

    async def run_effects(self, entries: List[Dict[str, Any]]) -> None:
        """``fn(value, ctx)`` (or ``fn(value)``) for each ``{value, ctx}``, in order."""
        call = self._call
        for entry in entries:
            out = call(entry.get("value"), entry.get("ctx"))
            if is_awaitable(out):
                await out
