"""Popping the source with the runner's own settings (client contract §8.10, D23d).

For a queen-turbo queue builder the runner builds a private builder on the same client (its
transport, balancer and typed errors) with the source's queue and partition, so the user's
builder is never changed. Another builder-like object is copied and configured through its
fluent methods, as the reference runners do with whatever they are given.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Tuple

from ..._builders._queue import QueueBuilder
from ..._defaults import DEFAULT_PARTITION
from .._calls import is_awaitable

__all__ = ["SourcePop", "client_settings", "source_partitions"]


def client_settings(source: Any) -> Dict[str, Any]:
    """The source client's bearer token and custom headers (for ``/streams/v1/*``, D23d)."""
    queen = getattr(source, "_queen", None)
    config = getattr(queen, "_config", None)
    if not isinstance(config, dict):
        return {"bearer_token": None, "headers": {}}
    headers = dict(config.get("headers") or {})
    return {"bearer_token": config.get("bearer_token"), "headers": headers}


async def source_partitions(source: Any) -> List[Tuple[str, str]]:
    """``(partition id, name)`` of the source queue's partitions (the builder's partition
    only, when it names one), read through the source client; ``[]`` for other sources."""
    if not isinstance(source, QueueBuilder) or not source._queue_name:
        return []
    detail = await source._queen.admin.get_queue(source._queue_name)
    partitions = detail.get("partitions") if isinstance(detail, dict) else None
    wanted = source._partition
    return [
        (p["id"], p["name"]) for p in partitions or ()
        if isinstance(p, dict) and isinstance(p.get("id"), str) and isinstance(p.get("name"), str)
        and wanted in (DEFAULT_PARTITION, p["name"])
    ]


_FIELDS = ("id", "data", "createdAt", "transactionId", "leaseId", "partition", "partitionId",
           "consumerGroup", "retryCount", "producerSub", "traceId")


def _as_dict(message: Any) -> Dict[str, Any]:
    """A message object of another client's builder as the dict the runtime reads."""
    return {f: getattr(message, f) for f in _FIELDS if getattr(message, f, None) is not None}


class SourcePop:
    """One configured pop of the source, reused for every pop of the runner."""

    def __init__(self, source: Any, *, group: str, batch: int, wait_millis: int,
                 max_partitions: int, subscription_mode: Optional[str],
                 subscription_from: Optional[str]) -> None:
        if isinstance(source, QueueBuilder):
            builder: Any = QueueBuilder(source._queen, source._queue_name)
            builder._partition = source._partition
        else:
            builder = copy.copy(source)
        steps = [("batch", batch), ("wait", True), ("timeout_millis", wait_millis),
                 ("group", group)]
        if max_partitions > 1:
            steps.append(("partitions", max_partitions))
        if subscription_mode:
            steps.append(("subscription_mode", subscription_mode))
        if subscription_from:
            steps.append(("subscription_from", subscription_from))
        for name, value in steps:
            method = getattr(builder, name, None)
            if callable(method):
                result = method(value)
                builder = builder if result is None else result
        self._builder = builder

    async def pop(self) -> List[Dict[str, Any]]:
        result = self._builder.pop()
        if is_awaitable(result):
            result = await result
        return [m if isinstance(m, dict) else _as_dict(m) for m in result or ()]
