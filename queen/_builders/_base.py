"""Shared pieces of the builders: run-once awaitables and sync-or-async callbacks (D26)."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Generator, Optional

__all__ = ["OnceAwaitable", "call_maybe_async"]


async def call_maybe_async(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a user callback or handler and await its result when it is awaitable."""
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


class OnceAwaitable:
    """A builder that performs its operation when awaited, exactly once.

    Awaiting it again returns None without doing anything (client contract §4.1).
    """

    _executed: bool = False

    async def _execute(self) -> Any:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    async def _run_once(self) -> Optional[Any]:
        if self._executed:
            return None
        self._executed = True
        return await self._execute()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._run_once().__await__()
