"""The Streams SDK end to end, on queen.testing and on the real broker (``any_broker``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List

import httpx
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


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
async def test_a_quiet_partition_keeps_being_flushed_until_its_windows_close(
        any_broker: Any, make_queen: Any, monkeypatch: pytest.MonkeyPatch,
        restart: bool) -> None:
    # The idle flush visits the partitions cycled in the last few minutes (here 0.3 s). A
    # partition that went quiet with a window still open must stay on that list until the
    # window closes, even while other partitions keep cycling, and a restarted runner must
    # learn which partitions it adopted hold open windows; otherwise the window is never
    # emitted (a window longer than the recency period is the common case: 1-hour windows).
    monkeypatch.setattr("queen.streams.runtime.runner.PARTITION_RECENCY_MS", 300)
    queen = make_queen()
    src, sink = await _sources(queen, any_broker)
    query = any_broker.name("q")

    def job(q: Queen) -> Stream:
        return _summed(
            Stream.from_(q.queue(src)).window_tumbling(seconds=3, idle_flush_ms=100)
            .aggregate({"count": lambda v: 1, "sum": lambda v: v["v"]})
        ).to(q.queue(sink))

    runner = await job(queen).run(query_id=query, url=any_broker.url, max_wait_millis=100)
    # The quiet message opens its window (broker and test share this machine's clock) about
    # when the window starts, so the window outlives a restart of the runner.
    await asyncio.sleep(3 - time.time() % 3)
    await queen.queue(src).partition("quiet").push([{"data": {"v": 7}}])
    await wait_for(lambda: _true(runner.metrics()["messagesTotal"] == 1))
    if restart:
        await runner.stop()
        queen = make_queen()
        runner = await job(queen).run(query_id=query, url=any_broker.url, max_wait_millis=100)
    seen: List[Dict[str, Any]] = []
    try:
        for i in range(25):  # 5 s of traffic elsewhere: the quiet window ends within 3 s
            await queen.queue(src).partition("busy").push([{"data": {"v": i}}])
            await asyncio.sleep(0.2)
            seen.extend(await drain(queen, sink, "verify"))
        await asyncio.sleep(0.5)
        seen.extend(await drain(queen, sink, "verify"))
    finally:
        await runner.stop()
    quiet = [m["data"] for m in seen if m["partition"] == "quiet"]
    assert [(d["count"], d["sum"]) for d in quiet] == [(1, 7)]
    assert runner.metrics()["errorsTotal"] == 0


async def test_an_idle_runner_stops_visiting_adopted_partitions_without_open_windows(
        any_broker: Any, make_queen: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A started runner adopts every partition of the source. Those that hold no open window
    # must leave the idle flush's list even when nothing is ever cycled again; otherwise an
    # idle job on a queue of many partitions reads their state at every tick, forever.
    monkeypatch.setattr("queen.streams.runtime.runner.PARTITION_RECENCY_MS", 200)
    queen = make_queen()
    src, sink = await _sources(queen, any_broker)
    await push_values(queen, src, [f"p{i}" for i in range(5)], 1, lambda p, i: {"v": 1})
    consumed = await drain(queen, src, "streams." + (query := any_broker.name("q")))
    assert len(consumed) == 5  # the job's group has read everything: it stays idle
    reads: List[str] = []
    runner = await _tumbling_sum(queen, src, sink, flush_ms=50).run(
        query_id=query, url=any_broker.url, max_wait_millis=100)
    inner = runner.http._client._transport

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/streams/v1/state/get":
                reads.append(request.url.path)
            return await inner.handle_async_request(request)

    runner.http._client._transport = Counting()
    try:
        await asyncio.sleep(1.0)
        before = len(reads)
        await asyncio.sleep(1.0)
    finally:
        await runner.stop()
    assert before >= 5  # each adopted partition was probed once
    assert len(reads) == before  # and then no longer visited
