"""``queue(q).keyed(n).push(items)``: a push whose items each go to their key's partition.

Immediate mode sends every item in one ``POST /api/v1/push`` (each encoded item names its own
partition), so the answer entries and the callbacks line up with the items as for any push.
Buffered mode hands each partition's items, in order, to that partition's client buffer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Generator, List, Optional

from .._keyed import item_key, key_partition
from ._base import OnceAwaitable, call_maybe_async
from ._push import PushBuilder

if TYPE_CHECKING:
    from .._client import Queen

__all__ = ["KeyedPushBuilder"]


class KeyedPushBuilder(PushBuilder):
    """A :class:`PushBuilder` over several partitions; ``partitions[i]`` is item i's."""

    def __init__(
        self,
        queen: Queen,
        queue: str,
        items: List[Any],
        partition_count: int,
        buffer_options: Optional[Dict[str, Any]],
    ) -> None:
        self.partitions = [key_partition(item_key(item), partition_count) for item in items]
        encoded = [
            queen._encoder(queue, partition).item(item)
            for item, partition in zip(items, self.partitions)
        ]
        first = self.partitions[0] if self.partitions else key_partition("", partition_count)
        super().__init__(queen, queen._encoder(queue, first), encoded, buffer_options)

    def __await__(self) -> Generator[Any, None, Any]:
        # No single-buffer fast path: the items may belong to several buffers.
        return OnceAwaitable.__await__(self)

    async def _execute(self) -> Any:
        if self._buffer_options is None:
            return await super()._execute()
        queen = self._queen
        queen._ensure_open()
        lanes: Dict[str, List[bytes]] = {}
        for partition, encoded in zip(self.partitions, self.encoded):
            lanes.setdefault(partition, []).append(encoded)
        for partition, lane in lanes.items():
            await queen._buffers.add(self.queue, partition, lane, self._buffer_options)
        if self._on_success is not None:
            await call_maybe_async(self._on_success, self.items())
        return {"buffered": True, "count": len(self.encoded)}
