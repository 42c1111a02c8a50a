"""Runner of the streams scenario for a client that imports as ``queen`` (queen-turbo or the
reference ``queen-mq``): a windowed aggregation job over a pre-filled source queue.

``python bench/runners/streams_job.py streams '{"url": ..., "n": 100000, "partitions": 50}'``

The source gets ``n`` messages over ``partitions`` partitions first (not measured). Then
``Stream.from_(src).key_by(customer group).window_tumbling(seconds=5).aggregate({count, sum})
.to(sink)`` runs until the runner has committed every message; the measured section is from
``run()`` to that moment (client CPU of this process, wall time).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from typing import Any, Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Meter, args, emit, payload, quiet, run

quiet()
import queen  # noqa: E402
from queen import Queen, Stream  # noqa: E402


def client(url: str) -> Queen:
    try:
        return Queen(url, handle_signals=False)  # type: ignore[call-arg]
    except TypeError:  # the reference constructor has no handle_signals
        return Queen(url)


async def prefill(q: Queen, name: str, n: int, partitions: int) -> None:
    per = n // partitions

    async def fill(k: int) -> None:
        for start in range(0, per, 500):
            await q.queue(name).partition(f"p{k:02d}").push(
                [{"data": payload(k * per + i)} for i in range(start, min(per, start + 500))])

    await asyncio.gather(*(fill(k) for k in range(partitions)))


async def job(p: Dict[str, Any]) -> Dict[str, Any]:
    q = client(p["url"])
    tag = f"{os.getpid()}-{int(time.time())}"
    src, sink = f"bench-streams-src-{tag}", f"bench-streams-sink-{tag}"
    n, partitions = int(p["n"]), int(p.get("partitions", 50))
    await q.queue(src).create()
    await q.queue(sink).create()
    await prefill(q, src, n, partitions)
    total = n // partitions * partitions
    stream = (Stream.from_(q.queue(src))
              .key_by(lambda m: m["data"]["customer"][:4])  # 10 customer groups
              .window_tumbling(seconds=5)
              .aggregate({"count": lambda v: 1, "sum": lambda v: v["amount"]})
              .to(q.queue(sink)))
    gc.collect()
    meter = Meter()
    deadline = time.monotonic() + float(p.get("timeout", 240))
    with meter:
        runner = await stream.run(query_id=f"bench-{tag}", url=p["url"])
        while runner.metrics()["messagesTotal"] < total and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    metrics = runner.metrics()
    await runner.stop()
    try:
        await q.close()
    except Exception:
        pass
    if metrics["messagesTotal"] < total:
        return {"error": f"timed out after {metrics['messagesTotal']} of {total} messages"}
    return meter.result(total, cycles=metrics["cyclesTotal"], errors=metrics["errorsTotal"],
                        client_module=os.path.dirname(queen.__file__))


if __name__ == "__main__":
    emit(run(job(args())))
