"""An application written for queen-mq 0.15's streams package runs unchanged.

Everything here uses only the reference package's documented surface: its import paths,
its camelCase and snake_case spellings, its positional ``run(query_id, url)``, its error
classes (constructed the way its own code and its users' test doubles construct them) and
the ``Runner`` built from keyword options as its ``Stream.run`` builds it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import httpx
import pytest
from _jobs import drain, push_values, wait_for

import queen.streams.helpers as helpers
from queen import Queen, Stream, sliding_window_gate, token_bucket_gate
from queen.streams import Stream as StreamsStream
from queen.streams.helpers.rate_limiter import token_bucket_gate as tbg
from queen.streams.operators import (
    RESERVED_AGGREGATE_FIELDS,
    AggregateOperator,
    MapOperator,
    WindowTumblingOperator,
    parse_state_key,
    state_key_for,
)
from queen.streams.runtime import Runner, StreamsHttpClient, commit_cycle, get_state
from queen.streams.runtime.cycle import StreamsCycleFailed
from queen.streams.runtime.register import StreamsConfigHashMismatch, StreamsRegisterFailed
from queen.streams.runtime.state import StreamsStateGetFailed
from queen.streams.runtime.streams_http_client import StreamsHttpError
from queen.streams.stream import Stream as StreamModuleStream
from queen.streams.util.config_hash import config_hash_of


def test_import_paths_name_the_same_objects() -> None:
    assert Stream is StreamsStream is StreamModuleStream
    assert token_bucket_gate is tbg is helpers.token_bucket_gate
    assert sliding_window_gate is helpers.sliding_window_gate
    assert RESERVED_AGGREGATE_FIELDS == ["count", "sum", "min", "max", "avg"]
    key = state_key_for("tumb:60", "2026-01-01T00:00:00.000Z", "u1")
    assert parse_state_key(key) == {"operatorTag": "tumb:60",
                                    "windowKey": "2026-01-01T00:00:00.000Z", "userKey": "u1"}
    ops = [WindowTumblingOperator(seconds=60), AggregateOperator({"count": lambda v: 1})]
    assert config_hash_of(ops) == config_hash_of(
        Stream.from_({"name": "src"}).window_tumbling(seconds=60)
        .aggregate({"count": lambda v: 1}).operators)
    assert MapOperator(lambda v: v).kind == "map"


def test_error_classes_construct_as_in_queen_mq() -> None:
    # Test doubles of queen-mq applications raise these with positional arguments.
    http = StreamsHttpError("HTTP 503", 503, {"error": "busy"})
    assert (str(http), http.status, http.body) == ("HTTP 503", 503, {"error": "busy"})
    cycle = StreamsCycleFailed("cycle commit failed", {"success": False})
    assert cycle.body == {"success": False}
    assert StreamsCycleFailed.code == "STREAMS_CYCLE_FAILED"
    assert StreamsConfigHashMismatch.code == "STREAMS_CONFIG_HASH_MISMATCH"
    assert StreamsRegisterFailed.code == "STREAMS_REGISTER_FAILED"
    assert StreamsStateGetFailed.code == "STREAMS_STATE_GET_FAILED"
    assert StreamsConfigHashMismatch("config_hash mismatch").code == \
        "STREAMS_CONFIG_HASH_MISMATCH"


async def test_runner_built_from_keyword_options_as_queen_mq_does() -> None:
    compiled = (Stream.from_({"name": "src"}).map(lambda m: m).foreach(lambda v: None)
                ._compile())
    runner = Runner(queryId="q1", url="http://broker.test:6632", stream=compiled,
                    batchSize=10, maxPartitions=2, maxWaitMillis=50, consumerGroup="g")
    assert (runner.query_id, runner.batch_size, runner.max_partitions,
            runner.max_wait_millis, runner.consumer_group) == ("q1", 10, 2, 50, "g")
    assert runner.options["batchSize"] == 10
    assert isinstance(runner.http, StreamsHttpClient)
    await runner.http.close()


async def test_a_queen_mq_job_in_camel_case_runs_unchanged(any_broker: Any) -> None:
    async with Queen(url=any_broker.url, handle_signals=False) as q:
        src, sink = any_broker.name("port-src"), any_broker.name("port-sink")
        await q.queue(src).create()
        await q.queue(sink).create()
        await push_values(q, src, ["a", "b"], 20, lambda p, i: {"user": p, "amount": i})
        errors: List[Any] = []
        runner = await (
            Stream.from_queue(q.queue(src))
            .flatMap(lambda m: [m["data"]])
            .keyBy(lambda m: m["data"]["user"])
            .windowTumbling(seconds=3600, gracePeriod=0, idleFlushMs=100,
                            eventTime=lambda m: 0, allowedLateness=0, onLate="drop")
            .aggregate({"count": lambda v: 1, "sum": lambda v: v["amount"],
                        "avg": lambda v: v["amount"]})
            .map(lambda v, ctx: {**v, "user": ctx["key"]})
            .to(q.queue(sink))
            .run(any_broker.name("port-q"), any_broker.url, batchSize=50, maxPartitions=2,
                 maxWaitMillis=200, onError=lambda err, ctx: errors.append((err, ctx)))
        )
        try:
            await wait_for(lambda: _is(runner.metrics()["messagesTotal"] == 40))
        finally:
            await runner.stop()
        metrics = runner.metrics()
        assert {"cyclesTotal", "flushCyclesTotal", "messagesTotal", "pushItemsTotal",
                "stateOpsTotal", "lateEventsTotal", "errorsTotal", "lastCycleAt",
                "lastFlushAt", "lastError", "queryId", "serverQueryId"} <= set(metrics)
        assert errors == [] and metrics["errorsTotal"] == 0
        # One event-time window per user, still open: its rows hold the running totals.
        state: Dict[str, Any] = {}
        http = StreamsHttpClient(any_broker.url)
        try:
            for pid in {m["partitionId"] for m in await drain(q, src, "ids")}:
                state.update(await get_state(http, metrics["serverQueryId"], pid, []))
        finally:
            await http.close()
        rows = {parse_state_key(k)["userKey"]: v["acc"] for k, v in state.items()
                if not k.startswith("__")}
        assert rows == {u: {"count": 20, "sum": 190, "avg": 9.5, "__avg_sum": 190,
                            "__avg_count": 20} for u in ("a", "b")}


async def test_a_rate_limiter_and_a_foreach_job_run_unchanged(any_broker: Any) -> None:
    async with Queen(url=any_broker.url, handle_signals=False) as q:
        src, out = any_broker.name("port-rl"), any_broker.name("port-ok")
        await q.queue(src).create()
        await push_values(q, src, ["t1"], 5, lambda p, i: {"i": i})
        limited = await (Stream.from_(q.queue(src))
                         .gate(token_bucket_gate(capacity=100, refill_per_sec=100))
                         .to(q.queue(out))
                         .run(query_id=any_broker.name("port-rl-q"), url=any_broker.url))
        seen: List[Any] = []
        effects = await (Stream.from_(q.queue(src))
                         .filter(lambda m: m["data"]["i"] % 2 == 0)
                         .foreach(lambda value, ctx: seen.append((value["i"], ctx["partition"])))
                         .run(query_id=any_broker.name("port-fe-q"), url=any_broker.url,
                              consumer_group=any_broker.name("fe-group")))
        got: List[Any] = []
        try:
            async def done() -> bool:
                got.extend(await drain(q, out, "verify"))
                return len(got) == 5 and len(seen) == 3

            await wait_for(done)
        finally:
            await limited.stop()
            await effects.stop()
        assert sorted(m["data"]["i"] for m in got) == list(range(5))
        assert sorted(seen) == [(0, "t1"), (2, "t1"), (4, "t1")]
        assert limited.metrics()["gateAllowsTotal"] == 5


async def test_a_queen_mq_test_double_of_the_streams_endpoints_still_works() -> None:
    # queen-mq users test their jobs by swapping the runner's httpx client transport.
    calls: List[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/streams/v1/queries":
            return httpx.Response(200, json={"success": False,
                                             "error": "config_hash mismatch: changed"})
        return httpx.Response(404)

    http = StreamsHttpClient("http://broker.test:6632", bearer_token=None, timeout_ms=30000,
                             retry_attempts=3)
    http._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    from queen.streams.runtime import register_query

    with pytest.raises(StreamsConfigHashMismatch):
        await register_query(http, name="q", source_queue="s", config_hash="h")
    with pytest.raises(StreamsHttpError) as info:
        await commit_cycle(http, "q", "p", "g")
    assert info.value.status == 404 and calls[-1] == "/streams/v1/cycle"
    await http.close()


async def _is(value: bool) -> bool:
    await asyncio.sleep(0)
    return value
