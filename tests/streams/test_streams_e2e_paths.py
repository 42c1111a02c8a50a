"""Each runner path end to end on both brokers: event time and late data, sessions, sliding
and cron windows, gates, pass-through chains, and both sinks."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from _jobs import drain, push_values, wait_for

from queen import Queen, Stream, token_bucket_gate
from queen.streams.runtime.state import get_state
from queen.streams.runtime.streams_http_client import StreamsHttpClient


async def _queues(queen: Queen, any_broker: Any, lease: int = 300) -> List[str]:
    src, sink = any_broker.name("sp-src"), any_broker.name("sp-sink")
    await queen.queue(src).config({"lease_time": lease}).create()
    await queen.queue(sink).create()
    return [src, sink]


async def _collect(queen: Queen, sink: str, n: int) -> List[Dict[str, Any]]:
    seen: List[Dict[str, Any]] = []

    async def enough() -> bool:
        seen.extend(await drain(queen, sink, "verify"))
        return len(seen) >= n

    await wait_for(enough, timeout=30)
    return seen


def _windowed(stream: Stream) -> Stream:
    return stream.map(lambda v, ctx: {**v, "key": ctx["key"], "start": ctx["windowStart"],
                                      "end": ctx["windowEnd"]})


async def test_event_time_windows_late_events_and_watermark(any_broker: Any,
                                                            make_queen: Any) -> None:
    queen = make_queen()
    src, sink = await _queues(queen, any_broker)
    # Event times (s): 1, 2, 11, then 3 (late: the watermark is 11 - 2 = 9), 12, 25.
    stamps = [1, 2, 11, 3, 12, 25]
    for i, t in enumerate(stamps):  # one push each: one cycle each, in order
        await queen.queue(src).partition("p").push([{"data": {"t": t * 1000, "v": i + 1}}])
    runner = await _windowed(
        Stream.from_(queen.queue(src))
        .window_tumbling(seconds=10, allowed_lateness=2, idle_flush_ms=100,
                         event_time=lambda m: m["data"]["t"])
        .aggregate({"count": lambda v: 1, "sum": lambda v: v["v"]})
    ).to(queen.queue(sink)).run(query_id=any_broker.name("q"), url=any_broker.url,
                                batch_size=1, max_partitions=1)
    try:
        seen = await _collect(queen, sink, 2)
        await wait_for(lambda: _is(runner.metrics()["messagesTotal"] == 6))
        await asyncio.sleep(0.4)
        seen.extend(await drain(queen, sink, "verify"))
    finally:
        await runner.stop()
    windows = {m["data"]["start"]: (m["data"]["count"], m["data"]["sum"]) for m in seen}
    # [0, 10s) closed when the watermark passed 10 s; [10, 20s) when it reached 23 s; the
    # late event (v=4) was dropped; [20, 30s) stays open (watermark 23 s).
    assert windows == {0: (2, 1 + 2), 10_000: (2, 3 + 5)}
    assert runner.metrics()["lateEventsTotal"] == 1
    http = StreamsHttpClient(any_broker.url)
    try:
        pid = seen[0]["data"]["key"]
        state = await get_state(http, runner.metrics()["serverQueryId"], pid)
    finally:
        await http.close()
    assert state["__wm__"] == {"eventTimeMs": 23_000}
    [(key, row)] = [(k, v) for k, v in state.items() if k != "__wm__"]
    assert key == f"tumb:10\x1f1970-01-01T00:00:20.000Z\x1f{pid}"
    assert row == {"acc": {"count": 1, "sum": 6}, "windowStart": 20_000, "windowEnd": 30_000}


async def test_on_late_include_and_sliding_windows(any_broker: Any, make_queen: Any) -> None:
    queen = make_queen()
    src, sink = await _queues(queen, any_broker)
    for t in (5, 12, 1, 40):  # 1 s comes after the watermark reached 12 s: late, included
        await queen.queue(src).partition("p").push([{"data": {"t": t * 1000}}])
    runner = await _windowed(
        Stream.from_(queen.queue(src))
        .window_sliding(size=20, slide=10, on_late="include", idle_flush_ms=0,
                        event_time=lambda m: m["data"]["t"])
        .reduce(lambda acc, v: {"n": acc["n"] + 1, "ts": [*acc["ts"], v["t"] // 1000]},
                {"n": 0, "ts": []})
    ).to(queen.queue(sink)).run(query_id=any_broker.name("q"), url=any_broker.url,
                                batch_size=1, max_partitions=1)
    try:
        seen = await _collect(queen, sink, 4)
        await wait_for(lambda: _is(runner.metrics()["messagesTotal"] == 4))
        seen.extend(await drain(queen, sink, "verify"))
    finally:
        await runner.stop()
    got = sorted((m["data"]["start"], m["data"]["end"], sorted(m["data"]["ts"])) for m in seen)
    # Windows of 20 s every 10 s, closed once the watermark passes their end. The late event
    # (1 s, included) lands in [-10, 10 s) after that window closed at 12 s: the window is
    # emitted a second time with the late event only (reference behaviour of "include").
    assert got == [(-10_000, 10_000, [1]), (-10_000, 10_000, [5]), (0, 20_000, [1, 5, 12]),
                   (10_000, 30_000, [12])]
    assert runner.metrics()["lateEventsTotal"] == 0


async def test_session_windows_closed_by_the_idle_flush(any_broker: Any,
                                                        make_queen: Any) -> None:
    queen = make_queen()
    src, _ = await _queues(queen, any_broker)
    await push_values(queen, src, ["a", "b"], 5, lambda p, i: {"user": p, "v": i})
    sent: List[Dict[str, Any]] = []
    runner = await _windowed(
        Stream.from_(queen.queue(src))
        .key_by(lambda m: m["data"]["user"])
        .window_session(gap=0.5, idle_flush_ms=100)
        .aggregate({"count": lambda v: 1, "sum": lambda v: v["v"]})
    ).foreach(lambda v: sent.append(v)).run(query_id=any_broker.name("q"), url=any_broker.url)
    try:
        await wait_for(lambda: _is(len(sent) >= 2))
        await asyncio.sleep(0.4)
    finally:
        await runner.stop()
    assert sorted((v["key"], v["count"], v["sum"]) for v in sent) == [("a", 5, 10),
                                                                        ("b", 5, 10)]
    assert all(v["end"] - v["start"] >= 500 for v in sent)
    assert runner.metrics()["flushCyclesTotal"] >= 1


async def test_cron_window_with_key_by_and_foreach_context(any_broker: Any,
                                                           make_queen: Any) -> None:
    queen = make_queen()
    src, _ = await _queues(queen, any_broker)
    await push_values(queen, src, ["p0", "p1"], 6, lambda p, i: {"team": "ab"[i % 2], "v": i})
    seen: List[Any] = []
    runner = await (
        Stream.from_(queen.queue(src))
        .key_by(lambda m: m["data"]["team"])
        .window_cron(every="second", idle_flush_ms=100)
        .aggregate({"sum": lambda v: v["v"], "max": lambda v: v["v"], "avg": lambda v: v["v"]})
        .foreach(lambda v, ctx: seen.append((ctx["key"], ctx["windowKey"], v)))
    ).run(query_id=any_broker.name("q"), url=any_broker.url)
    try:
        await wait_for(lambda: _is(runner.metrics()["messagesTotal"] == 12))
        await wait_for(lambda: _is(sum(v["sum"] for _, _, v in seen) == 2 * sum(range(6))))
    finally:
        await runner.stop()
    for key, window_key, v in seen:
        assert key in ("a", "b") and window_key.endswith(".000Z")
        assert set(v) == {"sum", "max", "avg"}  # the avg helpers are not emitted


async def test_pass_through_chain_to_a_sink_with_partitions(any_broker: Any,
                                                            make_queen: Any) -> None:
    queen = make_queen()
    src, sink = await _queues(queen, any_broker)
    await push_values(queen, src, ["p0", "p1"], 5, lambda p, i: {"n": i, "p": p})
    runner = await (
        Stream.from_(queen.queue(src))
        .filter(lambda m: m["data"]["n"] % 2 == 0)
        .flat_map(lambda m: [m["data"]["n"], m["data"]["n"] + 100])
        .to(queen.queue(sink), partition=lambda v: "big" if v >= 100 else "small")
    ).run(query_id=any_broker.name("q"), url=any_broker.url)
    try:
        seen = await _collect(queen, sink, 12)
        await wait_for(lambda: _is(runner.metrics()["messagesTotal"] == 10))
    finally:
        await runner.stop()
    by_partition: Dict[str, List[int]] = {}
    for m in seen:
        by_partition.setdefault(m["partition"], []).append(m["data"]["value"])
    assert sorted(by_partition["small"]) == [0, 0, 2, 2, 4, 4]
    assert sorted(by_partition["big"]) == [100, 100, 102, 102, 104, 104]
    # The whole batch was acked, filtered messages included: nothing is left to pop.
    assert await drain(queen, src, f"streams.{runner.query_id}") == []


async def test_token_bucket_gate_allows_then_holds_the_rest(any_broker: Any,
                                                            make_queen: Any) -> None:
    queen = make_queen()
    src, sink = await _queues(queen, any_broker)
    await push_values(queen, src, ["p"], 8, lambda p, i: {"n": i})
    runner = await (
        Stream.from_(queen.queue(src))
        .gate(token_bucket_gate(capacity=3, refill_per_sec=0.001))
        .map(lambda v, ctx: {**v, "key": ctx["key"]})
        .to(queen.queue(sink))
    ).run(query_id=any_broker.name("q"), url=any_broker.url)
    try:
        seen = await _collect(queen, sink, 3)
        await asyncio.sleep(0.3)
        metrics = runner.metrics()
    finally:
        await runner.stop()
    assert [m["data"]["n"] for m in seen] == [0, 1, 2]
    assert metrics["gateAllowsTotal"] == 3 and metrics["gateDenialsTotal"] >= 5
    assert metrics["messagesTotal"] == 8 and metrics["cyclesTotal"] == 1
    http = StreamsHttpClient(any_broker.url)
    try:
        pid = seen[0]["data"]["key"]
        state = await get_state(http, metrics["serverQueryId"], pid)
    finally:
        await http.close()
    assert state[pid]["allowedTotal"] == 3 and state[pid]["tokens"] < 1


async def test_gate_acks_the_messages_a_filter_dropped(any_broker: Any,
                                                       make_queen: Any) -> None:
    # Every message of the batch is filtered out before the gate: the cycle still acks them
    # (the reference commits nothing, so they came back after each lease expiry, forever).
    queen = make_queen()
    src, sink = await _queues(queen, any_broker, lease=1)
    await push_values(queen, src, ["p"], 4, lambda p, i: {"n": i})
    runner = await (
        Stream.from_(queen.queue(src))
        .filter(lambda m: m["data"]["n"] > 100)
        .gate(lambda v, ctx: True)
        .to(queen.queue(sink))
    ).run(query_id=any_broker.name("q"), url=any_broker.url)
    try:
        await wait_for(lambda: _is(runner.metrics()["cyclesTotal"] == 1))
        await asyncio.sleep(2.5)  # past the 1 s lease: an unacked batch would be back
        metrics = runner.metrics()
    finally:
        await runner.stop()
    assert (metrics["cyclesTotal"], metrics["messagesTotal"], metrics["errorsTotal"]) == (1, 4, 0)
    assert await drain(queen, sink, "verify") == []


async def _is(value: bool) -> bool:
    return value


async def test_stop_called_from_the_jobs_own_foreach(any_broker: Any, make_queen: Any) -> None:
    # "Stop after the fifth value": stop() from inside a cycle must let that cycle commit
    # (it used to close the client under it: an error, and the batch redelivered later).
    queen = make_queen()
    src, _ = await _queues(queen, any_broker)
    await push_values(queen, src, ["p"], 5, lambda p, i: {"i": i})
    seen: List[int] = []
    job: Dict[str, Any] = {}

    async def each(value: Any) -> None:
        seen.append(value["i"])
        if len(seen) == 5:
            await job["runner"].stop()

    job["runner"] = runner = await Stream.from_(queen.queue(src)).foreach(each).run(
        query_id=any_broker.name("q"), url=any_broker.url)
    try:
        await wait_for(lambda: _is(runner._loop_task.done()))
    finally:
        await runner.stop()  # a second stop is harmless and waits for the first
    metrics = runner.metrics()
    assert (metrics["cyclesTotal"], metrics["messagesTotal"], metrics["errorsTotal"]) == (1, 5, 0)
    assert seen == [0, 1, 2, 3, 4]
    # The batch was acknowledged: the job's group has nothing left.
    assert await drain(queen, src, "streams." + metrics["queryId"]) == []
