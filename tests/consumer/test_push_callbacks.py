"""Immediate push callbacks (§4.4): on_success, on_error, on_duplicate, order, D19, D26."""

from __future__ import annotations

from typing import Any, List, Tuple

import pytest
from qt_helpers import E2E, eventually, stored

from queen import Queen, QueenConnectionError, QueenError, QueenServerError
from queen.testing import QueenTestServer


async def test_on_success_gets_formatted_items_with_results(e2e: E2E) -> None:
    client = e2e.client
    q_ps = e2e.name("ps")
    got: List[Any] = []
    result = await (
        client.queue(q_ps).partition("p").push([{"data": {"a": 1}}, {"payload": 2}, {"x": 3}])
        .on_success(got.append)
    )
    assert [e["status"] for e in result] == ["queued"] * 3
    (items,) = got
    assert [i["payload"] for i in items] == [{"a": 1}, 2, {"x": 3}]
    assert all(i["queue"] == q_ps and i["partition"] == "p" for i in items)
    assert [i["result"] for i in items] == result


async def test_duplicates_then_successes_in_order(e2e: E2E) -> None:
    client = e2e.client
    q_pd = e2e.name("pd")
    calls: List[Tuple[str, Any]] = []
    await client.queue(q_pd).push({"transactionId": "tx-1", "data": 1})

    async def on_duplicate(items: Any, exc: BaseException) -> None:
        calls.append(("duplicate", ([i["transactionId"] for i in items], str(exc))))

    def on_success(items: Any) -> None:
        calls.append(("success", [i["transactionId"] for i in items]))

    await (
        client.queue(q_pd)
        .push([{"transactionId": "tx-2", "data": 2}, {"transactionId": "tx-1", "data": 1},
               {"transactionId": "tx-3", "data": 3}])
        .on_success(on_success).on_duplicate(on_duplicate)
        .on_error(lambda items, exc: calls.append(("error", exc)))
    )
    assert calls == [
        ("duplicate", (["tx-1"], "Duplicate transaction IDs detected")),
        ("success", ["tx-2", "tx-3"]),
    ]


async def test_same_transaction_id_on_another_partition_is_new(e2e: E2E) -> None:
    client = e2e.client
    q_pdp = e2e.name("pdp")
    dups: List[Any] = []
    await client.queue(q_pdp).partition("a").push({"transactionId": "same", "data": 1})
    result = await (
        client.queue(q_pdp).partition("b").push({"transactionId": "same", "data": 1})
        .on_duplicate(lambda items, exc: dups.append(items))
    )
    assert dups == [] and result[0]["status"] == "queued"


async def test_maintenance_buffered_entries_go_to_on_success(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("pm")
    got: List[Any] = []
    await client.admin.set_maintenance_mode(True)
    try:
        result = await client.queue(q).push([{"data": 1}, {"data": 2}]).on_success(got.append)
    finally:
        await client.admin.set_maintenance_mode(False)  # a broker-wide switch
    assert [e["status"] for e in result] == ["buffered", "buffered"]
    assert [[i["payload"] for i in items] for items in got] == [[1, 2]]
    await client.queue(q).push({"data": 3})
    # The real broker drains its disk buffer in the background.
    await eventually(lambda: stored_sorted(client, q, [1, 2, 3]))


async def stored_sorted(client: Queen, queue: str, expected: List[Any]) -> bool:
    return sorted(await stored(client, queue)) == expected


async def test_transport_error_goes_to_on_error(server: QueenTestServer, client: Queen) -> None:
    await server.nodes[0].stop()
    errors: List[Any] = []
    result = await (
        client.queue("pe").push([{"data": 1}, {"data": 2}])
        .on_error(lambda items, exc: errors.append(([i["payload"] for i in items], exc)))
    )
    assert result is None
    assert errors[0][0] == [1, 2] and isinstance(errors[0][1], QueenConnectionError)


async def test_transport_error_without_on_error_raises(
    server: QueenTestServer, client: Queen
) -> None:
    await server.nodes[0].stop()
    with pytest.raises(QueenConnectionError):
        await client.queue("pe2").push({"data": 1})


async def test_error_body_goes_to_on_error(server: QueenTestServer, client: Queen) -> None:
    server.nodes[0].faults.error(
        200, body=b'{"error":"failover data not found"}', path="/api/v1/push", count=1
    )
    errors: List[Any] = []
    result = await (
        client.queue("peb").push({"data": 1}).on_error(lambda items, exc: errors.append(exc))
    )
    assert result == {"error": "failover data not found"}
    assert isinstance(errors[0], QueenServerError)
    server.nodes[0].faults.error(
        200, body=b'{"error":"failover data not found"}', path="/api/v1/push", count=1
    )
    with pytest.raises(QueenServerError, match="failover data not found"):
        await client.queue("peb").push({"data": 1})


async def test_failed_entries_call_on_error_or_raise(
    server: QueenTestServer, client: Queen
) -> None:
    body = (
        b'[{"status":"queued","transaction_id":"a"},'
        b'{"status":"failed","error":"File buffer write failed"}]'
    )
    server.nodes[0].faults.error(200, body=body, path="/api/v1/push", count=1)
    calls: List[Any] = []
    await (
        client.queue("pf").push([{"data": 1}, {"data": 2}])
        .on_error(lambda items, exc: calls.append(("error", [i["payload"] for i in items],
                                                   str(exc), items[0]["error"])))
        .on_success(lambda items: calls.append(("success", [i["payload"] for i in items])))
    )
    assert calls == [
        ("error", [2], "File buffer write failed", "File buffer write failed"),
        ("success", [1]),
    ]
    server.nodes[0].faults.error(200, body=body, path="/api/v1/push", count=1)
    seen: List[Any] = []
    with pytest.raises(QueenServerError, match="File buffer write failed"):
        await client.queue("pf").push([{"data": 1}, {"data": 2}]).on_success(seen.append)
    assert len(seen) == 1  # the other callbacks ran first


async def test_on_success_exception_goes_to_on_error(e2e: E2E) -> None:
    client = e2e.client
    q_pse = e2e.name("pse")
    errors: List[str] = []

    def on_success(items: Any) -> None:
        raise RuntimeError("callback broke")

    result = await (
        client.queue(q_pse).push({"data": 1}).on_success(on_success)
        .on_error(lambda items, exc: errors.append(str(exc)))
    )
    assert result is None and errors == ["callback broke"]
    with pytest.raises(RuntimeError, match="callback broke"):
        await client.queue(q_pse).push({"data": 2}).on_success(on_success)


async def test_empty_push(e2e: E2E) -> None:
    client = e2e.client
    q_pempty = e2e.name("pempty")
    assert await client.queue(q_pempty).push([]) == []


async def test_closed_client_refuses_push(e2e: E2E) -> None:
    client = e2e.client
    make_client = e2e.make_client
    q_pc = e2e.name("pc")
    client = make_client()
    await client.close()
    with pytest.raises(QueenError, match="Queen client is closed"):
        await client.queue(q_pc).push({"data": 1})
