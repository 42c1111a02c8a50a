"""``queen.utils.logger`` of queen-mq 0.15: records in the client's log format.

``log``, ``warn`` and ``error`` write INFO, WARNING and ERROR records to the ``queen.client``
logger (which ``QUEEN_CLIENT_LOG=true`` or ``debug`` prints in the reference format); they
never print themselves. ``LOG_ENABLED`` and :func:`is_enabled` tell whether
``QUEEN_CLIENT_LOG`` asked for that output (read at import, as the reference did).
"""

from __future__ import annotations

import os
from typing import Any

from .._logging import ClientLogger

__all__ = ["LOG_ENABLED", "error", "is_enabled", "log", "warn"]

LOG_ENABLED = os.environ.get("QUEEN_CLIENT_LOG", "").lower() in ("true", "debug")

_logger = ClientLogger()


def log(operation: str, details: Any) -> None:
    _logger.info(operation, details)


def warn(operation: str, details: Any) -> None:
    _logger.warning(operation, details)


def error(operation: str, details: Any) -> None:
    _logger.error(operation, details)


def is_enabled() -> bool:
    return LOG_ENABLED
