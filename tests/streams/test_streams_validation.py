"""Every validation message of the Streams SDK (client contract §8.2-§8.8, Appendix A)."""

from __future__ import annotations

import pytest

from queen import (
    QueenTypeError,
    QueenValidationError,
    Stream,
    sliding_window_gate,
    token_bucket_gate,
)
from queen.streams._options import run_options

SRC = {"queueName": "src"}


def _f(*_a):
    return 1


def s() -> Stream:
    return Stream.from_(SRC)


@pytest.mark.parametrize("make,message", [
    (lambda: s().window_tumbling(), "window_tumbling requires seconds=<positive number>"),
    (lambda: s().window_tumbling(seconds=0), "window_tumbling requires seconds=<positive number>"),
    (lambda: s().window_tumbling(seconds=True),
     "window_tumbling requires seconds=<positive number>"),
    (lambda: s().window_tumbling(seconds="60"),
     "window_tumbling requires seconds=<positive number>"),
    (lambda: s().window_sliding(slide=1), "window_sliding requires size=<positive number>"),
    (lambda: s().window_sliding(size=10, slide=-1),
     "window_sliding requires slide=<positive number>"),
    (lambda: s().window_sliding(size=60, slide=7),
     "window_sliding: size (60) must be an integer multiple of slide (7) to keep the "
     "per-event window count finite"),
    (lambda: s().window_sliding(size=2.5, slide=1),
     "window_sliding: size (2.5) must be an integer multiple of slide (1) to keep the "
     "per-event window count finite"),
    (lambda: s().window_session(gap=0), "window_session requires gap=<positive number>"),
    (lambda: s().window_cron(every=3),
     "window_cron requires every='second'|'minute'|'hour'|'day'|'week'"),
    (lambda: s().window_cron(),
     "window_cron requires every='second'|'minute'|'hour'|'day'|'week'"),
    (lambda: s().window_cron(every="month"),
     "window_cron: every must be one of second|minute|hour|day|week (got 'month')"),
    (lambda: s().window_tumbling(seconds=1, on_late="late-queue"),
     "on_late must be 'drop' or 'include' (got 'late-queue')"),
    (lambda: s().window_session(gap=1, onLate="keep"),
     "on_late must be 'drop' or 'include' (got 'keep')"),
    (lambda: s().aggregate({}), "aggregate requires at least one extractor"),
    (lambda: token_bucket_gate(0, 1), "token_bucket_gate: capacity must be a positive number"),
    (lambda: token_bucket_gate(True, 1),
     "token_bucket_gate: capacity must be a positive number"),
    (lambda: token_bucket_gate(float("inf"), 1),
     "token_bucket_gate: capacity must be a positive number"),
    (lambda: token_bucket_gate(1, -2),
     "token_bucket_gate: refill_per_sec must be a positive number"),
    (lambda: sliding_window_gate(0, 1), "sliding_window_gate: limit must be a positive number"),
    (lambda: sliding_window_gate(1, "1"),
     "sliding_window_gate: window_sec must be a positive number"),
    (lambda: s().to({"topic": "x"}),
     "Could not extract queue name from sink target. Pass either a queen.queue('name') "
     "builder or {'queueName': 'name'}."),
    (lambda: s().to(object()),
     "Could not extract queue name from sink target. Pass either a queen.queue('name') "
     "builder or {'queueName': 'name'}."),
])
def test_value_errors(make, message) -> None:
    with pytest.raises(QueenValidationError) as info:
        make()
    assert str(info.value) == message


