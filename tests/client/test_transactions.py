"""Transactions (§4.8, §5.10, D10)."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, List

import pytest

from queen import Queen, QueenError, QueenServerError
from queen.testing import QueenTestServer

from .conftest import RecordingBroker, make_client

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def _one(queen: Queen, name: str, group: Any = None) -> Any:
    b = queen.queue(name).wait(False)
    if group:
        b.group(group)
    (m,) = await b.pop()
    return m


async def test_ack_and_pushes_commit_together(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("src").push([{"data": "s1"}, {"data": "s2"}])
    m = await _one(queen, "src")
    trace = str(uuid.uuid4())
    result = await (
        queen.transaction()
        .ack(m)
        .queue("dst1").push([{"data": {"n": 1}}, {"payload": "p"}])
        .queue("dst2").partition("P").push({"data": 2, "transactionId": "user-tx",
                                            "traceId": trace})
        .commit()
    )
    assert result["success"] is True
    assert [r["type"] for r in result["results"]] == ["ack", "push", "push", "push"]
    (body,) = broker.bodies("POST", "/api/v1/transaction")
    # Items without an id get a client-generated UUIDv7, so a replay cannot store them twice.
    generated = [i.pop("transactionId") for i in body["operations"][1]["items"]]
    assert all(UUID7.match(tx) for tx in generated) and generated[0] != generated[1]
    assert body == {
        "operations": [
            {"type": "ack", "transactionId": m["transactionId"],
             "partitionId": m["partitionId"], "status": "completed"},
            {"type": "push", "items": [{"queue": "dst1", "payload": {"n": 1}},
                                       {"queue": "dst1", "payload": "p"}]},
            {"type": "push", "items": [{"queue": "dst2", "payload": 2, "partition": "P",
                                        "transactionId": "user-tx", "traceId": trace}]},
        ],
        "requiredLeases": [m["leaseId"]],
    }
    d1 = await queen.queue("dst1").batch(5).wait(False).pop()
    assert [x["data"] for x in d1] == [{"n": 1}, "p"]
    assert [x["transactionId"] for x in d1] == generated
    (d2,) = await queen.queue("dst2").partition("P").wait(False).pop()
    assert (d2["transactionId"], d2["traceId"], d2["data"]) == ("user-tx", trace, 2)
    # The ack moved the source cursor: the next message is s2.
    assert (await _one(queen, "src"))["data"] == "s2"


async def test_duplicate_rolls_everything_back(
    queen: Queen, broker: RecordingBroker, server: QueenTestServer
) -> None:
    await queen.queue("rb-src").config({"lease_time": 10}).create()
    await queen.queue("rb-src").push({"data": 1})
    await queen.queue("rb-dst").push({"data": 0, "transactionId": "taken"})
    m = await _one(queen, "rb-src")
    with pytest.raises(QueenServerError, match=r"duplicate key") as info:
        await (
            queen.transaction()
            .ack(m)
            .queue("rb-dst").push([{"data": "new", "transactionId": "fresh"},
                                   {"data": "dup", "transactionId": "taken"}])
            .commit()
        )
    assert info.value.body["success"] is False
    assert info.value.retriable is False
    dst = await queen.queue("rb-dst").batch(5).wait(False).pop()
    assert [x["transactionId"] for x in dst] == ["taken"]
    server.clock.advance(11)
    assert (await _one(queen, "rb-src"))["transactionId"] == m["transactionId"]


async def test_no_operations(queen: Queen, broker: RecordingBroker) -> None:
    with pytest.raises(QueenError) as info:
        await queen.transaction().commit()
    assert str(info.value) == "Transaction has no operations to commit"
    assert type(info.value) is QueenError
    assert broker.requests == []


async def test_consumer_group_context_and_status(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("tg").push([{"data": 1}, {"data": 2}])
    m1 = await _one(queen, "tg", "g1")
    m2 = await _one(queen, "tg", "g2")
    await queen.transaction().ack(m1, True, {"consumer_group": "g1"}).commit()
    await queen.transaction().ack(m2, "completed", {"group": "g2"}).commit()
    ops = [b["operations"][0] for b in broker.bodies("POST", "/api/v1/transaction")]
    assert [(o["consumerGroup"], o["status"]) for o in ops] == [
        ("g1", "completed"), ("g2", "completed"),
    ]
    assert (await _one(queen, "tg", "g1"))["data"] == 2
    assert (await _one(queen, "tg", "g2"))["data"] == 2


async def test_failed_ack_dead_letters_at_once(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("tf").push({"data": 1})
    m = await _one(queen, "tf")
    result = await queen.transaction().ack(m, False).commit()
    assert result["results"][0]["dlq"] is True
    assert len(broker.state.dlq) == 1


async def test_retry_is_rejected(queen: Queen) -> None:
    await queen.queue("tr").push({"data": 1})
    m = await _one(queen, "tr")
    with pytest.raises(QueenServerError, match=r"ACK operation failed"):
        await queen.transaction().ack(m, "retry").commit()


async def test_ack_of_a_list_adds_one_operation_per_message(
    queen: Queen, broker: RecordingBroker
) -> None:
    await queen.queue("tl").push([{"data": 1}, {"data": 2}])
    messages = await queen.queue("tl").batch(2).wait(False).pop()
    tx = queen.transaction().ack(messages)
    assert len(tx.operations) == 2
    assert tx.required_leases == [messages[0]["leaseId"]]
    assert (await tx.commit())["success"] is True


async def test_missing_ids_raise(queen: Queen) -> None:
    with pytest.raises(ValueError, match=r"^Message must have transactionId or id property$"):
        queen.transaction().ack({"partitionId": "p"})
    with pytest.raises(ValueError, match=r"ensure message uniqueness$"):
        queen.transaction().ack({"id": "t"})


async def test_bad_trace_id_is_dropped_with_a_warning(
    queen: Queen, broker: RecordingBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="queen.client")
    await queen.transaction().queue("bt").push({"data": 1, "traceId": "nope"}).commit()
    (body,) = broker.bodies("POST", "/api/v1/transaction")
    (item,) = body["operations"][0]["items"]
    assert item == {"queue": "bt", "payload": 1, "transactionId": item["transactionId"]}
    assert any("nope" in r.getMessage() for r in caplog.records)


async def test_payload_rules_in_transactions(queen: Queen, broker: RecordingBroker) -> None:
    await queen.transaction().queue("pr").push(
        [{"data": None}, {"data": {}}, {"x": 1}]
    ).commit()
    items = broker.bodies("POST", "/api/v1/transaction")[0]["operations"][0]["items"]
    assert [i["payload"] for i in items] == [None, {}, {"x": 1}]
    popped = await queen.queue("pr").batch(3).wait(False).pop()
    assert [m["data"] for m in popped] == [None, {}, {"x": 1}]


async def test_non_serialisable_transaction_payload(queen: Queen) -> None:
    with pytest.raises(TypeError):
        queen.transaction().queue("x").push({"data": {1}})


async def test_commit_on_a_closed_client(server: QueenTestServer) -> None:
    q = make_client(server.url)
    await q.close()
    with pytest.raises(QueenError, match=r"^Queen client is closed$"):
        await q.transaction().queue("x").push({"data": 1}).commit()


async def test_transport_errors_raise(server: QueenTestServer) -> None:
    server.nodes[0].faults.error(500)
    async with make_client(server.url, retry_attempts=2) as q:
        with pytest.raises(QueenError) as info:
            await q.transaction().queue("x").push({"data": 1}).commit()
    assert getattr(info.value, "status", None) == 500
    assert server.nodes[0].faults.rules[0].hits == 2


async def test_database_error_body(queen: Queen, broker: RecordingBroker) -> None:
    broker.faults.db_error("transaction", "connection lost")
    with pytest.raises(QueenServerError, match=r"^connection lost$") as info:
        await queen.transaction().queue("x").push({"data": 1}).commit()
    assert info.value.body == {"success": False, "error": "connection lost"}


def test_chaining_returns_the_parent(queen: Queen) -> None:
    tx = queen.transaction()
    tq = tx.queue("a")
    assert tq.partition("p") is tq
    assert tq.push({"data": 1}) is tx
    ops: List[Any] = tx.operations
    (item,) = ops[0]["items"]
    assert UUID7.match(item.pop("transactionId"))
    assert ops == [{"type": "push", "items": [{"queue": "a", "payload": 1, "partition": "p"}]}]


async def test_tuples_of_messages_are_lists(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("tup").push([{"data": 1}, {"data": 2}])
    messages = await queen.queue("tup").batch(2).wait(False).pop()
    assert len(queen.transaction().ack(tuple(messages)).operations) == 2
    result = await queen.ack(tuple(messages))
    assert result["success"] is True and len(result["results"]) == 2
    assert len(broker.seen("POST", "/api/v1/ack/batch")) == 1
