"""The runtime's logger: the user's object, or the standard ``queen.streams`` logger.

A user logger is a ``logging.Logger`` (or ``LoggerAdapter``), or any object with ``info``,
``warn`` or ``warning``, and ``error``, each taking ``(msg, ctx=None)`` (client contract
§8.10). Records read ``<msg> <ctx as JSON>``. Without a user logger they go to
``logging.getLogger("queen.streams")``, which has no handler of its own (contract §5.11): an
application that configured no logging still sees warnings and errors on stderr through
Python's last-resort handler, as queen-mq's runner always printed them. ``QUEEN_STREAMS_LOG``
(``1``, ``true`` or ``yes``, read at import) shows INFO records too: INFO on stdout,
WARNING and ERROR on stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable, Optional

import orjson

from ..._logging import LevelFilter

__all__ = ["LOGGER_NAME", "StreamsLogger", "configure_from_env", "make_logger"]

LOGGER_NAME = "queen.streams"
_std = logging.getLogger(LOGGER_NAME)


def configure_from_env(value: Optional[str] = None) -> None:
    """Attach the stdout/stderr handlers that ``QUEEN_STREAMS_LOG`` asks for."""
    setting = value if value is not None else os.environ.get("QUEEN_STREAMS_LOG", "")
    if setting.lower() not in ("1", "true", "yes"):
        return
    for stream, below_warning in ((sys.stdout, True), (sys.stderr, False)):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("[queen-streams] %(message)s"))
        handler.addFilter(LevelFilter(below_warning))
        _std.addHandler(handler)
    _std.setLevel(logging.INFO)


configure_from_env()


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
        if isinstance(custom, (logging.Logger, logging.LoggerAdapter)):
            # A standard logger takes (msg, *args): the context is written into the text.
            self._logger: logging.Logger | logging.LoggerAdapter[Any] = custom
            custom = None
        else:
            self._logger = _std
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
        if self._logger.isEnabledFor(level):
            self._logger.log(level, _text(msg, ctx))

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
