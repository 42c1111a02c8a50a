"""``queen.builders.queue_builder`` of queen-mq 0.15."""

from .._builders._queue import QueueBuilder

__all__ = ["QueueBuilder"]
