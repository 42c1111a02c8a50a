"""The gate path of a cycle (client contract §8.6, §8.10).

Envelopes are evaluated in order against their key's state, stopping at the first deny. The
cycle then acks the source messages that are fully decided, i.e. every message before the
one holding the denied envelope (all of the batch when nothing was denied, including
messages a filter dropped), keeps the lease when something was denied (the tail comes back
in order after it expires), and upserts the state of the keys its allowed envelopes used.
Envelopes of the denied message that were allowed before the deny (a ``flat_map`` before the
gate) are not emitted, and the state they changed is restored, because the message will be
evaluated again.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Dict, List, Optional

from .._calls import is_awaitable
from .._plan import Stages
from ..operators.gate_op import GateContext, gate_decision
from .state import get_state

__all__ = ["GateOutcome", "gate_cycle"]


class GateOutcome:
    """What the runner commits for a gate cycle."""

    __slots__ = ("acked", "allowed", "denied", "emits", "release", "state_ops")

    def __init__(self, acked: int, emits: List[Dict[str, Any]], state_ops: List[Dict[str, Any]],
                 release: bool, allowed: int, denied: int) -> None:
        self.acked = acked  # leading source messages the cycle acknowledges
        self.emits = emits
        self.state_ops = state_ops
        self.release = release
        self.allowed = allowed
        self.denied = denied


async def gate_cycle(http: Any, query_id: str, stages: Stages, envelopes: List[Dict[str, Any]],
                     messages: List[Dict[str, Any]], partition_id: str, partition_name: Any,
                     report: Callable[[BaseException], None]) -> Optional[GateOutcome]:
    """Evaluate the gate; None when the gate function failed (nothing is committed)."""
    gate = stages.gate
    assert gate is not None
    loaded = await get_state(http, query_id, partition_id, [])
    position = {id(m): i for i, m in enumerate(messages)}
    per_message: Dict[int, int] = {}
    for env in envelopes:
        i = position.get(id(env["msg"]), 0)
        per_message[i] = per_message.get(i, 0) + 1
    live: Dict[str, Any] = {}
    now = int(time.time() * 1000)
    fn = gate.fn
    allowed: List[Any] = []  # (message index, envelope)
    decided = len(messages)
    snapshot: Optional[Dict[str, Any]] = None
    current = -1
    for env in envelopes:
        index = position.get(id(env["msg"]), 0)
        if index != current:
            current = index
            # A message with several envelopes may be denied halfway: keep its start state.
            snapshot = copy.deepcopy(live) if per_message[index] > 1 else None
        key = env["key"]
        state: Any = live.get(key)
        if state is None:
            stored = loaded.get(key)
            state = live[key] = {} if stored is None else stored
        try:
            out = fn(env["value"], GateContext(state, now, partition_id, partition_name, key))
            if is_awaitable(out):
                out = await out
            allow = gate_decision(out)
        except Exception as err:
            report(err)
            return None
        if not allow:
            decided = index
            if snapshot is not None:
                live = snapshot
            break
        allowed.append((index, env))
    emitted = [env for index, env in allowed if index < decided]
    touched = dict.fromkeys(env["key"] for env in emitted)
    ops = [{"type": "upsert", "key": key, "value": live[key]} for key in touched]
    emits = [{"key": env["key"], "value": env["value"]} for env in emitted]
    return GateOutcome(decided, emits, ops, decided == len(messages), len(emitted),
                       len(envelopes) - len(emitted))
