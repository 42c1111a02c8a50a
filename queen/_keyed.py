"""Keyed partitioning: an item's ``key`` picks one of N partitions of its queue.

The rule, which any language can reproduce (it is pinned by known vectors in the tests)::

    index     = murmur3_x86_32(utf8(key), seed=0) as an unsigned 32-bit int, modulo N
    partition = "key-" + decimal(index)          # "key-0" ... "key-<N-1>"

So one key always lands in one partition, and the broker keeps its messages in order, while
the queue has only N partitions however many keys there are. N is part of the rule: pushing
one key with another N may pick another partition, so keep N fixed for a queue.
"""

from __future__ import annotations

from typing import Any, List

import mmh3

from ._errors import QueenTypeError, QueenValidationError

__all__ = ["KEY_FIELD", "PARTITION_PREFIX", "check_partition_count", "item_key",
           "key_partition", "lane_names"]

#: The push item field that carries the key.
KEY_FIELD = "key"
#: Keyed partitions are named ``PARTITION_PREFIX + str(index)``.
PARTITION_PREFIX = "key-"

# Beyond this many lanes keyed partitioning stops being "a bounded number of ordered lanes".
MAX_PARTITIONS = 1 << 16

EXPLICIT_PARTITION = (
    "keyed(n) takes each item's partition from its key; it cannot be combined with "
    "partition(...): drop one of them"
)


def check_partition_count(n: Any) -> int:
    """``n`` as a partition count: an int in ``[1, 65536]``."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise QueenTypeError(
            f"keyed() takes a partition count from 1 to {MAX_PARTITIONS}, got {n!r}"
        )
    if not 1 <= n <= MAX_PARTITIONS:
        raise QueenValidationError(
            f"keyed() takes a partition count from 1 to {MAX_PARTITIONS}, got {n!r}"
        )
    return n


def key_partition(key: str, partitions: int) -> str:
    """The partition name of ``key`` among ``partitions`` keyed partitions."""
    index = mmh3.hash(key.encode("utf-8"), 0, signed=False) % partitions
    return PARTITION_PREFIX + str(index)


def item_key(item: Any) -> str:
    """The key of a push item; a missing or non-string key is a validation error."""
    key = item.get(KEY_FIELD) if isinstance(item, dict) else None
    if not isinstance(key, str):
        raise QueenValidationError(
            f"a keyed push needs a string {KEY_FIELD!r} in every item, got {key!r}"
        )
    return key


def lane_names(partitions: int) -> List[str]:
    """Every partition name of a queue keyed over ``partitions`` partitions."""
    return [PARTITION_PREFIX + str(i) for i in range(partitions)]
