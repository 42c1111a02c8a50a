"""Stress: 10,000 messages over 50 partitions through a tumbling sum, every window checked.

The producer pushes while the runner consumes, and the idle flush runs every 100 ms, so
cycles and flushes of the same partitions overlap all the time: a lost or double-counted
message shows as a wrong window total. Each round is one test; run many with
``QUEEN_STREAMS_STRESS_ROUNDS=20 pytest -q tests/streams/test_streams_stress.py``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Dict, List

import pytest
from _jobs import drain, emitted_windows, expected_windows, wait_for

from queen import Stream

ROUNDS = int(os.environ.get("QUEEN_STREAMS_STRESS_ROUNDS", "1"))
PARTITIONS = 50
PER_PARTITION = 200
BURSTS = 10


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_tumbling_sum_under_load(any_broker: Any, make_queen: Any, round_: int) -> None:
    queen = make_queen()
    src, sink = any_broker.name("stress-src"), any_broker.name("stress-sink")
    await queen.queue(src).create()
    await queen.queue(sink).create()
    runner = await (
        Stream.from_(queen.queue(src))
        .window_tumbling(seconds=1, idle_flush_ms=100)
        .aggregate({"count": lambda v: 1, "sum": lambda v: v["v"]})
        .map(lambda v, ctx: {**v, "key": ctx["key"], "windowStart": ctx["windowStart"]})
        .to(queen.queue(sink))
        .run(query_id=any_broker.name("stress"), url=any_broker.url)
    )
    chunk = PER_PARTITION // BURSTS

    async def produce() -> None:
        for burst in range(BURSTS):
            await asyncio.gather(*(
                queen.queue(src).partition(f"p{p:02d}").push(
                    [{"data": {"v": p * 1000 + burst * chunk + i}} for i in range(chunk)])
                for p in range(PARTITIONS)))
            await asyncio.sleep(0.2)

    total = PARTITIONS * PER_PARTITION
    seen: List[Dict[str, Any]] = []

    async def all_counted() -> bool:
        seen.extend(await drain(queen, sink, "verify"))
        return sum(m["data"]["count"] for m in seen) >= total

    try:
        await produce()
        await wait_for(all_counted, timeout=120, interval=0.25)
        await asyncio.sleep(0.5)  # later flushes must not emit anything more
        seen.extend(await drain(queen, sink, "verify"))
    finally:
        await runner.stop()
    source = await drain(queen, src, "expected")
    assert len(source) == total
    expected = expected_windows(source, 1000)
    got = emitted_windows(seen)
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    assert not wrong, f"{len(wrong)} wrong window totals, e.g. {list(wrong.items())[:3]}"
    assert set(got) == set(expected)
    assert runner.metrics()["errorsTotal"] == 0
