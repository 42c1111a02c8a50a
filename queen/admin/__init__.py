"""``queen.admin`` of queen-mq 0.15: the admin API class (reach it as ``queen.admin``)."""

from .._admin import Admin

__all__ = ["Admin"]
