"""The Streams SDK end to end, on queen.testing and on the real broker (``any_broker``)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from _jobs import (
    arm,
    close_dead,
    drain,
    emitted_windows,
    expected_windows,
    push_values,
    wait_for,
)

from queen import Queen, Stream, StreamsConfigHashMismatch
from queen.streams.runtime.state import get_state


def _summed(stream: Stream) -> Stream:
    """A post-reducer map that carries the window identity into the sink payload."""
    return stream.map(lambda v, ctx: {**v, "key": ctx["key"], "windowStart": ctx["windowStart"]})


def _tumbling_sum(queen: Queen, src: str, sink: str, flush_ms: int = 200) -> Stream:
    return _summed(
        Stream.from_(queen.queue(src))
        .window_tumbling(seconds=1, idle_flush_ms=flush_ms)
        .aggregate({"count": lambda v: 1, "sum": lambda v: v["v"]})
    ).to(queen.queue(sink))


async def _sources(queen: Queen, any_broker: Any, lease: int = 300) -> List[str]:
    src, sink = any_broker.name("st-src"), any_broker.name("st-sink")
    await queen.queue(src).config({"lease_time": lease}).create()
    await queen.queue(sink).create()
    return [src, sink]


async def _wait_all_counted(queen: Queen, sink: str, total: int,
                            seen: List[Dict[str, Any]]) -> None:
    async def done() -> bool:
        seen.extend(await drain(queen, sink, "verify"))
        return sum(m["data"]["count"] for m in seen) >= total

    await wait_for(done, timeout=60)


async def test_tumbling_sum_with_idle_flush(any_broker: Any, make_queen: Any) -> None:
    queen = make_queen()
    src, sink = await _sources(queen, any_broker)
    parts = ["p0", "p1", "p2"]
    await push_values(queen, src, parts, 40, lambda p, i: {"v": i})
    runner = await _tumbling_sum(queen, src, sink).run(query_id=any_broker.name("q"),
                                                       url=any_broker.url)
    seen: List[Dict[str, Any]] = []
    try:
        await _wait_all_counted(queen, sink, 120, seen)
        await asyncio.sleep(0.5)  # one more flush: nothing may be emitted twice
        seen.extend(await drain(queen, sink, "verify"))
    finally:
        await runner.stop()
    source = await drain(queen, src, "expected")
    assert emitted_windows(seen) == expected_windows(source, 1000)
    metrics = runner.metrics()
    assert metrics["messagesTotal"] == 120 and metrics["errorsTotal"] == 0
    # Nothing arrives after the last window: only the idle flush can close it.
    assert metrics["flushCyclesTotal"] >= 1
    assert {m["partition"] for m in seen} == set(parts)  # the sink reuses the source partition


@pytest.mark.parametrize("point,nth", [
    ("before:/streams/v1/state/get", 1),
    ("before:/streams/v1/cycle", 1),
    ("after:/streams/v1/cycle", 1),
    ("after:/streams/v1/cycle", 3),
    ("after:flush", 1),
])
async def test_recovery_after_a_killed_runner(any_broker: Any, make_queen: Any, point: str,
                                              nth: int) -> None:
    queen = make_queen()
    src, sink = await _sources(queen, any_broker, lease=1)
    parts = ["p0", "p1", "p2"]
    await push_values(queen, src, parts, 30, lambda p, i: {"v": i + 1})
    query = any_broker.name("q")
    first = await _tumbling_sum(queen, src, sink).run(query_id=query, url=any_broker.url,
                                                      batch_size=10, max_partitions=1)
    killer = arm(first, point, nth)
    await asyncio.wait_for(killer.fired, 30)
    await close_dead(first, killer)

    again = make_queen()  # a new process: its own client
    second = await _tumbling_sum(again, src, sink).run(query_id=query, url=any_broker.url)
    seen: List[Dict[str, Any]] = []
    try:
        await _wait_all_counted(again, sink, 90, seen)
        await asyncio.sleep(0.6)
        seen.extend(await drain(again, sink, "verify"))
    finally:
        await second.stop()
    source = await drain(again, src, "expected")
    assert emitted_windows(seen) == expected_windows(source, 1000)
    assert sum(m["data"]["count"] for m in seen) == 90


async def test_config_hash_mismatch_and_reset(any_broker: Any, make_queen: Any) -> None:
    queen = make_queen()
    src, sink = await _sources(queen, any_broker)
    await push_values(queen, src, ["p0"], 10, lambda p, i: {"v": i})
    query = any_broker.name("q")
    counting = (Stream.from_(queen.queue(src)).window_tumbling(seconds=3600, idle_flush_ms=0)
                .aggregate({"count": lambda v: 1}).to(queen.queue(sink)))
    runner = await counting.run(query_id=query, url=any_broker.url)
    await wait_for(lambda: _true(runner.metrics()["messagesTotal"] == 10))
    await runner.stop()
    server_id = runner.metrics()["serverQueryId"]
    pid = (await drain(queen, src, "ids"))[0]["partitionId"]
    http = _http(any_broker.url)

    changed = (Stream.from_(queen.queue(src)).window_tumbling(seconds=3600, idle_flush_ms=0)
               .aggregate({"count": lambda v: 1, "sum": lambda v: v["v"]})
               .to(queen.queue(sink)))
    with pytest.raises(StreamsConfigHashMismatch) as info:
        await changed.run(query_id=query, url=any_broker.url)
    assert str(info.value).startswith("config_hash mismatch")
    assert "reset=True" in str(info.value)

    try:
        assert len(await get_state(http, server_id, pid)) == 1  # the open window's row
        # The same chain again resumes: its open window is still there.
        same = await counting.run(query_id=query, url=any_broker.url)
        await same.stop()
        assert len(await get_state(http, server_id, pid)) == 1
        reset = await changed.run(query_id=query, url=any_broker.url, reset=True)
        await reset.stop()
        assert reset.metrics()["serverQueryId"] == server_id
        assert await get_state(http, server_id, pid) == {}
    finally:
        await http.close()


def _http(url: str) -> Any:
    from queen.streams.runtime.streams_http_client import StreamsHttpClient

    return StreamsHttpClient(url)


async def _true(value: bool) -> bool:
    return value
