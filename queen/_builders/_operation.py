"""``create()`` / ``delete()`` answers with optional callbacks (client contract §4.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from .._errors import QueenServerError
from .._validate import callable_option
from ._base import OnceAwaitable, call_maybe_async

if TYPE_CHECKING:
    from .._client import Queen

__all__ = ["OperationBuilder"]


class OperationBuilder(OnceAwaitable):
    """A staged admin-style request; ``await`` sends it.

    A dict answer carrying ``error`` counts as a failure: with ``on_error`` set it is passed
    the error and ``{"success": False, "error": <message>}`` is returned; without it a
    :class:`QueenServerError` is raised. Transport errors follow the same rule.
    """

    def __init__(self, queen: Queen, method: str, path: str, body: Optional[bytes]) -> None:
        self._queen = queen
        self.method = method
        self.path = path
        self.body = body
        self._on_success: Optional[Callable[..., Any]] = None
        self._on_error: Optional[Callable[..., Any]] = None

    def on_success(self, callback: Callable[[Any], Any]) -> OperationBuilder:
        """``callback(result)`` after a successful answer (sync or async)."""
        self._on_success = callable_option(callback, "on_success callback")
        return self

    def on_error(self, callback: Callable[[Exception], Any]) -> OperationBuilder:
        """``callback(exc)`` instead of raising (sync or async)."""
        self._on_error = callable_option(callback, "on_error callback")
        return self

    async def _execute(self) -> Any:
        try:
            result = await self._queen._http.request(self.method, self.path, body=self.body)
            if isinstance(result, dict) and "error" in result and result["error"] is not None:
                raise QueenServerError(str(result["error"]), body=result)
        except Exception as exc:
            if self._on_error is None:
                raise
            await call_maybe_async(self._on_error, exc)
            return {"success": False, "error": str(exc)}
        if self._on_success is not None:
            await call_maybe_async(self._on_success, result)
        return result
