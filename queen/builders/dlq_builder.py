"""``queen.builders.dlq_builder`` of queen-mq 0.15."""

from .._builders._dlq import DLQBuilder

__all__ = ["DLQBuilder"]
