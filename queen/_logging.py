"""Client logging: the ``queen.client`` logger, ``QUEEN_CLIENT_LOG`` and custom loggers.

The client never writes to stdout or stderr itself (contract §5.11, D21). Records carry
``extra={"queen_operation": ..., "queen_details": ...}``; the message text is
``[<Operation>] <details>``, details as compact JSON when they are a dict.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Optional

import orjson

__all__ = ["LOGGER_NAME", "ClientLogger", "LevelFilter", "configure_from_env"]

LOGGER_NAME = "queen.client"
_base_logger = logging.getLogger(LOGGER_NAME)
_base_logger.addHandler(logging.NullHandler())

_LEVEL_NAMES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
}


class _EnvFormatter(logging.Formatter):
    """``[2026-03-02T09:15:27.481Z] [INFO] [QueueBuilder.push] {...}``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        millis = int(record.msecs)
        level = _LEVEL_NAMES.get(record.levelno, record.levelname)
        return f"[{stamp}.{millis:03d}Z] [{level}] {record.getMessage()}"


class LevelFilter(logging.Filter):
    """Passes the records below WARNING, or those at WARNING and above."""

    def __init__(self, below_warning: bool) -> None:
        super().__init__()
        self._below = below_warning

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.levelno < logging.WARNING) == self._below


def configure_from_env(value: Optional[str] = None) -> None:
    """Attach the stdout/stderr handlers that ``QUEEN_CLIENT_LOG`` asks for (read at import).

    ``true`` → INFO and above, ``debug`` → DEBUG and above; INFO/DEBUG lines go to stdout,
    WARN/ERROR to stderr.
    """
    setting = (value if value is not None else os.environ.get("QUEEN_CLIENT_LOG", "")).lower()
    if setting not in ("true", "debug"):
        return
    level = logging.DEBUG if setting == "debug" else logging.INFO
    for stream, below in ((sys.stdout, True), (sys.stderr, False)):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_EnvFormatter())
        handler.addFilter(LevelFilter(below))
        handler.set_name("queen-env")
        _base_logger.addHandler(handler)
    _base_logger.setLevel(level)


def _render(details: Any) -> str:
    if isinstance(details, (dict, list)):
        try:
            return orjson.dumps(details, default=str).decode()
        except TypeError:
            return str(details)
    return str(details)


class ClientLogger:
    """Routes the client's records to ``queen.client`` or to a user-supplied logger.

    A custom logger may be a ``logging.Logger``/``LoggerAdapter`` or any object with
    ``info``, ``error`` and ``warning`` (or ``warn``) methods; ``debug`` is optional.
    """

    __slots__ = ("_custom", "_logger")

    def __init__(self, custom: Any = None) -> None:
        self._custom = custom
        self._logger = _base_logger

    def _emit(self, level: int, operation: str, details: Any) -> None:
        target = self._custom
        if target is None:
            logger = self._logger
            if logger.isEnabledFor(level):
                logger.log(
                    level,
                    "[%s] %s",
                    operation,
                    _render(details),
                    extra={"queen_operation": operation, "queen_details": details},
                )
            return
        text = f"[{operation}] {_render(details)}"
        if isinstance(target, (logging.Logger, logging.LoggerAdapter)):
            target.log(
                level, text, extra={"queen_operation": operation, "queen_details": details}
            )
            return
        name = {
            logging.DEBUG: "debug",
            logging.INFO: "info",
            logging.WARNING: "warning",
            logging.ERROR: "error",
        }[level]
        method = getattr(target, name, None)
        if method is None and name == "warning":
            method = getattr(target, "warn", None)
        if method is None and name == "debug":
            return
        if method is not None:
            method(text)

    def enabled(self, level: int) -> bool:
        """Cheap guard for hot paths: False when nothing would record ``level``."""
        target = self._custom
        if target is None:
            return self._logger.isEnabledFor(level)
        if isinstance(target, (logging.Logger, logging.LoggerAdapter)):
            return target.isEnabledFor(level)
        return level != logging.DEBUG or getattr(target, "debug", None) is not None

    def debug(self, operation: str, details: Any = "") -> None:
        self._emit(logging.DEBUG, operation, details)

    def info(self, operation: str, details: Any = "") -> None:
        self._emit(logging.INFO, operation, details)

    def warning(self, operation: str, details: Any = "") -> None:
        self._emit(logging.WARNING, operation, details)

    def error(self, operation: str, details: Any = "") -> None:
        self._emit(logging.ERROR, operation, details)
