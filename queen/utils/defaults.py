"""``queen.utils.defaults`` of queen-mq 0.15: the five default tables (the same objects as
``queen.CLIENT_DEFAULTS`` ...)."""

from .._defaults import (
    BUFFER_DEFAULTS,
    CLIENT_DEFAULTS,
    CONSUME_DEFAULTS,
    POP_DEFAULTS,
    QUEUE_DEFAULTS,
)

__all__ = [
    "BUFFER_DEFAULTS",
    "CLIENT_DEFAULTS",
    "CONSUME_DEFAULTS",
    "POP_DEFAULTS",
    "QUEUE_DEFAULTS",
]
