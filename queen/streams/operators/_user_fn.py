"""What ``map``, ``filter``, ``flat_map`` and ``foreach`` share: one user function, called as
``(x, ctx)`` or ``(x)`` by its signature (D23b)."""

from __future__ import annotations

from typing import Any, Callable, Dict

from ..._errors import QueenTypeError
from .._calls import two_arg

__all__ = ["UserFunctionOperator"]


class UserFunctionOperator:
    kind = ""
    method = ""  # the Stream method, for the error text

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise QueenTypeError(f".{self.method}(fn) requires a callable")
        self.fn = fn
        self.config: Dict[str, Any] = {}
        self._call = two_arg(fn)
