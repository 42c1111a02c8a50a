"""``queen.admin.admin`` of queen-mq 0.15."""

from .._admin import Admin

__all__ = ["Admin"]
