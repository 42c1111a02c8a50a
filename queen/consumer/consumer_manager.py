"""``queen.consumer.consumer_manager`` of queen-mq 0.15.

Its classes are internal machinery with no public counterpart in queen-turbo (see
:mod:`queen._compat`): importing one raises an ``ImportError`` naming the public way.
"""

from typing import List

from .._compat import refuse_internal

__all__: List[str] = []

__getattr__ = refuse_internal(__name__, "ConsumerManager")
