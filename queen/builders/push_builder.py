"""``queen.builders.push_builder`` of queen-mq 0.15."""

from .._builders._push import PushBuilder

__all__ = ["PushBuilder"]
