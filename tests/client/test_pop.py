"""pop(): query, long polling, groups, subscriptions, partitions, D12, messages (§4.5, §4.9)."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any, Dict, List

import pytest

from queen import (
    Queen,
    QueenError,
    QueenHttpError,
    QueenServerError,
    QueenUnsupportedError,
)
from queen.testing import QueenTestServer

from .conftest import FakeTransport, RecordingBroker, make_client, response

WIRE_FIELDS = {
    "id", "transactionId", "partitionId", "partition", "leaseId", "data", "createdAt",
    "traceId", "producerSub", "consumerGroup",
}


def _query(broker: RecordingBroker) -> List[str]:
    return [r.query for r in broker.seen("GET", "/api/v1/pop")]


async def test_plain_pop_long_polls_by_default(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("pp").push({"data": 1})
    messages = await queen.queue("pp").pop()
    assert [m["data"] for m in messages] == [1]
    assert _query(broker) == ["batch=1&wait=true&timeout=30000"]
    assert broker.seen("GET", "/api/v1/pop")[0].path == "/api/v1/pop/queue/pp"


async def test_full_query_and_partition_route(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("fq").partition("P").push({"data": 1})
    await (
        queen.queue("fq").partition("P").batch(5).wait(False).timeout_millis(700).group("g")
        .namespace("ns").task("tk").subscription_mode("new").subscription_from("now")
        .partitions(3).commit_on_delivery().auto_ack(True).pop()
    )
    (req,) = broker.seen("GET", "/api/v1/pop")
    assert req.path == "/api/v1/pop/queue/fq/partition/P"
    assert req.query == (
        "batch=5&wait=false&timeout=700&consumerGroup=g&namespace=ns&task=tk&autoAck=true"
        "&subscriptionMode=new&subscriptionFrom=now&partitions=3"
    )


async def test_consume_queries_when_the_idle_deadline_caps_the_timeout(
    queen: Queen, broker: RecordingBroker
) -> None:
    # consume() builds its query once; only the timeout changes, capped by idle_millis.
    await queen.queue("cq").push({"data": 1})
    seen: List[Any] = []
    await (
        queen.queue("cq").group("g+h").subscription_mode("all").namespace("ns").task("tk")
        .partitions(2).batch(3).timeout_millis(800).idle_millis(400).consume(seen.extend)
    )
    assert [m["data"] for m in seen] == [1]
    queries = _query(broker)
    timeouts = []
    for query in queries:
        head, _, rest = query.partition("&timeout=")
        timeout, _, tail = rest.partition("&")
        assert head == "batch=3&wait=true"
        assert tail == "consumerGroup=g%2Bh&subscriptionMode=all&namespace=ns&task=tk&partitions=2"
        timeouts.append(int(timeout))
    assert len(timeouts) >= 2 and all(1 <= t <= 400 for t in timeouts)


async def test_a_reused_builder_sends_its_current_settings(
    queen: Queen, broker: RecordingBroker
) -> None:
    # pop() builds its request once per settings; every setter afterwards is honoured.
    await queen.queue("rb").push([{"data": i} for i in range(4)])
    builder = queen.queue("rb").wait(False)
    await builder.pop()
    await builder.pop()
    await builder.batch(2).pop()
    await builder.group("g").subscription_from("now").pop()
    await builder.partition("P").pop()
    assert _query(broker) == [
        "batch=1&wait=false&timeout=30000",
        "batch=1&wait=false&timeout=30000",
        "batch=2&wait=false&timeout=30000",
        "batch=2&wait=false&timeout=30000&consumerGroup=g&subscriptionFrom=now",
        "batch=2&wait=false&timeout=30000&consumerGroup=g&subscriptionFrom=now",
    ]
    assert broker.seen("GET", "/api/v1/pop")[-1].path == "/api/v1/pop/queue/rb/partition/P"


async def test_query_values_are_percent_encoded(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("enc").push({"data": 1})
    got = await queen.queue("enc").group("a+c&d=#%ü").wait(False).pop()
    assert got[0]["consumerGroup"] == "a+c&d=#%ü"
    assert "consumerGroup=a%2Bc%26d%3D%23%25%C3%BC" in _query(broker)[0]
    ts = "2026-01-01T00:00:00+00:00"
    await queen.queue("enc").group("g2").subscription_from(ts).wait(False).pop()
    assert "subscriptionFrom=2026-01-01T00%3A00%3A00%2B00%3A00" in _query(broker)[1]


async def test_batch(queen: Queen) -> None:
    await queen.queue("b").push([{"data": i} for i in range(5)])
    first = await queen.queue("b").batch(3).wait(False).pop()
    assert [m["data"] for m in first] == [0, 1, 2]
    assert queen.queue("b").batch(0)._batch == 1  # clamped


async def test_wait_timeout_on_an_empty_queue(queen: Queen, broker: RecordingBroker) -> None:
    assert await queen.queue("empty").timeout_millis(150).pop() == []
    assert _query(broker) == ["batch=1&wait=true&timeout=150"]


async def test_long_poll_is_woken_by_a_push(queen: Queen) -> None:
    pending = asyncio.ensure_future(queen.queue("lpw").timeout_millis(3000).pop())
    await asyncio.sleep(0.05)
    assert not pending.done()
    await queen.queue("lpw").push({"data": "late"})
    assert [m["data"] for m in await asyncio.wait_for(pending, 3)] == ["late"]


async def test_groups_each_get_every_message(queen: Queen) -> None:
    await queen.queue("grp").push([{"data": 1}, {"data": 2}])
    a = await queen.queue("grp").group("a").batch(10).wait(False).pop()
    b = await queen.queue("grp").group("b").batch(10).wait(False).pop()
    assert [m["data"] for m in a] == [m["data"] for m in b] == [1, 2]
    assert {m["consumerGroup"] for m in a} == {"a"}
    # Queue mode is its own group.
    q = await queen.queue("grp").batch(10).wait(False).pop()
    assert {m["consumerGroup"] for m in q} == {"__QUEUE_MODE__"}


async def test_subscription_mode_new(queen: Queen, server: QueenTestServer) -> None:
    await queen.queue("sub").push({"data": "old"})
    server.clock.advance(1)
    assert await queen.queue("sub").group("fresh").subscription_mode("new").wait(False).pop() == []
    server.clock.advance(1)
    await queen.queue("sub").push({"data": "new"})
    got = await queen.queue("sub").group("fresh").subscription_mode("new").wait(False).pop()
    assert [m["data"] for m in got] == ["new"]
    everything = await queen.queue("sub").group("all").batch(5).wait(False).pop()
    assert [m["data"] for m in everything] == ["old", "new"]


async def test_subscription_from_now(queen: Queen, server: QueenTestServer) -> None:
    await queen.queue("subn").push({"data": "old"})
    server.clock.advance(1)
    assert await queen.queue("subn").group("g").subscription_from("now").wait(False).pop() == []
    server.clock.advance(1)
    await queen.queue("subn").push({"data": "new"})
    got = await queen.queue("subn").group("g").wait(False).pop()
    assert [m["data"] for m in got] == ["new"]


async def test_multi_partition_pop(queen: Queen, broker: RecordingBroker) -> None:
    for p in ("p1", "p2", "p3"):
        await queen.queue("mp").partition(p).push({"data": p})
    got = await queen.queue("mp").partitions(3).batch(10).wait(False).pop()
    assert sorted(m["data"] for m in got) == ["p1", "p2", "p3"]
    assert len({m["leaseId"] for m in got}) == 1
    assert "partitions=3" in _query(broker)[0]
    await queen.queue("mp").partitions(1).wait(False).pop()
    assert "partitions" not in _query(broker)[1]


async def test_batch_is_a_global_cap_with_partitions(queen: Queen) -> None:
    for p in ("a", "b", "c"):
        await queen.queue("cap").partition(p).push([{"data": p + "1"}, {"data": p + "2"}])
    got = await queen.queue("cap").partitions(3).batch(2).wait(False).pop()
    assert len(got) == 2


async def test_commit_on_delivery(queen: Queen, server: QueenTestServer) -> None:
    await queen.queue("cod").push([{"data": 1}, {"data": 2}])
    got = await queen.queue("cod").commit_on_delivery().wait(False).pop()
    assert [m["data"] for m in got] == [1]
    assert got[0]["leaseId"] == ""
    # Nothing is leased: the next pop gets the next message at once, and the first never
    # comes back.
    nxt = await queen.queue("cod").commit_on_delivery().wait(False).pop()
    assert [m["data"] for m in nxt] == [2]
    server.clock.advance(400)
    assert await queen.queue("cod").wait(False).pop() == []


async def test_plain_pop_leases_and_redelivers_after_expiry(
    queen: Queen, server: QueenTestServer
) -> None:
    await queen.queue("lease").config({"lease_time": 30}).create()
    await queen.queue("lease").push({"data": 1})
    (m,) = await queen.queue("lease").wait(False).pop()
    assert m["leaseId"]
    assert await queen.queue("lease").wait(False).pop() == []
    server.clock.advance(31)
    again = await queen.queue("lease").wait(False).pop()
    assert [x["transactionId"] for x in again] == [m["transactionId"]]


async def test_empty_answers_are_empty_lists(queen: Queen, broker: RecordingBroker) -> None:
    # no_available_partition (wildcard route, unknown queue)
    assert await queen.queue("nope").wait(False).pop() == []
    # partition_not_found (partition route)
    assert await queen.queue("nope").partition("X").wait(False).pop() == []
    # lease_held (partition route, another consumer of the group holds the lease)
    await queen.queue("held").partition("P").push([{"data": 1}, {"data": 2}])
    assert len(await queen.queue("held").partition("P").wait(False).pop()) == 1
    assert await queen.queue("held").partition("P").wait(False).pop() == []
    # window buffer still filling
    await queen.queue("win").config({"window_buffer": 60}).create()
    await queen.queue("win").push({"data": 1})
    assert await queen.queue("win").partition("Default").wait(False).pop() == []
    bodies = [r for r in broker.seen("GET", "/api/v1/pop")]
    assert len(bodies) == 5


async def test_in_band_database_error_raises(queen: Queen, broker: RecordingBroker) -> None:
    broker.faults.db_error("pop", "canceling statement due to statement timeout")
    with pytest.raises(QueenServerError, match=r"statement timeout") as info:
        await queen.queue("dberr").wait(False).pop()
    assert info.value.retriable is True
    assert info.value.body["success"] is False


async def test_404_raises_http_error(server: QueenTestServer) -> None:
    server.nodes[0].faults.error(404, body=b"<html>File Not Found</html>", reason="File Not Found",
                                 headers=[("X", "y")])
    async with make_client(server.url) as q:
        with pytest.raises(QueenHttpError) as info:
            await q.queue("x").wait(False).pop()
    assert info.value.status == 404
    assert info.value.retriable is False


async def test_namespace_and_task_pop_are_unsupported(
    queen: Queen, broker: RecordingBroker
) -> None:
    with pytest.raises(QueenUnsupportedError):
        await queen.queue().namespace("ns").pop()
    with pytest.raises(QueenUnsupportedError):
        await queen.queue().task("t").pop()
    with pytest.raises(NotImplementedError):
        await queen.queue(None).namespace("ns").task("t").pop()
    no_target = r"^Must specify queue, namespace, or task for pop operation$"
    with pytest.raises(ValueError, match=no_target):
        await queen.queue().pop()
    assert broker.requests == []


async def test_messages_are_dicts_with_a_trace_helper(
    queen: Queen, broker: RecordingBroker
) -> None:
    await queen.queue("msg").push({"data": {"k": [1, 2]}, "transactionId": "m1"})
    (m,) = await queen.queue("msg").group("tg").wait(False).pop()
    assert isinstance(m, dict)
    assert set(m) == WIRE_FIELDS
    assert len(m) == len(WIRE_FIELDS)
    assert "trace" in m
    assert "trace" not in list(m.keys())
    plain: Dict[str, Any] = dict(m)
    assert m == plain and plain == m
    assert "trace" not in plain
    assert json.loads(json.dumps(m)) == plain
    assert copy.copy(m) == plain and copy.deepcopy(m) == plain
    assert callable(m["trace"]) and callable(m.get("trace")) and callable(m.trace)
    helper = m.pop("trace")
    assert callable(helper)
    assert set(m) == WIRE_FIELDS
    assert m.get("missing") is None
    with pytest.raises(KeyError):
        m["missing"]
    result = await m.trace({"data": {"step": 1}, "traceName": "order-1", "eventType": "step"})
    assert result["success"] is True
    (t,) = broker.state.traces
    assert (t.group, t.event_type, t.data, t.names) == ("tg", "step", {"step": 1}, ["order-1"])
    body = broker.bodies("POST", "/api/v1/traces")[0]
    assert body == {
        "transactionId": "m1", "partitionId": m["partitionId"], "consumerGroup": "tg",
        "traceNames": ["order-1"], "eventType": "step", "data": {"step": 1},
    }


async def test_trace_in_queue_mode_and_invalid_config(
    queen: Queen, broker: RecordingBroker
) -> None:
    await queen.queue("tq").push({"data": 1})
    (m,) = await queen.queue("tq").wait(False).pop()
    assert (await m["trace"]({"data": {}}))["success"] is True
    assert broker.bodies("POST", "/api/v1/traces")[0]["consumerGroup"] == "__QUEUE_MODE__"
    assert broker.bodies("POST", "/api/v1/traces")[0]["traceNames"] is None
    assert broker.bodies("POST", "/api/v1/traces")[0]["eventType"] == "info"
    assert await m.trace({"nodata": 1}) == {
        "success": False, "error": "Invalid trace config: requires { data: {...} }",
    }


async def test_pop_on_a_closed_client(server: QueenTestServer) -> None:
    q = make_client(server.url)
    await q.close()
    with pytest.raises(QueenError, match=r"^Queen client is closed$"):
        await q.queue("c").pop()


async def test_204_and_empty_body_are_empty() -> None:
    for answer in (
        response(204, b'{"messages":[],"paused":true}'),
        response(200, b""),
        response(200, {"success": True, "messages": None}),
        response(200, {"success": True, "messages": [None]}),
    ):
        q = make_client("http://a:1", transport=FakeTransport(answer))
        assert await q.queue("x").pop() == []


async def test_unexpected_error_bodies_raise() -> None:
    for answer in (
        {"success": False},
        {"error": "weird"},
        {"success": False, "error": "some db error", "messages": []},
    ):
        q = make_client("http://a:1", transport=FakeTransport(response(200, answer)))
        with pytest.raises(QueenServerError) as info:
            await q.queue("x").pop()
        assert info.value.retriable is True