@pytest.mark.parametrize("make,message", [
    (lambda: s().aggregate([("count", _f)]), "aggregate requires a dict of named extractors"),
    (lambda: s().aggregate({"count": _f, "sum": 3}), "aggregate.sum must be callable"),
    (lambda: s().gate("allow"), ".gate(fn) requires a callable"),
    (lambda: token_bucket_gate(1, 1, cost_fn=5), "token_bucket_gate: cost_fn must be callable"),
    (lambda: sliding_window_gate(1, 1, cost_fn=5),
     "sliding_window_gate: cost_fn must be callable"),
    (lambda: s().map(3), ".map(fn) requires a callable"),
    (lambda: s().filter(None), ".filter(fn) requires a callable"),
    (lambda: s().flat_map("x"), ".flat_map(fn) requires a callable"),
    (lambda: s().key_by(1), ".key_by(fn) requires a callable"),
    (lambda: s().reduce(0), ".reduce(fn) requires a callable"),
    (lambda: s().foreach([]), ".foreach(fn) requires a callable"),
    (lambda: s().window_tumbling(seconds=1, event_time="ts"),
     "window_tumbling: event_time must be a callable"),
    (lambda: s().window_tumbling(seconds=1, grace=5),
     "window_tumbling() got an unexpected option 'grace'"),
    (lambda: s().window_session(gap=1, size=3),
     "window_session() got an unexpected option 'size'"),
    (lambda: s().to({"queueName": "o"}, partition=5),
     ".to() partition must be a string or a function of the value (got int)"),
    (lambda: run_options({"batchsize": 5}), "run() got an unexpected option 'batchsize'"),
])
def test_type_errors(make, message) -> None:
    # Typed, and still the TypeError the contract names.
    with pytest.raises(QueenTypeError) as info:
        make()
    assert str(info.value) == message


@pytest.mark.parametrize("make,message", [
    (lambda: s().to({"queueName": "o"}).map(_f),
     "sink operators (.to / .foreach) must be the last in the chain; found sink at position 0 "
     "of 2"),
    (lambda: s().map(_f).foreach(_f).filter(_f),
     "sink operators (.to / .foreach) must be the last in the chain; found foreach at "
     "position 1 of 3"),
    (lambda: s().key_by(_f).key_by(_f), "only one .key_by() per stream"),
    (lambda: s().window_tumbling(seconds=1).reduce(_f).key_by(_f),
     ".key_by() must come before window/reduce/gate"),
    (lambda: s().gate(_f).key_by(_f), ".key_by() must come before window/reduce/gate"),
    (lambda: s().window_tumbling(seconds=1).window_cron(every="hour"),
     "only one window operator per stream"),
    (lambda: s().window_tumbling(seconds=1).reduce(_f).window_session(gap=1),
     "only one window operator per stream"),
    (lambda: s().gate(_f).window_tumbling(seconds=1),
     "window+reduce is incompatible with .gate() in the same stream"),
    (lambda: s().window_tumbling(seconds=1).reduce(_f).aggregate({"n": _f}),
     "only one reduce/aggregate per stream"),
    (lambda: s().map(_f).reduce(_f), "reduce/aggregate requires a preceding window operator"),
    (lambda: s().gate(_f).aggregate({"n": _f}),
     "reduce/aggregate requires a preceding window operator"),
    (lambda: s().gate(_f).gate(_f), "only one .gate() per stream"),
    (lambda: s().window_tumbling(seconds=1).gate(_f),
     ".gate() is incompatible with windowing/reduce in the same stream"),
])
def test_chain_validation(make, message) -> None:
    with pytest.raises(QueenValidationError) as info:
        make().compile()
    assert str(info.value) == message


def test_valid_chains_compile() -> None:
    plan = (s().map(_f).key_by(_f).filter(_f).window_tumbling(seconds=1).flat_map(_f)
            .aggregate({"n": _f}).map(_f).filter(_f).to({"queueName": "o"})).compile()
    st = plan.stages
    assert [op.kind for op in st.pre] == ["map", "filter", "flatMap"]
    assert [op.kind for op in st.post] == ["map", "filter"]
    assert st.key_by.kind == "keyBy" and st.reducer.kind == "aggregate"
    assert st.sink.kind == "sink" and st.gate is None
    gated = s().map(_f).gate(_f).map(_f).foreach(_f).compile().stages
    assert [op.kind for op in gated.pre] == ["map"] and [op.kind for op in gated.post] == ["map"]
    # A session window without a reducer passes validation (it fails per cycle at run time).
    assert s().window_session(gap=1).compile().stages.reducer is None


def test_flat_map_must_return_a_list() -> None:
    import asyncio

    op = s().flat_map(lambda m: ("a", "b")).operators[0]
    with pytest.raises(TypeError) as info:
        asyncio.run(op.run_pre([{"msg": {}, "key": "k", "value": None}]))
    assert str(info.value) == "flat_map fn must return a list (got tuple)"


