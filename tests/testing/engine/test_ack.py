"""Ack and batch ack (§2.3, §2.4, §3.8, §6.4, conformance checks 3 and 4)."""

from __future__ import annotations

import asyncio

import pytest

ACK_KEYS = {"dlq", "error", "index", "leaseReleased", "partitionName", "queueName", "success",
            "transactionId"}


async def _batch(api, n, queue="q", partition="P", query=""):
    await api.push(queue, *range(n), partition=partition, txs=[f"m{i + 1}" for i in range(n)])
    return await api.pop(queue, partition, f"batch={n}" + ("&" + query if query else ""))


async def test_single_ack_shape_and_lease_release(api):
    body = await _batch(api, 1)
    res = await api.post("/api/v1/ack", {"transactionId": "m1",
                                         "partitionId": body["partitionId"],
                                         "leaseId": body["leaseId"]})
    assert res == [{"dlq": False, "error": None, "index": 0, "leaseReleased": True,
                    "partitionName": "P", "queueName": "q", "success": True,
                    "transactionId": "m1"}]


async def test_check3_ack_all_then_next_pop_continues(api):
    await api.push("q", 1, 2, 3, partition="P")
    body = await api.pop("q", "P", "batch=2")
    r1 = await api.ack(body["messages"][0], leaseId=body["leaseId"])
    r2 = await api.ack(body["messages"][1], leaseId=body["leaseId"])
    assert (r1["leaseReleased"], r2["leaseReleased"]) == (False, True)
    nxt = await api.pop("q", "P", "batch=5")
    assert [m["data"] for m in nxt["messages"]] == [3]


async def test_invalid_or_expired_lease(api):
    body = await _batch(api, 1)
    m = body["messages"][0]
    r = await api.ack(m, leaseId="01a21eb7-07ff-7000-b663-0343bcef420c")
    assert r == {"dlq": False, "error": "Invalid or expired lease", "index": 0,
                 "leaseReleased": False, "partitionName": "P", "queueName": "q",
                 "success": False, "transactionId": "m1"}
    api.clock.advance(301)
    assert (await api.ack(m, leaseId=body["leaseId"]))["error"] == "Invalid or expired lease"


async def test_message_not_found_and_unknown_partition(api):
    body = await _batch(api, 1)
    r = await api.post("/api/v1/ack", {"transactionId": "nope", "status": "failed",
                                       "partitionId": body["partitionId"]})
    assert r[0]["error"] == "Message not found" and r[0]["success"] is False
    assert r[0]["queueName"] == "q"
    r = await api.post("/api/v1/ack", {"transactionId": "nope", "status": "failed",
                                       "partitionId": "8b543839-e256-467c-b17a-4f5ac0cd4da2"})
    assert r[0]["queueName"] is None and r[0]["partitionName"] is None


async def test_unknown_status_is_success_false_error_null(api):
    body = await _batch(api, 1)
    r = await api.ack(body["messages"][0], "bogus")
    assert (r["success"], r["error"], r["dlq"]) == (False, None, False)
    assert (await api.pop("q", "P"))["error"] == "lease_held"


async def test_completed_for_group_without_consumer_row_stores_nothing(api):
    body = await _batch(api, 1)
    r = await api.ack(body["messages"][0], consumerGroup="never-popped")
    assert (r["success"], r["error"], r["leaseReleased"]) == (True, None, None)
    got = await api.pop("q", "P", "consumerGroup=never-popped")
    assert len(got["messages"]) == 1


async def test_ack_without_lease_moves_cursor_while_lease_held(api):
    await api.push("q", 1, 2, partition="P", txs=["m1", "m2"])
    body = await api.pop("q", "P")
    api.clock.advance(301)
    other = await api.pop("q", "P", "batch=2")
    assert other["leaseId"] != body["leaseId"]
    r = await api.ack(body["messages"][0])
    assert r["success"] is True
    assert (await api.pop("q", "P"))["error"] == "lease_held"


