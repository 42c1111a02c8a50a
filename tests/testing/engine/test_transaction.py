"""Transactions (§2.5, Q22, §6.6, conformance check 10)."""

from __future__ import annotations

import re

import pytest

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-")


async def _one(api, queue="src", partition="P", query=""):
    await api.push(queue, "x", "y", partition=partition, txs=["s1", "s2"])
    return await api.pop(queue, partition, "batch=2" + query)


async def test_check10_ack_and_push_commit_together(api):
    body = await _one(api)
    pid = body["partitionId"]
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "ack", "transactionId": "s1", "partitionId": pid, "status": "completed"},
        {"type": "push", "items": [{"queue": "sink", "partition": "c", "payload": {"o": 1},
                                    "transactionId": "o1"},
                                   {"queue": "sink", "partition": "c", "transactionId": "o2"}]},
    ], "requiredLeases": ["garbage"]})
    assert api.last.status == 200
    assert res["success"] is True and UUID4.match(res["transactionId"])
    assert res["results"][0] == {"dlq": False, "error": None, "index": 0, "success": True,
                                 "transactionId": "s1", "type": "ack"}
    p1, p2 = res["results"][1:]
    assert set(p1) == {"index", "messageId", "partitionId", "queueName", "success",
                       "transactionId", "type"}
    assert (p1["index"], p2["index"]) == (1, 2) and UUID7.match(p1["messageId"])
    got = await api.pop("sink", "c", "batch=5")
    assert [m["data"] for m in got["messages"]] == [{"o": 1}, {}]  # missing payload → {}


async def test_check10_unknown_ack_rolls_back_push(api):
    body = await _one(api)
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "push", "items": [{"queue": "newq", "transactionId": "o3"}]},
        {"type": "ack", "transactionId": "nope", "partitionId": body["partitionId"]},
    ]})
    assert res["success"] is False
    assert res["error"] == "ACK operation failed: Message not found"
    assert res["results"][1] == {"dlq": False, "error": "Message not found", "index": 1,
                                 "success": False, "transactionId": "nope", "type": "ack"}
    assert res["results"][0]["success"] is True
    # the pushed message and even its new queue/partition do not exist
    assert await api.get("/api/v1/resources/queues/newq") == {"error": "Queue not found"}


async def test_duplicate_aborts_and_rolls_back_ack(api):
    body = await _one(api)
    pid = body["partitionId"]
    await api.push("sink", 1, txs=["dup"])
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "ack", "transactionId": "s2", "partitionId": pid},
        {"type": "push", "items": [{"queue": "sink", "transactionId": "dup"}]},
    ]})
    assert res["success"] is False
    assert res["error"] == ('duplicate key value violates unique constraint '
                            '"messages_partition_transaction_unique"')
    api.clock.advance(301)
    again = await api.pop("src", "P", "batch=5")
    assert [m["transactionId"] for m in again["messages"]] == ["s1", "s2"]  # cursor unmoved


async def test_failed_dead_letters_immediately_and_clears_lease(api):
    body = await _one(api)
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "ack", "transactionId": "s1", "partitionId": body["partitionId"],
         "status": "failed"}]})
    assert res["results"][0]["dlq"] is True
    dlq = await api.get("/api/v1/dlq")
    e = dlq["messages"][0]
    assert (e["retryCount"], e["errorMessage"]) == (0, "Unknown error")
    nxt = await api.pop("src", "P", "batch=5")
    assert [m["transactionId"] for m in nxt["messages"]] == ["s2"]


@pytest.mark.parametrize("status", ["retry", "weird"])
async def test_other_statuses_fail(api, status):
    body = await _one(api)
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "ack", "transactionId": "s1", "partitionId": body["partitionId"],
         "status": status}]})
    assert res["error"] == "ACK operation failed: Unknown error" and res["success"] is False


async def test_lease_checked_when_given(api):
    body = await _one(api)
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "ack", "transactionId": "s1", "partitionId": body["partitionId"],
         "leaseId": "01a21eb7-07ff-7000-b663-0343bcef420c"}]})
    assert res["error"] == "ACK operation failed: Invalid or expired lease"


async def test_completed_creates_cursor_row(api):
    body = await _one(api)
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "ack", "transactionId": "s1", "partitionId": body["partitionId"],
         "consumerGroup": "fresh"}]})
    assert res["success"] is True
    got = await api.pop("src", "P", "consumerGroup=fresh&batch=5")
    assert [m["transactionId"] for m in got["messages"]] == ["s2"]


async def test_unknown_operation_type(api):
    res = await api.post("/api/v1/transaction", {"operations": [{"type": "frob"}]})
    assert res == {"error": "Unknown operation type: frob", "success": False,
                   "results": [{"error": "Unknown operation type: frob", "index": 0,
                                "success": False, "type": "frob"}],
                   "transactionId": res["transactionId"]}


async def test_single_form_push_uses_payload_or_data_and_v4_id(api):
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "push", "queue": "s", "data": {"d": 1}, "transactionId": "a"},
        {"type": "push", "queue": "s", "payload": {"p": 1}, "transactionId": "b"}]})
    assert res["success"] is True
    assert all(UUID4.match(r["messageId"]) for r in res["results"])
    got = await api.pop("s", query="batch=5")
    assert sorted(map(str, (m["data"] for m in got["messages"]))) == ["{'d': 1}", "{'p': 1}"]


async def test_postgres_errors_have_no_prefix(api):
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "push", "items": [{"queue": "s", "traceId": "not-a-uuid"}]}]})
    assert res["error"] == 'invalid input syntax for type uuid: "not-a-uuid"'
    assert res["results"] == []
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "push", "items": [{"queue": "s", "transactionId": "t" * 300}]}]})
    assert res["error"] == "value too long for type character varying(255)"
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "ack", "transactionId": "t", "partitionId": "not-a-uuid"}]})
    assert res["error"] == 'invalid input syntax for type uuid: "not-a-uuid"'


async def test_transactional_push_does_not_wake_but_is_visible(api):
    await api.post("/api/v1/transaction", {"operations": [
        {"type": "push", "items": [{"queue": "s", "payload": 1}]}]})
    assert len((await api.pop("s"))["messages"]) == 1


@pytest.mark.parametrize("body,error", [
    ({}, "operations array required"),
    ({"operations": {}}, "operations array required"),
    ({"operations": []}, "operations array cannot be empty"),
])
async def test_validation(api, body, error):
    assert await api.post("/api/v1/transaction", body) == {"error": error}
    assert api.last.status == 400
