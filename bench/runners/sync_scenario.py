"""The queen.sync scenario of ``python -m bench.run``: its name, how it starts, its target.

``sync_push1`` is ``push1`` (100 messages per request, one in flight) written with
``queen.sync`` (``bench/runners/queen_sync.py``); only queen-turbo has a synchronous client.
Target: at most 1.5x the async client's client CPU per message in ``push1``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

NAME = "sync_push1"
TITLE = "queen.sync: push 100/request, 1 in flight"
SHORT = "queen.sync push\n1 in flight"
ASYNC_TWIN = "push1"


def params(quick: bool) -> Dict[str, Any]:
    return {"n": 10_000 if quick else 50_000}



def target(sync_cpu: Optional[float], async_cpu: Optional[float]) -> Optional[List[str]]:
    """The targets-table row, from client CPU ms per 1000 messages of both scenarios."""
    if not sync_cpu or not async_cpu:
        return None
    return ["queen.sync push 100/request: CPU ≤ 1.5x the async client's",
            f"{sync_cpu / async_cpu:.2f}x ({sync_cpu:.2f} vs {async_cpu:.2f} ms)",
            "met" if sync_cpu <= 1.5 * async_cpu else "not met"]
