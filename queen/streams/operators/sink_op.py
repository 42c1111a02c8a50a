"""``.to(queue, partition=None)``: push every emitted value in the cycle (client contract §8.7).

A value becomes ``{"queue": Q, "partition": P, "payload": V}``: ``V`` is the value when it is
a dict, else ``{"value": value}``; ``P`` is ``str(partition(value))`` for a callable, the
string itself for a string, else the source partition's name (``"Default"`` when unknown).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Union

from ..._errors import QueenTypeError, QueenValidationError
from .._calls import is_awaitable

__all__ = ["NO_SINK_NAME", "SinkOperator", "queue_name_of"]

NO_SINK_NAME = (
    "Could not extract queue name from sink target. Pass either a queen.queue('name') "
    "builder or {'queueName': 'name'}."
)


def queue_name_of(target: Any, *, dict_keys: bool = True) -> Optional[str]:
    """The queue name of a queue builder (``_queue_name``, ``queue_name`` or ``name``) or,
    with ``dict_keys``, of a dict (``queueName``, ``queue_name`` or ``name``)."""
    if target is None:
        return None
    for attr in ("_queue_name", "queue_name", "name"):
        value = getattr(target, attr, None)
        if isinstance(value, str) and value:
            return value
    if dict_keys and isinstance(target, dict):
        for key in ("queueName", "queue_name", "name"):
            value = target.get(key)
            if isinstance(value, str) and value:
                return value
    return None


class SinkOperator:
    kind = "sink"

    def __init__(self, queue_builder: Any,
                 partition: Optional[Union[str, Callable[[Any], Any]]] = None) -> None:
        name = queue_name_of(queue_builder)
        if name is None:
            raise QueenValidationError(NO_SINK_NAME)
        if partition is not None and not isinstance(partition, str) and not callable(partition):
            raise QueenTypeError(".to() partition must be a string or a function of the value "
                                 f"(got {type(partition).__name__})")
        self.queue_builder = queue_builder
        self.queue_name = name
        self.partition_resolver = partition
        self.config: Dict[str, Any] = {"kind": "sink", "queue": name}

    def _partition(self, value: Any, source_partition_name: Optional[str]) -> str:
        resolver = self.partition_resolver
        if callable(resolver):
            out = resolver(value)
            if is_awaitable(out):
                close = getattr(out, "close", None)
                if close is not None:
                    close()
                raise TypeError("the .to() partition function must return a value, not an "
                                "awaitable")
            return str(out)
        if isinstance(resolver, str):
            return resolver
        return source_partition_name or "Default"

    def build_push_items(self, entries: List[Dict[str, Any]],
                         source_partition_name: Optional[str]) -> List[Dict[str, Any]]:
        """Push items for ``entries`` (dicts with a ``value``)."""
        queue = self.queue_name
        items = []
        for entry in entries:
            value = entry.get("value")
            items.append({
                "queue": queue,
                "partition": self._partition(value, source_partition_name),
                "payload": value if isinstance(value, dict) else {"value": value},
            })
        return items