async def test_completed_can_rewind_cursor(api):
    body = await _batch(api, 3)
    ms = body["messages"]
    for m in (ms[2], ms[1], ms[0]):
        await api.ack(m, leaseId=body["leaseId"])
    nxt = await api.pop("q", "P", "batch=5")
    assert [m["transactionId"] for m in nxt["messages"]] == ["m2", "m3"]


async def test_failed_redelivers_then_dlq_check4(api):
    await api.configure("q", retryLimit=2)
    body = await _batch(api, 2)
    for _ in range(2):
        r = await api.ack(body["messages"][0], "failed", leaseId=body["leaseId"])
        assert (r["success"], r["leaseReleased"], r["dlq"]) == (True, True, False)
        body = await api.pop("q", "P", "batch=2")
        assert [m["transactionId"] for m in body["messages"]] == ["m1", "m2"]
    r = await api.ack(body["messages"][0], "failed", leaseId=body["leaseId"], error="boom")
    assert (r["dlq"], r["leaseReleased"], r["success"]) == (True, False, True)
    dlq = await api.get("/api/v1/dlq", "queue=q")
    assert [(e["transactionId"], e["errorMessage"], e["retryCount"])
            for e in dlq["messages"]] == [("m1", "boom", 2)]
    # lease still held for m2 (batch of 2, one acked)
    assert (await api.pop("q", "P"))["error"] == "lease_held"
    # retry counter not reset by dead-lettering: m2's first failure dead-letters too
    r2 = await api.ack(body["messages"][1], "failed", leaseId=body["leaseId"])
    assert r2["dlq"] is True and r2["leaseReleased"] is False
    assert (await api.pop("q", "P"))["messages"] == []  # lease ended, nothing left


async def test_single_ack_dlq_error_defaults_to_empty_string(api):
    body = await _batch(api, 1)
    r = await api.ack(body["messages"][0], "dlq")
    assert r["dlq"] is True and r["leaseReleased"] is False
    dlq = await api.get("/api/v1/dlq")
    assert dlq["messages"][0]["errorMessage"] == ""
    assert (await api.pop("q", "P"))["messages"] == []  # the dlq ack ended the lease


async def test_failed_counts_once_per_lease(api):
    await api.configure("q", retryLimit=2)
    body = await _batch(api, 3)
    res = await api.ack_batch(body["messages"], "failed")
    assert [(r["success"], r["leaseReleased"], r["dlq"]) for r in res] == [(True, True, False)] * 3
    body = await api.pop("q", "P", "batch=3")
    assert len(body["messages"]) == 3
    # on delivery number retryLimit the single increment exhausts the budget (§3.8 edge)
    res = await api.ack_batch(body["messages"], "failed")
    assert [r["dlq"] for r in res] == [False, True, True]
    assert (await api.pop("q", "P", "batch=3"))["messages"] == []
    dlq = await api.get("/api/v1/dlq")
    assert sorted(e["transactionId"] for e in dlq["messages"]) == ["m2", "m3"]
    assert {e["errorMessage"] for e in dlq["messages"]} == {"Retries exhausted"}


async def test_retry_status_releases_without_budget(api):
    await api.configure("q", retryLimit=0)
    body = await _batch(api, 1)
    for _ in range(2):
        r = await api.ack(body["messages"][0], "retry", leaseId=body["leaseId"])
        assert (r["leaseReleased"], r["dlq"]) == (True, False)
        body = await api.pop("q", "P")
        assert body["messages"][0]["transactionId"] == "m1"
    r = await api.ack(body["messages"][0], "failed")
    assert r["dlq"] is True


async def test_mixed_statuses_skip_failed_message(api):
    body = await _batch(api, 4)
    ms = body["messages"][:3]
    acks = [{"transactionId": m["transactionId"], "partitionId": m["partitionId"],
             "status": s, "leaseId": m["leaseId"]}
            for m, s in zip(ms, ["completed", "failed", "completed"])]
    await api.post("/api/v1/ack/batch", {"acknowledgments": acks})
    nxt = await api.pop("q", "P", "batch=5")
    assert [m["transactionId"] for m in nxt["messages"]] == ["m4"]


