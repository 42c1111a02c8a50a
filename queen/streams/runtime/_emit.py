"""The end of every cycle: post-reducer operators, then the sink (client contract §8.7).

Post-reducer ``map``/``filter``/``flat_map`` see the current value and the context
``{"partition", "partitionId", "key", "windowKey", "windowStart", "windowEnd"}``. A ``.to()``
sink turns the values into push items for the cycle; a ``.foreach()`` sink runs its effects
now, before the commit (at-least-once).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .._plan import Stages

__all__ = ["Emit", "finish_emits"]

Emit = Dict[str, Any]


async def finish_emits(stages: Stages, emits: List[Emit], partition_id: str,
                       partition_name: Optional[str]) -> List[Dict[str, Any]]:
    """Run the post stages and the sink over ``emits``; returns the push items (``[]`` for a
    ``foreach`` sink or none)."""

    def ctx_of(e: Emit) -> Dict[str, Any]:
        return {"partition": partition_name, "partitionId": partition_id, "key": e.get("key"),
                "windowKey": e.get("windowKey"), "windowStart": e.get("windowStart"),
                "windowEnd": e.get("windowEnd")}

    if emits:
        for op in stages.post:
            emits = await op.run_post(emits, ctx_of)
    sink = stages.sink
    if sink is None or not emits:
        return []
    if sink.kind == "sink":
        return sink.build_push_items(emits, partition_name)
    await sink.run_effects([{"value": e["value"], "ctx": ctx_of(e)} for e in emits])
    return []
