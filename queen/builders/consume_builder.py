"""``queen.builders.consume_builder`` of queen-mq 0.15."""

from .._builders._consume import ConsumeBuilder

__all__ = ["ConsumeBuilder"]
