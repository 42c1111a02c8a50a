"""``queen.utils`` of queen-mq 0.15: the default tables, the log helpers and the
validation helpers."""

from .defaults import (
    BUFFER_DEFAULTS,
    CLIENT_DEFAULTS,
    CONSUME_DEFAULTS,
    POP_DEFAULTS,
    QUEUE_DEFAULTS,
)
from .logger import error, log, warn
from .logger import is_enabled as is_log_enabled
from .validation import is_valid_uuid, validate_queue_name, validate_url, validate_urls

__all__ = [
    "BUFFER_DEFAULTS",
    "CLIENT_DEFAULTS",
    "CONSUME_DEFAULTS",
    "POP_DEFAULTS",
    "QUEUE_DEFAULTS",
    "error",
    "is_log_enabled",
    "is_valid_uuid",
    "log",
    "validate_queue_name",
    "validate_url",
    "validate_urls",
    "warn",
]
