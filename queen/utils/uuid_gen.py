"""``queen.utils.uuid_gen`` of queen-mq 0.15: the client's transaction id generator."""

from .._speedups import uuid7

__all__ = ["generate_uuid"]


def generate_uuid() -> str:
    """A UUIDv7 string (RFC 9562), monotonic within the process: what ``push()`` gives an
    item without a ``transactionId``."""
    return uuid7()
