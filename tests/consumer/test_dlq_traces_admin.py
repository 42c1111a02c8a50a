"""DLQ after the retry budget, client-side DLQ paging, traces (§5.9) and Admin wrappers."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from qt_helpers import E2E

from queen import Queen, QueenUnsupportedError
from queen.testing import QueenTestServer


async def failing_consumer(client: Queen, queue: str, group: Any = None) -> List[str]:
    deliveries: List[str] = []

    def handler(m: Dict[str, Any]) -> None:
        deliveries.append(m["transactionId"])
        raise RuntimeError(f"cannot handle {m['data']}")

    qb = client.queue(queue).wait(False).idle_millis(300)
    if group:
        qb = qb.group(group)
    await qb.consume(handler)
    return deliveries


async def test_failed_message_reaches_dlq_after_retry_limit_plus_one(e2e: E2E) -> None:
    client = e2e.client
    q_dq = e2e.name("dq")
    await client.queue(q_dq).config({"retry_limit": 2}).create()
    await client.queue(q_dq).push({"transactionId": "t1", "data": "x"})
    deliveries = await failing_consumer(client, q_dq)
    assert deliveries == ["t1", "t1", "t1"]
    dlq = await client.queue(q_dq).dlq().get()
    assert dlq["total"] == 1
    (entry,) = dlq["messages"]
    assert entry["transactionId"] == "t1"
    assert entry["errorMessage"] == "cannot handle x"
    assert entry["retryCount"] == 2
    assert dlq["pagination"] == {"limit": 100, "offset": 0}


async def test_dlq_per_group_and_paging(e2e: E2E) -> None:
    client = e2e.client
    q_dq2 = e2e.name("dq2")
    await client.queue(q_dq2).config({"retry_limit": 0}).create()
    await client.queue(q_dq2).partition("a").push([{"data": i} for i in range(3)])
    await client.queue(q_dq2).partition("b").push([{"data": i} for i in range(3, 5)])
    await failing_consumer(client, q_dq2, group="g1")
    await failing_consumer(client, q_dq2, group="g2")
    everything = await client.queue(q_dq2).dlq().get()
    assert everything["total"] == 10
    g1 = await client.queue(q_dq2).dlq("g1").get()
    assert g1["total"] == 5 and {e["consumerGroup"] for e in g1["messages"]} == {"g1"}
    page = await client.queue(q_dq2).dlq("g1").limit(2).offset(1).get()
    assert page["total"] == 5
    assert page["messages"] == g1["messages"][1:3]
    assert page["pagination"] == {"limit": 2, "offset": 1}
    beyond = await client.queue(q_dq2).dlq("g1").offset(10).get()
    assert beyond["messages"] == [] and beyond["total"] == 5
    only_b = await client.queue(q_dq2).partition("b").dlq("g1").get()
    assert only_b["total"] == 2 and {e["partition"] for e in only_b["messages"]} == {"b"}


async def test_dlq_of_unknown_queue_is_empty(e2e: E2E) -> None:
    client = e2e.client
    q_nope = e2e.name("nope")
    assert await client.queue(q_nope).dlq().get() == {
        "messages": [], "total": 0, "pagination": {"limit": 100, "offset": 0}
    }


async def test_dlq_requires_a_queue_name(e2e: E2E) -> None:
    client = e2e.client
    with pytest.raises(ValueError, match="Queue name is required for DLQ operations"):
        client.queue().dlq()


# -- traces ---------------------------------------------------------------------------------


async def test_trace_from_a_consumer_is_visible(e2e: E2E) -> None:
    client = e2e.client
    q_tr = e2e.name("tr")
    order, a, b = e2e.name("order"), e2e.name("a"), e2e.name("b")  # names outlive a test
    await client.queue(q_tr).push({"data": 1})
    results: List[Any] = []

    async def handler(m: Any) -> None:
        results.append(await m["trace"]({"data": {"step": 1}, "traceName": order,
                                         "eventType": "processing"}))
        results.append(await m.trace({"data": {"step": 2}, "traceName": [a, "", b]}))
        results.append((m["partitionId"], m["transactionId"]))

    await client.queue(q_tr).group("tg").wait(False).limit(1).consume(handler)
    assert results[0]["success"] is True and results[0]["traceId"]
    assert results[1]["success"] is True
    pid, tid = results[2]
    traces = (await client.admin.get_traces_for_message(pid, tid))["traces"]
    assert [t["data"] for t in traces] == [{"step": 1}, {"step": 2}]
    assert [t["event_type"] for t in traces] == ["processing", "info"]
    assert [t["trace_names"] for t in traces] == [[order], [a, b]]
    assert {t["consumer_group"] for t in traces} == {"tg"}
    by_name = await client.admin.get_traces_by_name(order)
    assert by_name["total"] == 1
    names = await client.admin.get_trace_names()
    assert {n["trace_name"] for n in names["trace_names"]} >= {order, a, b}


async def test_trace_in_queue_mode_uses_the_queue_mode_group(e2e: E2E) -> None:
    client = e2e.client
    q_trq = e2e.name("trq")
    await client.queue(q_trq).push({"data": 1})
    (m,) = await client.queue(q_trq).timeout_millis(3000).pop()
    assert (await m["trace"]({"data": "x"}))["success"] is True
    traces = (await client.admin.get_traces_for_message(m["partitionId"], m["transactionId"]))
    assert traces["traces"][0]["consumer_group"] == "__QUEUE_MODE__"


async def test_trace_never_raises(server: QueenTestServer, client: Queen) -> None:
    await client.queue("trx").push({"data": 1})
    (m,) = await client.queue("trx").wait(False).pop()
    invalid = {"success": False, "error": "Invalid trace config: requires { data: {...} }"}
    assert await m["trace"]({"nodata": 1}) == invalid
    assert await m["trace"]("not a dict") == invalid
    assert await m["trace"](None) == invalid
    unknown = dict(m, transactionId="missing-tx")
    from queen._message import Message

    forged = type(m)(unknown)
    assert isinstance(forged, Message)
    res = await forged["trace"]({"data": 1})
    assert res["success"] is False and res["error"] == "Message not found"
    server.nodes[0].faults.error(500, path="/api/v1/traces")
    res = await m["trace"]({"data": 1})
    assert res["success"] is False and res["error"]
    server.nodes[0].faults.clear()
    await server.nodes[0].stop()
    res = await m["trace"]({"data": 1})
    assert res["success"] is False and res["error"]


# -- Admin -----------------------------------------------------------------------------------


async def test_admin_shapes(e2e: E2E) -> None:
    client = e2e.client
    q_adm = e2e.name("adm")
    admin = client.admin
    assert client.admin is admin
    await client.queue(q_adm).push({"data": 1})
    (m,) = await client.queue(q_adm).group("ag").timeout_millis(3000).pop()
    await client.ack(m, True, {"group": "ag"})
    overview = await admin.get_overview()
    assert isinstance(overview, dict)
    queues = await admin.list_queues()
    assert q_adm in [q["name"] for q in queues["queues"]]
    detail = await admin.get_queue(q_adm)
    assert detail["name"] == q_adm
    assert (await admin.get_queue("zzz")) == {"error": "Queue not found"}
    msg = await admin.get_message(m["partitionId"], m["transactionId"])
    assert msg["transactionId"] == m["transactionId"]
    assert (await admin.health())["status"] in ("healthy", "ok")
    assert isinstance(await admin.metrics(), dict)
    assert isinstance(await admin.get_status(), dict)
    assert isinstance(await admin.get_queue_stats(), (dict, list))
    groups = await admin.list_consumer_groups()
    assert "ag" in str(groups)
    assert (await admin.get_maintenance_mode())["maintenanceMode"] is False
    assert (await admin.get_pop_maintenance_mode())["popMaintenanceMode"] is False
    assert isinstance(await admin.list_messages(queue=q_adm), dict)


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.clear_queue("q"),
        lambda a: a.clear_queue("q", partition="p"),
        lambda a: a.get_partitions(),
        lambda a: a.retry_message("p", "t"),
        lambda a: a.move_message_to_dlq("p", "t"),
    ],
)
async def test_admin_routes_missing_on_015_raise_unsupported(
    server: QueenTestServer, client: Queen, call: Any
) -> None:
    before = server.requests_served
    with pytest.raises(QueenUnsupportedError):
        await call(client.admin)
    assert server.requests_served == before  # no request was sent


async def test_consumer_waits_out_pop_maintenance(e2e: E2E) -> None:
    client = e2e.client
    q_pmaint = e2e.name("pmaint")
    import asyncio

    await client.queue(q_pmaint).push({"data": 1})
    await client.admin.set_pop_maintenance_mode(True)
    seen: List[Any] = []
    run = asyncio.ensure_future(client.queue(q_pmaint).wait(False).limit(1).consume(seen.append))
    await asyncio.sleep(0.3)
    assert seen == [] and not run.done()
    await client.admin.set_pop_maintenance_mode(False)
    await asyncio.wait_for(run, 3)
    assert [m["data"] for m in seen] == [1]


async def test_failing_batch_is_dead_lettered_whole_without_loss(e2e: E2E) -> None:
    # A whole-batch nack on delivery number retryLimit would dead-letter all but the first
    # message and leave that one behind the cursor, lost (API §3.8 edge case). The consumer
    # nacks the first message only, then the rest once the broker says it dead-lettered it:
    # the batch is delivered retryLimit + 1 times, like a single message, and all of it lands
    # in the DLQ.
    client = e2e.client
    q_dqb = e2e.name("dqb")
    await client.queue(q_dqb).config({"retry_limit": 2}).create()
    await client.queue(q_dqb).push([{"transactionId": f"b{i}", "data": i} for i in range(3)])
    deliveries: List[List[str]] = []

    def handler(ms: List[Dict[str, Any]]) -> None:
        deliveries.append([m["transactionId"] for m in ms])
        raise RuntimeError("batch broke")

    await client.queue(q_dqb).batch(3).wait(False).idle_millis(300).consume(handler)
    assert deliveries == [["b0", "b1", "b2"]] * 3
    dlq = await client.queue(q_dqb).dlq().get()
    assert sorted(e["transactionId"] for e in dlq["messages"]) == ["b0", "b1", "b2"]
    assert {e["errorMessage"] for e in dlq["messages"]} == {"batch broke"}
