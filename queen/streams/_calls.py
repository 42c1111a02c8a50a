"""How user functions are called (client contract §8.3, DECISION D23b).

``map``, ``filter``, ``flat_map`` and ``foreach`` functions take ``(x, ctx)`` or ``(x)``. The
arity is decided once, when the operator is built, from the signature: two or more
positional parameters, or a ``*args``, mean ``(x, ctx)``. The reference SDKs instead call with
two arguments and retry with one on ``TypeError``, which runs user code twice when it raised
``TypeError`` itself. Any user function may be sync or async: results are awaited only when
they are awaitable.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

__all__ = ["CtxCall", "is_awaitable", "resolve", "takes_ctx", "two_arg"]

# Results of user functions are mostly plain data: those types are answered at once, without
# inspect.isawaitable's ABC check (the hot path calls this once per record per function).
_PLAIN = frozenset({int, float, str, bool, type(None), dict, list, tuple})


def is_awaitable(value: Any) -> bool:
    """True when ``value`` must be awaited."""
    return type(value) not in _PLAIN and inspect.isawaitable(value)


CtxCall = Callable[[Any, Any], Any]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def takes_ctx(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` is to be called as ``fn(x, ctx)``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    count = 0
    for p in params:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return True
        if p.kind in _POSITIONAL:
            count += 1
    return count >= 2


def two_arg(fn: Callable[..., Any]) -> CtxCall:
    """``fn`` as a ``(x, ctx)`` callable, whatever its own arity."""
    if takes_ctx(fn):
        return fn
    return lambda x, _ctx: fn(x)


async def resolve(value: Any) -> Any:
    """``value``, awaited when it is awaitable."""
    if is_awaitable(value):
        return await value
    return value

