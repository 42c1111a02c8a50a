"""DLQ builder (§4.7, D12) and the Admin wrappers (§3.8, D17)."""

from __future__ import annotations

from typing import Any, List

import pytest

from queen import Queen, QueenHttpError, QueenServerError, QueenUnsupportedError
from queen.testing import QueenTestServer

from .conftest import FakeTransport, RecordingBroker, make_client, response


async def _dead_letter(queen: Queen, name: str, partition: str, n: int, group: Any = None) -> None:
    await queen.queue(name).partition(partition).push(
        [{"data": f"{partition}{i}", "transactionId": f"{partition}{i}"} for i in range(n)]
    )
    for _ in range(n):
        b = queen.queue(name).partition(partition).wait(False)
        if group:
            b.group(group)
        (m,) = await b.pop()
        ctx = {"group": group} if group else None
        assert (await queen.ack(m, "dlq", ctx, error=f"bad {m['transactionId']}"))["success"]


async def test_dlq_get(queen: Queen, broker: RecordingBroker) -> None:
    await _dead_letter(queen, "dq", "A", 3)
    result = await queen.queue("dq").dlq().get()
    assert result["total"] == 3
    assert result["pagination"] == {"limit": 100, "offset": 0}
    assert sorted(m["data"] for m in result["messages"]) == ["A0", "A1", "A2"]
    assert {m["errorMessage"] for m in result["messages"]} == {"bad A0", "bad A1", "bad A2"}
    (req,) = broker.seen("GET", "/api/v1/dlq")
    assert req.query == "queue=dq&limit=100&offset=0"


async def test_dlq_client_side_paging_and_filters(queen: Queen, broker: RecordingBroker) -> None:
    await _dead_letter(queen, "dp", "A", 3, group="g")
    await _dead_letter(queen, "dp", "B", 2, group="g")
    everything = await queen.queue("dp").dlq("g").get()
    assert everything["total"] == 5
    page = await queen.queue("dp").dlq("g").offset(1).limit(2).get()
    assert page["messages"] == everything["messages"][1:3]
    assert page["total"] == 5
    assert page["pagination"] == {"limit": 2, "offset": 1}
    only_b = await queen.queue("dp").partition("B").dlq("g").from_("2000-01-01").to("2100").get()
    assert sorted(m["data"] for m in only_b["messages"]) == ["B0", "B1"]
    assert only_b["total"] == 2
    queries = [r.query for r in broker.seen("GET", "/api/v1/dlq")]
    assert queries[1] == "queue=dp&limit=3&offset=0&consumerGroup=g"
    assert queries[2] == (
        "queue=dp&limit=100&offset=0&consumerGroup=g&partition=B&from=2000-01-01&to=2100"
    )
    other = await queen.queue("dp").dlq("other").get()
    assert other["total"] == 0 and other["messages"] == []


def test_dlq_builder_clamps_and_chains(queen: Queen) -> None:
    d = queen.queue("x").dlq()
    assert d.limit(0) is d and d.offset(-5) is d and d.from_("a") is d and d.to("b") is d
    assert "limit=1&offset=0" in d.path


def test_dlq_without_a_name(queen: Queen) -> None:
    with pytest.raises(ValueError, match=r"^Queue name is required for DLQ operations$"):
        queen.queue().dlq()


async def test_dlq_errors_raise(queen: Queen, broker: RecordingBroker,
                                server: QueenTestServer) -> None:
    broker.faults.db_error("dlq", "db gone")
    with pytest.raises(QueenServerError, match=r"db gone"):
        await queen.queue("x").dlq().get()
    server.nodes[0].faults.error(500)
    with pytest.raises(QueenHttpError):
        await queen.queue("x").dlq().get()


async def test_dlq_null_value_quirk() -> None:
    q = make_client("http://a:1", transport=FakeTransport(
        response(200, {"success": True, "value": None})))
    assert await q.queue("x").dlq().get() == {
        "messages": [], "total": 0, "pagination": {"limit": 100, "offset": 0},
    }


# -- admin -----------------------------------------------------------------------------------


async def _setup(queen: Queen) -> Any:
    await queen.queue("adm").namespace("ns").task("tk").create()
    await queen.queue("adm").push({"data": 1, "transactionId": "adm-1"})
    (m,) = await queen.queue("adm").group("g").wait(False).pop()
    assert (await m.trace({"data": {"x": 1}, "traceName": "tn 1"}))["success"]
    return m


