"""Runner for queen-turbo's synchronous client (``queen.sync``), beside ``queen_client.py``.

``sync_push1``: the same loop as ``push1`` (100 messages per request, one request in
flight), written with blocking calls; its client CPU counts the private loop thread too
(``time.process_time()`` is per process). Target: at most 1.5x the async client's push1.
Usage: ``python bench/runners/queen_sync.py sync_push1 '{"url": ..., "n": 20000}'``.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Meter, args, emit, payload, quiet

quiet()
import queen  # noqa: E402
from queen.sync import Queen  # noqa: E402

BATCH = 100


def push(p: Dict[str, Any], q: Queen, name: str) -> Dict[str, Any]:
    work: List[List[Dict[str, Any]]] = [
        [{"data": payload(i + j)} for j in range(BATCH)] for i in range(0, p["n"], BATCH)
    ]
    queue = q.queue(name)
    queue.push(work.pop())  # warm the connection and the encoders
    meter = Meter()
    gc.collect()
    with meter:
        for items in work:
            t = time.perf_counter()
            queue.push(items)
            meter.latencies.append(time.perf_counter() - t)
    return meter.result(len(work) * BATCH, inflight=1)


SCENARIOS = {"sync_push1": push}


def main() -> None:
    p = args()
    with Queen(p["url"], handle_signals=False) as q:
        name = f"bench-{p['scenario']}-{os.getpid()}"
        q.queue(name).create()
        result = SCENARIOS[p["scenario"]](p, q, name)
    result["client_module"] = os.path.dirname(queen.__file__)
    emit(result)


if __name__ == "__main__":
    main()