async def test_run_requires_query_id_url_and_a_poppable_source() -> None:
    with pytest.raises(QueenValidationError) as info:
        await s().map(_f).run(url="http://127.0.0.1:1")
    assert str(info.value) == "run requires query_id=..."
    with pytest.raises(QueenValidationError) as info:
        await s().map(_f).run(query_id="q")
    assert str(info.value) == ("Stream.run requires url='<queen-url>' so the SDK can call "
                               "/streams/v1/* endpoints")
    # A dict names a queue for config_hash, but the runner could never pop it: refused
    # before anything is sent (port 1 has no broker).
    with pytest.raises(QueenValidationError) as info:
        await s().map(_f).run(query_id="q", url="http://127.0.0.1:1")
    assert str(info.value).startswith("Stream.from_() needs the source queue's builder")


def test_run_options_snake_and_camel_case() -> None:
    camel = run_options({"batchSize": 50, "maxPartitions": 2, "maxWaitMillis": 0,
                         "subscriptionMode": "new", "consumerGroup": "g", "bearerToken": "t"})
    snake = run_options({"batch_size": 50, "max_partitions": 2, "max_wait_millis": 0,
                         "subscription_mode": "new", "consumer_group": "g",
                         "bearer_token": "t"})
    assert camel == snake
    assert camel["batch_size"] == 50 and camel["max_wait_millis"] == 0
    defaults = run_options({"batch_size": 0, "max_partitions": None})
    assert (defaults["batch_size"], defaults["max_partitions"], defaults["max_wait_millis"]) == (
        200, 4, 1000)
    with pytest.raises(TypeError, match="unexpected option 'batchsize'"):
        run_options({"batchsize": 5})
    with pytest.raises(TypeError, match="other spelling"):
        run_options({"batch_size": 5, "batchSize": 6})
    with pytest.raises(ValueError, match="batch_size"):
        run_options({"batch_size": -1})


def test_window_option_spellings() -> None:
    a = s().window_tumbling(seconds=10, grace_period=2, idle_flush_ms=0, allowed_lateness=1,
                            on_late="include", event_time=_f)
    b = s().windowTumbling(seconds=10, gracePeriod=2, idleFlushMs=0, allowedLateness=1,
                           onLate="include", eventTime=_f)
    c = s().window_tumbling(10, gracePeriod=2, idleFlushMs=0, allowedLateness=1,
                            onLate="include", eventTime=_f)
    d = s().window_tumbling({"seconds": 10, "gracePeriod": 2, "idleFlushMs": 0,
                             "allowedLateness": 1, "onLate": "include", "eventTime": _f})
    assert a.config_hash == b.config_hash == c.config_hash == d.config_hash
    w = a.operators[0]
    assert (w.grace_period_ms, w.idle_flush_ms, w.allowed_lateness_ms, w.on_late_policy) == (
        2000, 0, 1000, "include")
    with pytest.raises(TypeError):
        s().window_tumbling(10, seconds=10)
    with pytest.raises(TypeError):
        s().window_tumbling(seconds=10, grace_period=1, gracePeriod=2)
    with pytest.raises(ValueError, match="grace_period"):
        s().window_tumbling(seconds=10, grace_period="5")


def test_window_defaults_and_tags() -> None:
    ops = [s().window_tumbling(seconds=60.0).operators[0],
           s().window_sliding(size=60, slide=10).operators[0],
           s().window_session(gap=30).operators[0],
           s().window_cron(every="week").operators[0]]
    assert [op.idle_flush_ms for op in ops] == [5000, 5000, 1000, 30000]
    assert [op.operator_tag for op in ops] == ["tumb:60", "slide:60:10", "sess:30", "cron:week"]
    assert s().window_tumbling(seconds=0.5).operators[0].operator_tag == "tumb:0.5"


def test_streams_are_immutable() -> None:
    base = s().map(_f)
    longer = base.filter(_f)
    assert [op.kind for op in base.operators] == ["map"]
    assert [op.kind for op in longer.operators] == ["map", "filter"]
    assert Stream.from_queue is not None and Stream.from_queue(SRC).operators == []
