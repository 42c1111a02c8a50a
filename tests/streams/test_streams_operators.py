"""Operator semantics (client contract §8.3-§8.7), without a broker."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from queen import Stream, sliding_window_gate, token_bucket_gate
from queen.streams._calls import takes_ctx
from queen.streams._time import iso_from_ms, parse_iso_ms
from queen.streams.operators import (
    AggregateOperator,
    GateOperator,
    ReduceOperator,
    SinkOperator,
    WindowSessionOperator,
    parse_state_key,
    state_key_for,
)
from queen.streams.operators.gate_op import GateContext
from queen.streams.runtime._emit import finish_emits

SRC = {"queueName": "src"}


def env(data: Any, key: str = "k", **msg: Any) -> Dict[str, Any]:
    m = {"data": data, "partitionId": key, **msg}
    return {"msg": m, "key": key, "value": data}


async def test_pre_reducer_ops_see_the_source_message() -> None:
    seen: List[Any] = []
    a = Stream.from_(SRC).map(lambda m: seen.append(("a", m["data"])) or "A").operators[0]
    b = Stream.from_(SRC).map(lambda m, ctx: seen.append(("b", m["data"], ctx)) or "B")
    out = await b.operators[0].run_pre(await a.run_pre([env(1)]))
    assert seen == [("a", 1), ("b", 1, None)]
    assert out[0]["value"] == "B"  # the last map wins


async def test_pre_filter_and_flat_map() -> None:
    keep = Stream.from_(SRC).filter(lambda m: m["data"] % 2).operators[0]
    assert [e["value"] for e in await keep.run_pre([env(1), env(2), env(3)])] == [1, 3]
    fm = Stream.from_(SRC).flat_map(lambda m: [m["data"], m["data"] * 10]).operators[0]
    out = await fm.run_pre([env(1), env(2)])
    assert [e["value"] for e in out] == [1, 10, 2, 20]
    assert out[0]["msg"] is out[1]["msg"]


async def test_async_user_functions() -> None:
    async def double(m):
        return m["data"] * 2

    async def big(m):
        return m["data"] > 1

    ops = Stream.from_(SRC).map(double).filter(big).operators
    out = await ops[1].run_pre(await ops[0].run_pre([env(1), env(2)]))
    assert [e["value"] for e in out] == [4]


async def test_key_by_stringifies() -> None:
    op = Stream.from_(SRC).key_by(lambda m: m["data"]["user"]).operators[0]
    out = await op.run_pre([env({"user": 7}), env({"user": None})])
    assert [e["key"] for e in out] == ["7", "None"]


def test_calling_convention_is_decided_once() -> None:
    # D23b: two positional parameters or *args mean (x, ctx), anything else (x).
    assert takes_ctx(lambda x, ctx: 1) and takes_ctx(lambda *a: 1)
    assert takes_ctx(lambda x, ctx=None: 1)
    assert not takes_ctx(lambda x: 1) and not takes_ctx(lambda x, *, ctx=None: 1)
    assert not takes_ctx(len)  # a builtin: called with one argument


async def test_type_error_inside_user_code_is_not_retried() -> None:
    calls: List[Any] = []

    def fn(m, ctx):
        calls.append(m)
        raise TypeError("user bug")

    op = Stream.from_(SRC).map(fn).operators[0]
    with pytest.raises(TypeError, match="user bug"):
        await op.run_pre([env(1)])
    assert len(calls) == 1  # the reference SDKs call it again with one argument


async def test_post_reducer_ops_see_value_and_ctx() -> None:
    stream = (Stream.from_(SRC).window_tumbling(seconds=1).reduce(lambda a, v: a)
              .map(lambda v, ctx: None if v == "keep" else (v, ctx["windowKey"]))
              .filter(lambda v: v != "drop")
              .flat_map(lambda v: [v, None])
              .to({"queueName": "out"}, partition=lambda v: "P"))
    stages = stream.compile().stages
    emits = [{"key": "k", "value": "keep", "windowStart": 0, "windowEnd": 1000,
              "windowKey": iso_from_ms(0)},
             {"key": "k", "value": "drop", "windowKey": None}]
    items = await finish_emits(stages, emits, "pid", "p0")
    assert [i["payload"] for i in items] == [{"value": "keep"}, {"value": "keep"},
                                             {"value": ("drop", None)},
                                             {"value": ("drop", None)}]
    assert {i["partition"] for i in items} == {"P"} and {i["queue"] for i in items} == {"out"}


def test_sink_items() -> None:
    sink = SinkOperator({"queue_name": "out"})
    items = sink.build_push_items([{"value": {"a": 1}}, {"value": 5}, {"value": None}], None)
    assert items == [
        {"queue": "out", "partition": "Default", "payload": {"a": 1}},
        {"queue": "out", "partition": "Default", "payload": {"value": 5}},
        {"queue": "out", "partition": "Default", "payload": {"value": None}},
    ]
    named = SinkOperator({"name": "o"}, partition="fixed")
    assert named.build_push_items([{"value": 1}], "src-p")[0]["partition"] == "fixed"
    assert SinkOperator({"queueName": "o"}).build_push_items([{"value": 1}], "src-p")[0][
        "partition"] == "src-p"


async def test_foreach_gets_value_and_ctx() -> None:
    got: List[Any] = []
    stages = Stream.from_(SRC).foreach(lambda v, ctx: got.append((v, ctx["partition"]))).compile()
    assert await finish_emits(stages.stages, [{"key": "k", "value": 3}], "pid", "p") == []
    assert got == [(3, "p")]


# -- reduce and aggregate ------------------------------------------------------------------


async def test_aggregate_semantics() -> None:
    agg = AggregateOperator({"count": lambda v: v.get("n"), "sum": lambda v: v["x"],
                             "min": lambda v: v["x"], "max": lambda v: v["x"],
                             "avg": lambda v: v["x"], "other": lambda v: v["x"]})
    acc = agg.initial_acc()
    assert acc == {"count": 0, "sum": 0, "min": None, "max": None, "__avg_sum": 0,
                   "__avg_count": 0, "avg": 0, "other": 0}
    for v in ({"x": 4}, {"x": True, "n": 3}, {"x": "s"}, {"x": 1.5}):
        acc = agg.fold(acc, v)
    assert acc["count"] == 1 + 3 + 1 + 1  # a number adds itself, anything else 1
    assert acc["sum"] == 5.5 and acc["other"] == 5.5
    assert (acc["min"], acc["max"]) == (1.5, 4) and acc["avg"] == pytest.approx(2.75)
    emitted = agg.emit_value(acc)
    assert "__avg_sum" not in emitted and "__avg_count" not in emitted
    assert acc["__avg_count"] == 2  # the state keeps them


async def test_aggregate_with_async_extractors() -> None:
    async def amount(v):
        await asyncio.sleep(0)
        return v["x"]

    agg = AggregateOperator({"count": lambda v: 1, "sum": amount, "max": lambda v: v["x"]})
    acc = agg.initial_acc()
    for x in (3, 9):
        acc = await agg.fold(acc, {"x": x})
    assert acc == {"count": 2, "sum": 12, "max": 9}


def _annotated(key: str, start: int, value: Any, size: int = 1000) -> Dict[str, Any]:
    return {"msg": {}, "key": key, "value": value, "windowStart": start,
            "windowEnd": start + size, "windowKey": iso_from_ms(start), "operatorTag": "tumb:1"}


async def test_reduce_run_seeds_folds_closes_and_upserts() -> None:
    red = ReduceOperator(lambda acc, v: acc + v, 0)
    loaded = {
        state_key_for("tumb:1", iso_from_ms(0), "a"): {"acc": 10, "windowStart": 0,
                                                      "windowEnd": 1000},
        state_key_for("tumb:1", iso_from_ms(2000), "a"): {"acc": 1, "windowStart": 2000,
                                                         "windowEnd": 3000},
        state_key_for("tumb:9", iso_from_ms(0), "a"): {"acc": 99},  # another operator
        "__wm__": {"eventTimeMs": 5},
        state_key_for(iso_from_ms(0), "legacy"): {"acc": 7},  # legacy 2-part key
    }
    result = await red.run([_annotated("a", 0, 5), _annotated("b", 1000, 2),
                            _annotated("a", 4000, 3)], loaded, 3500, "tumb:1", 0)
    emits = {(e["key"], e["windowStart"]): e["value"] for e in result["emits"]}
    assert emits == {("a", 0): 15, ("b", 1000): 2, ("a", 2000): 1}
    ops = {(o["type"], o["key"]) for o in result["stateOps"]}
    assert ops == {("delete", state_key_for("tumb:1", iso_from_ms(0), "a")),
                   ("delete", state_key_for("tumb:1", iso_from_ms(2000), "a")),
                   ("upsert", state_key_for("tumb:1", iso_from_ms(4000), "a"))}
    upsert = next(o for o in result["stateOps"] if o["type"] == "upsert")
    assert upsert["value"] == {"acc": 3, "windowStart": 4000, "windowEnd": 5000}


async def test_reduce_initial_is_deep_copied_per_window() -> None:
    red = ReduceOperator(lambda acc, v: {**acc, "items": [*acc["items"], v]}, {"items": []})
    first = red.initial_acc()
    first["items"].append("x")
    assert red.initial_acc() == {"items": []}


def test_state_keys() -> None:
    key = state_key_for("tumb:60", "2026-01-01T00:00:00.000Z", "user-1")
    assert key == "tumb:60\x1f2026-01-01T00:00:00.000Z\x1fuser-1"
    assert parse_state_key(key) == {"operatorTag": "tumb:60",
                                    "windowKey": "2026-01-01T00:00:00.000Z", "userKey": "user-1"}
    assert parse_state_key("w\x1fu") == {"operatorTag": "", "windowKey": "w", "userKey": "u"}
    assert parse_state_key("plain") is None and parse_state_key(3) is None


# -- sessions ------------------------------------------------------------------------------


def _sess(key: str, ts: int, value: Any) -> Dict[str, Any]:
    return {"msg": {}, "key": key, "value": value, "eventTimeMs": ts}


async def test_session_open_extend_close_and_sweep() -> None:
    op = WindowSessionOperator(gap=10)
    red = ReduceOperator(lambda a, v: a + v)
    prefix = op.open_prefix
    loaded = {prefix + "a": {"acc": 5, "sessionStart": 0, "lastEventTime": 1000}}
    result = await op.run_session(
        [_sess("a", 5000, 1), _sess("a", 30_000, 2), _sess("b", 31_000, 4)], loaded, red.fn,
        red.session_initial, now_ms=32_000)
    assert [(e["key"], e["windowStart"], e["windowEnd"], e["value"]) for e in result["emits"]] \
        == [("a", 0, 15_000, 6)]
    ops = {o["key"]: o for o in result["stateOps"]}
    assert ops[prefix + "a"]["value"] == {"acc": 2, "sessionStart": 30_000,
                                          "lastEventTime": 30_000}
    assert ops[prefix + "b"]["value"]["acc"] == 4  # a fresh session starts from 0
    swept = await op.run_session([], {prefix + "a": ops[prefix + "a"]["value"]}, red.fn,
                                 red.session_initial, now_ms=40_000)
    assert [(e["key"], e["value"]) for e in swept["emits"]] == [("a", 2)]
    assert swept["stateOps"] == [{"type": "delete", "key": prefix + "a"}]


async def test_session_closed_by_gap_then_swept_deletes_the_stored_row() -> None:
    # The stored session is replaced by a new one that the sweep closes in the same batch:
    # the old row must still be deleted, or a later flush would emit it again.
    op = WindowSessionOperator(gap=1)
    red = ReduceOperator(lambda a, v: a + v)
    key = op.open_prefix + "a"
    result = await op.run_session(
        [_sess("a", 10_000, 1)], {key: {"acc": 3, "sessionStart": 0, "lastEventTime": 0}},
        red.fn, red.session_initial, now_ms=20_000)
    assert sorted(e["value"] for e in result["emits"]) == [1, 3]
    assert result["stateOps"] == [{"type": "delete", "key": key}]


class _NoState:
    """A ``/streams/v1/state/get`` that finds no rows."""

    async def post(self, path: str, body: Any) -> Dict[str, Any]:
        assert path == "/streams/v1/state/get"
        return {"success": True, "rows": []}


async def test_processing_time_sessions_sweep_at_the_batch_time_not_the_wall_clock() -> None:
    # A backlog from long ago (createdAt in 1970): events 10 s apart with a 30 s gap belong
    # to one session. Sweeping at the wall clock would close it after every batch.
    from queen.streams.runtime._windowing import session_cycle

    stages = (Stream.from_({"name": "s"}).window_session(gap=30)
              .reduce(lambda a, v: a + v).compile().stages)
    envelopes = [{"msg": {}, "key": "a", "value": v, "createdMs": ts}
                 for ts, v in ((1_000, 1), (11_000, 2))]
    work = await session_cycle(_NoState(), "q", stages, envelopes, "p", None, _no_error)
    assert work.emits == []
    assert work.state_ops == [{"type": "upsert", "key": "sess:30\x1fopen\x1fa",
                               "value": {"acc": 3, "sessionStart": 1_000,
                                         "lastEventTime": 11_000}}]


def _no_error(err: BaseException) -> None:
    raise AssertionError(f"unexpected error: {err}")


# -- gates ---------------------------------------------------------------------------------


async def test_gate_results() -> None:
    ctx = GateContext({}, 0, "pid", "p", "k")
    for out, allow in ((True, True), (False, False), ({"allow": True}, True),
                       ({"allow": False}, False)):
        assert await GateOperator(lambda v, c, o=out: o).evaluate({"value": 1}, ctx) == {
            "allow": allow}
    with pytest.raises(TypeError, match=r"must return bool or \{'allow': bool\}"):
        await GateOperator(lambda v, c: 1).evaluate({"value": 1}, ctx)
    assert (ctx.streamTimeMs, ctx.partitionId) == (0, "pid")


def test_token_bucket() -> None:
    gate = token_bucket_gate(capacity=3, refill_per_sec=1, cost_fn=lambda v: v)
    state: Dict[str, Any] = {}

    def at(ms: int, cost: Any) -> bool:
        return gate(cost, GateContext(state, ms, "pid", "p", "k"))

    assert [at(0, 1), at(0, 1), at(0, 1), at(0, 1)] == [True, True, True, False]
    assert at(1000, 1) is True and at(1000, 0) is True  # refilled 1; zero cost allowed
    assert at(1000, -5) is False  # a negative cost counts as 1: no token left
    assert state["allowedTotal"] == 4 and state["consumedTotal"] == 4
    assert state["lastRefillAt"] == 1000
    strict = token_bucket_gate(1, 1, cost_fn=lambda v: 0, allow_zero_cost=False)
    assert strict(None, GateContext({}, 0, "p", "p", "k")) is False


def test_sliding_window_gate() -> None:
    gate = sliding_window_gate(limit=2, window_sec=10)
    state: Dict[str, Any] = {}

    def at(ms: int) -> bool:
        return gate(None, GateContext(state, ms, "pid", "p", "k"))

    assert [at(0), at(1), at(2)] == [True, True, False]
    # Halfway through the next window the previous count weighs half: 2 * 0.5 + 0 + 1 <= 2.
    assert at(15_000) is True and at(15_001) is False
    assert state["previousCount"] == 2 and state["currentCount"] == 1
    assert at(40_000) is True and state["previousCount"] == 0  # windows skipped: reset


# -- time ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,ms", [
    ("2026-11-27T20:30:33.056779Z", 1795811433056),
    ("2026-11-27T20:30:33Z", 1795811433000),
    ("2026-11-27T20:30:33.1Z", 1795811433100),
    ("2026-11-27T21:30:33.056+01:00", 1795811433056),
    ("2026-11-27T20:30:33.056", 1795811433056),  # naive = UTC
    ("2026-11-27", 1795737600000),
    ("1969-12-31T23:59:59.999Z", -1),
    ("garbage", None), ("2026-13-01T00:00:00Z", None), (None, None), (5, None),
])
def test_parse_iso_ms(text, ms) -> None:
    assert parse_iso_ms(text) == ms


def test_iso_from_ms() -> None:
    assert iso_from_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_from_ms(1795811433056) == "2026-11-27T20:30:33.056Z"
    assert iso_from_ms(-1) == "1969-12-31T23:59:59.999Z"
