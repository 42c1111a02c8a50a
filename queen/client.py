"""``queen.client`` of queen-mq 0.15: the client class."""

from ._client import Queen

__all__ = ["Queen"]
