"""ack() single and batch (§3.3, D8), renew() (§3.4, D6), consumer groups (§3.6), seek."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List

import orjson
import pytest

from queen import Queen, QueenHttpError
from queen.testing import QueenTestServer

from .conftest import FakeTransport, RecordingBroker, make_client, refused, response


async def _pop(queen: Queen, name: str, n: int = 1, **kw: Any) -> List[Any]:
    builder = queen.queue(name).batch(n).wait(False)
    if "group" in kw:
        builder.group(kw["group"])
    if "partition" in kw:
        builder.partition(kw["partition"])
    return await builder.pop()


# -- single ack ------------------------------------------------------------------------------


async def test_ack_completed(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("a1").push([{"data": 1}, {"data": 2}])
    (m,) = await _pop(queen, "a1")
    result = await queen.ack(m)
    assert result["success"] is True
    assert result["transactionId"] == m["transactionId"]
    assert result["error"] is None and result["dlq"] is False
    assert broker.bodies("POST", "/api/v1/ack") == [
        {
            "transactionId": m["transactionId"], "partitionId": m["partitionId"],
            "status": "completed", "error": None, "consumerGroup": None,
            "leaseId": m["leaseId"],
        }
    ]
    assert [x["data"] for x in await _pop(queen, "a1")] == [2]


async def test_ack_failed_is_redelivered(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("a2").push({"data": 1})
    (m,) = await _pop(queen, "a2")
    assert (await queen.ack(m, False))["success"] is True
    assert broker.bodies("POST", "/api/v1/ack")[0]["status"] == "failed"
    (again,) = await _pop(queen, "a2")
    assert again["transactionId"] == m["transactionId"]


async def test_ack_dlq_with_group_and_error_keyword(
    queen: Queen, broker: RecordingBroker
) -> None:
    await queen.queue("a3").push({"data": 1})
    (m,) = await _pop(queen, "a3", group="g")
    result = await queen.ack(m, "dlq", {"group": "g", "error": "from-context"}, error="kw-wins")
    assert result["success"] is True and result["dlq"] is True
    body = broker.bodies("POST", "/api/v1/ack")[0]
    assert (body["status"], body["consumerGroup"], body["error"]) == ("dlq", "g", "kw-wins")
    (entry,) = broker.state.dlq
    assert entry.error == "kw-wins" and entry.group == "g"


async def test_ack_context_error(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("a4").push({"data": 1})
    (m,) = await _pop(queen, "a4")
    await queen.ack(m, "retry", {"error": "ctx"})
    body = broker.bodies("POST", "/api/v1/ack")[0]
    assert (body["status"], body["error"]) == ("retry", "ctx")


async def test_ack_by_id_and_without_lease(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("a5").push({"data": 1, "transactionId": "byid"})
    (m,) = await _pop(queen, "a5")
    result = await queen.ack({"id": "byid", "partitionId": m["partitionId"], "leaseId": ""})
    assert result["success"] is True
    body = broker.bodies("POST", "/api/v1/ack")[0]
    assert body["transactionId"] == "byid"
    assert "leaseId" not in body


async def test_ack_missing_fields_return_errors_without_a_request(
    queen: Queen, broker: RecordingBroker
) -> None:
    assert await queen.ack({"partitionId": "p"}) == {
        "success": False, "error": "Message must have transactionId or id property",
    }
    assert await queen.ack({"transactionId": "t"}) == {
        "success": False,
        "error": "Message must have partitionId property to ensure message uniqueness",
    }
    assert (await queen.ack("bare-id"))["success"] is False  # type: ignore[arg-type]
    assert broker.requests == []


async def test_ack_refused_by_the_broker(queen: Queen, server: QueenTestServer) -> None:
    await queen.queue("a6").config({"lease_time": 10}).create()
    await queen.queue("a6").push({"data": 1})
    (m,) = await _pop(queen, "a6")
    server.clock.advance(11)
    result = await queen.ack(m)
    assert result["success"] is False
    assert result["error"] == "Invalid or expired lease"
    assert result["transactionId"] == m["transactionId"]
    missing = await queen.ack({"transactionId": "nope", "partitionId": m["partitionId"]})
    assert missing == {**missing, "success": False, "error": "Message not found"}


async def test_ack_database_error_and_transport_error(
    queen: Queen, broker: RecordingBroker, server: QueenTestServer
) -> None:
    msg = {"transactionId": "t", "partitionId": "0195f1c4-02d2-7a9e-8c11-5d7e2f3a4b6c"}
    broker.faults.db_error("ack", "connection lost")
    assert await queen.ack(msg) == {"success": False, "error": "connection lost"}
    server.nodes[0].faults.error(503)
    result = await queen.ack(msg)
    assert result["success"] is False and result["error"]
    server.nodes[0].faults.clear()
    await server.nodes[0].stop()
    result = await queen.ack(msg)
    # The connection error's text is the event loop's (asyncio and uvloop word it apart);
    # the failure names the request either way.
    assert result["success"] is False and result["error"].endswith(
        f"(POST {server.url}/api/v1/ack)"
    )


async def test_ack_non_list_success_shapes() -> None:
    msg = {"transactionId": "t", "partitionId": "p"}
    q = make_client("http://a:1", transport=FakeTransport(response(200, {"ok": 1})))
    assert await q.ack(msg) == {"success": True, "ok": 1}
    q = make_client("http://a:1", transport=FakeTransport(response(200, [{"success": False}])))
    assert await q.ack(msg) == {"success": False, "error": "ACK failed"}


# -- batch ack -------------------------------------------------------------------------------


async def test_batch_ack_empty_list(queen: Queen, broker: RecordingBroker) -> None:
    assert await queen.ack([]) == {"processed": 0, "results": [], "success": True}
    assert broker.requests == []


async def test_batch_ack(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("b1").push([{"data": i} for i in range(3)])
    messages = await _pop(queen, "b1", 3, group="g")
    result = await queen.ack(messages, True, {"group": "g"})
    assert result["success"] is True
    assert len(result["results"]) == 3 and "failed" not in result
    (body,) = broker.bodies("POST", "/api/v1/ack/batch")
    assert body["consumerGroup"] == "g"
    assert body["acknowledgments"] == [
        {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
         "status": "completed", "error": None, "leaseId": m["leaseId"]}
        for m in messages
    ]
    assert await _pop(queen, "b1", 3, group="g") == []


async def test_batch_ack_per_message_overrides(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("b2").push([{"data": i} for i in range(3)])
    messages = await _pop(queen, "b2", 3)
    annotated: List[Dict[str, Any]] = [dict(m) for m in messages]
    annotated[0]["_status"] = False
    annotated[0]["_error"] = "first broke"
    annotated[1]["_status"] = "completed"
    await queen.ack(annotated, "retry", error="default-error")
    (body,) = broker.bodies("POST", "/api/v1/ack/batch")
    acks = body["acknowledgments"]
    assert [(a["status"], a["error"]) for a in acks] == [
        ("failed", "first broke"), ("completed", "default-error"), ("retry", "default-error"),
    ]
    assert all("_status" not in a and "_error" not in a for a in acks)


async def test_batch_ack_missing_ids_raise(queen: Queen, broker: RecordingBroker) -> None:
    with pytest.raises(ValueError, match=r"^Message must have transactionId or id property$"):
        await queen.ack([{"transactionId": "t", "partitionId": "p"}, {"partitionId": "p"}])
    with pytest.raises(ValueError, match=r"ensure message uniqueness$"):
        await queen.ack([{"transactionId": "t"}])
    assert broker.requests == []


async def test_batch_ack_reports_refusals_d8(queen: Queen) -> None:
    await queen.queue("b3").push([{"data": 1}, {"data": 2}])
    messages = await _pop(queen, "b3", 2)
    bogus = {"transactionId": "ghost", "partitionId": messages[0]["partitionId"]}
    result = await queen.ack([messages[0], bogus, messages[1]])
    assert result["success"] is False
    assert result["error"] == "Message not found"
    assert result["failed"] == [
        {"index": 1, "transactionId": "ghost", "partitionId": messages[0]["partitionId"],
         "error": "Message not found"},
    ]
    assert len(result["results"]) == 3


async def test_batch_ack_error_shapes(queen: Queen, broker: RecordingBroker) -> None:
    msgs = [{"transactionId": "t", "partitionId": "0195f1c4-02d2-7a9e-8c11-5d7e2f3a4b6c"}]
    broker.faults.db_error("ack", "db gone")
    assert await queen.ack(msgs) == {"success": False, "error": "db gone"}
    q = make_client("http://a:1", transport=FakeTransport(response(200, b"")))
    assert await q.ack(msgs) == {"success": True, "results": []}
    q = make_client("http://a:1", retry_attempts=1, transport=FakeTransport(response(500)))
    result = await q.ack(msgs)
    assert result["success"] is False and result["error"]



_PID = "0195f1c4-02d2-7a9e-8c11-5d7e2f3a4b6c"
_BATCH = [{"transactionId": f"t{i}", "partitionId": _PID, "leaseId": "l"} for i in range(3)]


def _entry(i: int, **over: Any) -> Dict[str, Any]:
    return {"dlq": False, "error": None, "index": i, "leaseReleased": False,
            "partitionName": "Default", "queueName": "q", "success": True,
            "transactionId": f"t{i}", **over}


@pytest.mark.parametrize(
    "script",
    [
        [response(200, [_entry(0), _entry(1), _entry(2, leaseReleased=True)])],
        [response(200, [_entry(0), _entry(1, success=False, error="Message not found"),
                        _entry(2, success=False, error=None)])],
        [response(200, [_entry(0), 3, None])],  # entries that are not objects: refusals
        [response(200, [_entry(0)])],  # an answer shorter than the batch
        [response(200, [])],
        [response(200, b"")],
        [response(204, b"[1]")],
        [response(200, {"success": False, "error": "db gone"})],
        [response(200, {"success": False})],
        [response(200, "text")],
        [response(200, b'[{"success":true,"error":"\\u00e9"}, {"success":"yes"}]')],
        [response(200, b"[{not json"), response(200, [_entry(0), _entry(1), _entry(2)])],
        [response(500)],
        [response(400, {"error": "bad"})],
        [refused()],
    ],
)
async def test_consumer_batch_settle_answers_what_ack_answers(script: List[Any]) -> None:
    # The consumer settles its batches without decoding the broker's results: everything
    # else it reads (success, error, failed) is what ack() answers, for every answer shape.
    def client() -> Queen:
        return make_client("http://a:1", retry_attempts=2, retry_delay_millis=1,
                           transport=FakeTransport(*script))

    for status, context in ((True, {}), ("retry", {"group": "g", "error": "e"})):
        expected = await client().ack(_BATCH, status, context)
        expected.pop("results", None)
        assert await client()._settle_batch(_BATCH, status, context) == expected
    sent = FakeTransport(response(200, [_entry(0), _entry(1), _entry(2)]))
    await make_client("http://a:1", transport=sent)._settle_batch(_BATCH, False, {"group": "g"})
    (method, url, body, _), = sent.sends
    assert (method, url) == ("POST", "http://a:1/api/v1/ack/batch")
    assert body is not None and orjson.loads(body) == {
        "acknowledgments": [{"transactionId": m["transactionId"], "partitionId": _PID,
                             "status": "failed", "error": None, "leaseId": "l"}
                            for m in _BATCH],
        "consumerGroup": "g",
    }


# -- renew -----------------------------------------------------------------------------------


async def test_renew_extends_the_lease_on_the_broker(
    queen: Queen, broker: RecordingBroker, server: QueenTestServer
) -> None:
    await queen.queue("r1").config({"lease_time": 10}).create()
    await queen.queue("r1").push({"data": 1})
    (m,) = await _pop(queen, "r1")
    result = await queen.renew(m)
    assert isinstance(result, dict)
    assert result["success"] is True and result["leaseId"] == m["leaseId"]
    assert result["newExpiresAt"] == result["expiresAt"] and result["expiresAt"]
    assert broker.bodies("POST", f"/api/v1/lease/{m['leaseId']}/extend") == [{"seconds": 60}]
    server.clock.advance(30)  # past the original 10 s lease, within the renewed 60 s
    assert await _pop(queen, "r1") == []
    assert (await queen.ack(m))["success"] is True


async def test_renew_seconds_keyword(queen: Queen, broker: RecordingBroker,
                                     server: QueenTestServer) -> None:
    await queen.queue("r2").config({"lease_time": 10}).create()
    await queen.queue("r2").push({"data": 1})
    (m,) = await _pop(queen, "r2")
    renewed: Any = await queen.renew(m["leaseId"], seconds=200)
    assert renewed["success"] is True
    assert broker.bodies("POST", "/api/v1/lease")[0] == {"seconds": 200}
    server.clock.advance(150)
    assert await _pop(queen, "r2") == []
    server.clock.advance(60)
    assert len(await _pop(queen, "r2")) == 1


async def test_renew_list_dedupes_in_order(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("r3").partition("A").push({"data": 1})
    await queen.queue("r3").partition("B").push({"data": 2})
    (a,) = await _pop(queen, "r3", partition="A")
    (b,) = await _pop(queen, "r3", partition="B")
    result = await queen.renew([b, a["leaseId"], "", {"leaseId": None}, b, a])
    assert isinstance(result, list)
    assert [r["leaseId"] for r in result] == [b["leaseId"], a["leaseId"]]
    assert all(r["success"] for r in result)
    assert len(broker.seen("POST", "/api/v1/lease")) == 2


async def test_renew_multi_partition_pop_once(queen: Queen, broker: RecordingBroker) -> None:
    for p in "xyz":
        await queen.queue("r4").partition(p).push({"data": p})
    messages = await queen.queue("r4").partitions(3).batch(3).wait(False).pop()
    result = await queen.renew(messages)
    assert isinstance(result, list) and len(result) == 1 and result[0]["success"]
    assert len(broker.seen("POST", "/api/v1/lease")) == 1


async def test_renew_without_ids(queen: Queen, broker: RecordingBroker,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="queen.client")
    failure = {"success": False, "error": "No valid lease IDs found for renewal"}
    for value in ("", {"data": 1}):
        assert await queen.renew(value) == failure
    # A list always gets a list back (one result per lease, or this one failure).
    for many in ([], [{"leaseId": ""}, None]):
        assert await queen.renew(many) == [failure]
    assert broker.requests == []
    assert any("No valid lease IDs" in r.getMessage() for r in caplog.records)


async def test_renew_refused(queen: Queen, server: QueenTestServer) -> None:
    unknown = "0195f1c4-02d2-7a9e-8c11-5d7e2f3a4b6c"
    assert await queen.renew(unknown) == {
        "leaseId": unknown, "success": False, "error": "Lease not found",
    }
    await queen.queue("r5").config({"lease_time": 5}).create()
    await queen.queue("r5").push({"data": 1})
    (m,) = await _pop(queen, "r5")
    server.clock.advance(6)
    result = await queen.renew(m)
    assert result == {"leaseId": m["leaseId"], "success": False, "error": "Lease already expired"}


async def test_renew_transport_error_does_not_raise(server: QueenTestServer) -> None:
    await server.nodes[0].stop()
    async with make_client(server.url, retry_attempts=1) as q:
        results: Any = await q.renew(["l1"])
    (result,) = results
    assert result["leaseId"] == "l1" and result["success"] is False and result["error"]


# -- consumer groups -------------------------------------------------------------------------


async def test_delete_consumer_group(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("cg").push([{"data": 1}, {"data": 2}])
    (m,) = await _pop(queen, "cg", group="g")
    await queen.ack(m, True, {"group": "g"})
    result = await queen.delete_consumer_group("g")
    assert result == {"success": True, "consumerGroup": "g", "deletedPartitions": 1,
                      "metadataDeleted": True}
    assert broker.seen("DELETE", "/api/v1/consumer-groups/g")[0].query == "deleteMetadata=true"
    # The group starts over.
    assert [x["data"] for x in await _pop(queen, "cg", group="g")] == [1]
    result = await queen.delete_consumer_group("g", delete_metadata=False)
    assert result["metadataDeleted"] is False
    assert broker.seen("DELETE", "/api/v1/consumer-groups/g")[1].query == "deleteMetadata=false"


async def test_delete_consumer_group_http_error(server: QueenTestServer) -> None:
    server.nodes[0].faults.error(403, body=b'{"error":"Insufficient permissions"}')
    async with make_client(server.url) as q:
        with pytest.raises(QueenHttpError, match=r"Insufficient permissions"):
            await q.delete_consumer_group("g")


async def test_update_consumer_group_timestamp(
    queen: Queen, broker: RecordingBroker, server: QueenTestServer
) -> None:
    await queen.queue("ts").push({"data": "old"})
    aware = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    naive = dt.datetime(2030, 1, 2, 3, 4, 5)
    r1 = await queen.update_consumer_group_timestamp("g", aware)
    r2 = await queen.update_consumer_group_timestamp("g", naive)
    r3 = await queen.update_consumer_group_timestamp("g", "2030-01-01T00:00:00Z")
    assert broker.bodies("POST", "/api/v1/consumer-groups/g/subscription") == [
        {"subscriptionTimestamp": "2030-01-02T01:04:05Z"},
        {"subscriptionTimestamp": "2030-01-02T03:04:05Z"},
        {"subscriptionTimestamp": "2030-01-01T00:00:00Z"},
    ]
    assert r1 == {"success": True, "consumerGroup": "g", "newTimestamp": "2030-01-02T01:04:05Z",
                  "rowsUpdated": 0}
    assert r3["newTimestamp"] == "2030-01-01T00:00:00Z" and r2["success"] is True


async def test_update_timestamp_moves_a_subscribed_group(queen: Queen) -> None:
    await queen.queue("ts2").partition("A").push({"data": "a"})
    got = await queen.queue("ts2").group("g").subscription_from("2000-01-01T00:00:00Z") \
        .wait(False).pop()
    assert [x["data"] for x in got] == ["a"]
    await queen.ack(got[0], True, {"group": "g"})
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    result = await queen.update_consumer_group_timestamp("g", future)
    assert result["success"] is True
    assert result["rowsUpdated"] >= 1
    # A partition without a cursor now starts at the new (future) instant.
    await queen.queue("ts2").partition("B").push({"data": "b"})
    assert await _pop(queen, "ts2", group="g") == []
    assert [x["data"] for x in await _pop(queen, "ts2", group="other")] == ["a"]


async def test_seek_consumer_group(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("sk").push([{"data": i} for i in range(3)])
    (m,) = await _pop(queen, "sk", group="g")
    await queen.ack(m, True, {"group": "g"})
    result = await queen.admin.seek_consumer_group("g", "sk", {"toEnd": True})
    assert result["success"] is True and result["seekToEnd"] is True
    assert result["partitionsUpdated"] == 1
    assert await _pop(queen, "sk", group="g") == []
    result = await queen.admin.seek_consumer_group("g", "sk", {"timestamp": "2000-01-01T00:00:00Z"})
    assert result["success"] is True and result["seekToEnd"] is False
    assert [x["data"] for x in await _pop(queen, "sk", 5, group="g")] == [0, 1, 2]
    with pytest.raises(QueenHttpError) as info:
        await queen.admin.seek_consumer_group("g", "sk")
    assert info.value.status == 400
    assert "toEnd" in str(info.value)
    assert broker.bodies("POST", "/api/v1/consumer-groups/g/queues/sk/seek")[-1] == {}
