"""The runtime's logger: the user's object, or the standard ``queen.streams`` logger.

A user logger is any object with ``info``, ``warn`` or ``warning``, and ``error``, each taking
``(msg, ctx=None)`` (client contract §8.10). Without one, records go to the
``logging.getLogger("queen.streams")`` logger as ``<msg> <ctx as JSON>``; nothing is printed
unless the application configures logging.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import orjson

__all__ = ["LOGGER_NAME", "StreamsLogger", "make_logger"]

LOGGER_NAME = "queen.streams"
_std = logging.getLogger(LOGGER_NAME)
_std.addHandler(logging.NullHandler())


def _text(msg: str, ctx: Any) -> str:
    if ctx is None:
        return msg
    try:
        detail = orjson.dumps(ctx, default=str).decode()
    except TypeError:
        detail = repr(ctx)
    return f"{msg} {detail}"


class StreamsLogger:
    """``info`` / ``warn`` (= ``warning``) / ``error`` over a user object or ``queen.streams``."""

    def __init__(self, custom: Optional[Any] = None) -> None:
        self._custom = custom
        self._info = self._pick(custom, "info")
        self._warn = self._pick(custom, "warn") or self._pick(custom, "warning")
        self._error = self._pick(custom, "error")

    @staticmethod
    def _pick(custom: Any, name: str) -> Optional[Callable[..., Any]]:
        fn = getattr(custom, name, None) if custom is not None else None
        return fn if callable(fn) else None

    def _emit(self, fn: Optional[Callable[..., Any]], level: int, msg: str, ctx: Any) -> None:
        if fn is not None:
            try:
                fn(msg, ctx)
            except Exception:
                # A broken user logger must not break the runner it reports on.
                _std.exception("custom streams logger failed")
            return
        if _std.isEnabledFor(level):
            _std.log(level, _text(msg, ctx))

    def info(self, msg: str, ctx: Any = None) -> None:
        self._emit(self._info, logging.INFO, msg, ctx)

    def warn(self, msg: str, ctx: Any = None) -> None:
        self._emit(self._warn, logging.WARNING, msg, ctx)

    warning = warn

    def error(self, msg: str, ctx: Any = None) -> None:
        self._emit(self._error, logging.ERROR, msg, ctx)


def make_logger(custom: Optional[Any] = None) -> StreamsLogger:
    """A :class:`StreamsLogger` over ``custom`` (or the standard logger)."""
    return StreamsLogger(custom)