async def test_batch_sorted_processing_flags(api):
    body = await _batch(api, 4)
    ms = body["messages"][:3]
    res = await api.ack_batch(list(reversed(ms)))
    assert [r["transactionId"] for r in res] == ["m3", "m2", "m1"]
    assert [r["leaseReleased"] for r in res] == [False, False, False]  # batch of 4
    nxt = await api.pop("q", "P", "batch=5")
    assert nxt["error"] == "lease_held"
    api.clock.advance(301)
    nxt = await api.pop("q", "P", "batch=5")
    assert [m["transactionId"] for m in nxt["messages"]] == ["m4"]  # cursor on m3


async def test_batch_reversed_full_batch_first_entry_releases(api):
    body = await _batch(api, 3)
    res = await api.ack_batch(list(reversed(body["messages"])))
    assert [r["leaseReleased"] for r in res] == [True, False, False]


async def test_batch_group_applies_to_all_items(api):
    body = await _batch(api, 1, query="consumerGroup=g")
    m = body["messages"][0]
    item = {"transactionId": "m1", "partitionId": m["partitionId"], "leaseId": m["leaseId"],
            "consumerGroup": "g"}
    r = await api.post("/api/v1/ack/batch", {"acknowledgments": [item]})
    assert r[0]["error"] == "Invalid or expired lease"
    r = await api.post("/api/v1/ack/batch", {"acknowledgments": [item], "consumerGroup": "g"})
    assert r[0]["success"] is True and r[0]["leaseReleased"] is True


@pytest.mark.parametrize("body,error", [
    ({}, "transactionId is required"),
    ({"transactionId": None, "partitionId": "x"}, "transactionId is required"),
    ({"transactionId": 5}, "transactionId is required"),
    ({"transactionId": "t"}, "partitionId is required to ensure message uniqueness"),
    ({"transactionId": "t", "partitionId": None},
     "partitionId is required to ensure message uniqueness"),
])
async def test_single_ack_validation(api, body, error):
    assert await api.post("/api/v1/ack", body) == {"error": error}
    assert api.last.status == 400


@pytest.mark.parametrize("body,error", [
    ({}, "acknowledgments array is required"),
    ({"acknowledgments": {}}, "acknowledgments array is required"),
    ({"acknowledgments": [{"partitionId": "p"}]},
     "Each acknowledgment must have a valid transactionId string"),
    ({"acknowledgments": [{"transactionId": "t", "partitionId": 1}]},
     "Each acknowledgment must have a valid partitionId string to ensure message uniqueness"),
])
async def test_batch_validation(api, body, error):
    assert await api.post("/api/v1/ack/batch", body) == {"error": error}
    assert api.last.status == 400


async def test_non_uuid_partition_id_is_sql_error(api):
    r = await api.post("/api/v1/ack", {"transactionId": "t", "partitionId": "not-a-uuid"})
    assert api.last.status == 200 and r["success"] is False
    assert r["error"].startswith('ERROR:  invalid input syntax for type uuid: "not-a-uuid"')
    assert "CONTEXT:" in r["error"]
    r = await api.post("/api/v1/ack/batch", {"acknowledgments": [
        {"transactionId": "t", "partitionId": "not-a-uuid"}]})
    assert isinstance(r, dict) and r["success"] is False


async def test_db_fault_turns_array_into_object(api):
    body = await _batch(api, 1)
    api.broker.faults.db_error("ack", message="db down")
    r = await api.ack_batch(body["messages"])
    assert r == {"error": "db down", "success": False}
    assert (await api.ack_batch(body["messages"]))[0]["success"] is True


async def test_empty_batch_never_answers(api):
    task = asyncio.ensure_future(api.post("/api/v1/ack/batch", {"acknowledgments": []}))
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