async def test_admin_routes_exist_and_return_their_shapes(
    queen: Queen, broker: RecordingBroker
) -> None:
    m = await _setup(queen)
    admin = queen.admin
    assert admin is queen.admin
    pid, tx = m["partitionId"], m["transactionId"]

    assert "messages" in await admin.get_overview()
    assert isinstance((await admin.get_namespaces())["namespaces"], list)
    assert isinstance((await admin.get_tasks())["tasks"], list)
    queues = await admin.list_queues()
    assert "adm" in [q["name"] for q in queues["queues"]]
    assert (await admin.get_queue("adm"))["name"] == "adm"
    assert await admin.get_queue("nope") == {"error": "Queue not found"}
    listed = await admin.list_messages(queue="adm", ns=None)
    assert isinstance(listed, dict) and "messages" in listed
    assert (await admin.get_message(pid, tx))["transactionId"] == tx
    traces = await admin.get_traces_for_message(pid, tx)
    assert len(traces["traces"]) == 1
    by_name = await admin.get_traces_by_name("tn 1")
    assert len(by_name["traces"]) == 1
    names = await admin.get_trace_names()
    assert [n["trace_name"] for n in names["trace_names"]] == ["tn 1"]
    assert isinstance(await admin.get_status(), dict)
    assert isinstance(await admin.get_queue_stats(), dict)
    assert isinstance(await admin.get_queue_detail("adm"), dict)
    assert isinstance(await admin.get_analytics(), dict)
    groups = await admin.list_consumer_groups()
    assert any(g["name"] == "g" for g in groups)
    assert "adm" in (await admin.get_consumer_group("g"))
    assert await admin.get_consumer_group("unknown-group") is None
    assert await admin.get_lagging_consumers(10**9) is None
    assert isinstance(await admin.refresh_consumer_stats(), dict)
    assert (await admin.health())["status"] == "healthy"
    assert isinstance(await admin.metrics(), dict)
    maint = await admin.get_maintenance_mode()
    assert maint["maintenanceMode"] is False
    assert (await admin.set_maintenance_mode(True))["maintenanceMode"] is True
    assert (await admin.set_maintenance_mode(False))["maintenanceMode"] is False
    assert (await admin.get_pop_maintenance_mode())["popMaintenanceMode"] is False
    assert (await admin.set_pop_maintenance_mode(True))["popMaintenanceMode"] is True
    assert (await admin.set_pop_maintenance_mode(False))["popMaintenanceMode"] is False
    for method in (admin.get_system_metrics, admin.get_worker_metrics):
        assert isinstance(await method(), (dict, list))
    assert isinstance(await admin.get_postgres_stats(), (dict, list))
    deleted = await admin.delete_consumer_group_for_queue("g", "adm", delete_metadata=False)
    assert deleted["queueName"] == "adm" and deleted["metadataDeleted"] is False
    deleted_msg = await admin.delete_message(pid, tx)
    assert deleted_msg["success"] is True
    assert deleted_msg["message"] == "Message deleted successfully"
    assert await admin.get_message(pid, tx) == {"error": "Message not found"}

    # The additions.
    assert await admin.get_queue_messages("nope") is None
    assert isinstance(await admin.get_buffer_status(), dict)
    assert isinstance(await admin.get_shared_state(), dict)

    # Every request got a real route: no 404 and no unknown paths.
    assert all(r.path.startswith(("/api/v1/", "/health", "/metrics")) for _, r in broker.requests)


async def test_admin_request_details(queen: Queen, broker: RecordingBroker) -> None:
    await queen.admin.list_messages(queue="a b", limit=5, status=None)
    await queen.admin.get_lagging_consumers()
    await queen.admin.set_maintenance_mode(False)
    await queen.admin.refresh_consumer_stats()
    await queen.admin.get_traces_by_name("a/b c")
    assert broker.seen("GET", "/api/v1/messages")[0].query == "queue=a%20b&limit=5"
    assert broker.seen("GET", "/api/v1/consumer-groups/lagging")[0].query == "minLagSeconds=60"
    assert broker.bodies("POST", "/api/v1/system/maintenance") == [{"enabled": False}]
    assert broker.seen("POST", "/api/v1/stats/refresh")[0].body == b"{}"
    assert broker.seen("GET", "/api/v1/traces/by-name/")[0].path == (
        "/api/v1/traces/by-name/a%2Fb%20c"
    )


async def test_unsupported_admin_methods_raise_at_once(
    queen: Queen, broker: RecordingBroker
) -> None:
    calls: List[Any] = [
        queen.admin.clear_queue("q"),
        queen.admin.clear_queue("q", partition="p"),
        queen.admin.get_partitions(queue="q"),
        queen.admin.retry_message("p", "t"),
        queen.admin.move_message_to_dlq("p", "t"),
    ]
    for call in calls:
        with pytest.raises(QueenUnsupportedError):
            await call
    assert broker.requests == []


async def test_admin_errors(server: QueenTestServer) -> None:
    server.nodes[0].faults.error(401, body=b'{"error":"Authentication required"}')
    async with make_client(server.url) as q:
        with pytest.raises(QueenHttpError, match=r"Authentication required"):
            await q.admin.get_overview()
