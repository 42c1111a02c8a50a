"""``queen.builders.transaction_builder`` of queen-mq 0.15."""

from .._builders._transaction import TransactionBuilder, TransactionQueueBuilder

__all__ = ["TransactionBuilder", "TransactionQueueBuilder"]
