"""``queen.builders.operation_builder`` of queen-mq 0.15."""

from .._builders._operation import OperationBuilder

__all__ = ["OperationBuilder"]
