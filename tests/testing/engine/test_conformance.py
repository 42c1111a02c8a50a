"""The thirteen conformance checks of §6.9, one test each, in order."""

from __future__ import annotations

import asyncio
import time


async def test_1_duplicates(api):
    res = await api.post("/api/v1/push", {"items": [
        {"queue": "c1", "partition": "a", "transactionId": "x"},
        {"queue": "c1", "partition": "a", "transactionId": "x"},
        {"queue": "c1", "partition": "b", "transactionId": "x"}]})
    assert [r["status"] for r in res] == ["queued", "duplicate", "queued"]
    assert res[1]["message_id"] == res[0]["message_id"]


async def test_2_per_message_ids_and_lease_blocks(api):
    await api.push("c2", 1, 2, partition="P")
    body = await api.pop("c2", "P")
    m = body["messages"][0]
    assert m["partitionId"] == body["partitionId"] and m["leaseId"] == body["leaseId"]
    assert (await api.pop("c2", "P"))["error"] == "lease_held"
    assert (await api.pop("c2"))["error"] == "no_available_partition"


async def test_3_full_ack_releases(api):
    await api.push("c3", 1, 2, 3, partition="P")
    body = await api.pop("c3", "P", "batch=2")
    res = await api.ack_batch(body["messages"])
    assert res[-1]["leaseReleased"] is True
    assert [m["data"] for m in (await api.pop("c3", "P", "batch=5"))["messages"]] == [3]


async def test_4_failed_redelivery_then_dlq(api):
    await api.configure("c4", retryLimit=1)
    await api.push("c4", 1, partition="P")
    body = await api.pop("c4", "P")
    assert (await api.ack(body["messages"][0], "failed"))["dlq"] is False
    body = await api.pop("c4", "P")
    r = await api.ack(body["messages"][0], "failed")
    assert r["dlq"] is True and r["leaseReleased"] is False
    assert len((await api.get("/api/v1/dlq", "queue=c4"))["messages"]) == 1


async def test_5_lease_expiry_redelivery(api):
    await api.configure("c5", leaseTime=2)
    await api.push("c5", 1)
    first = await api.pop("c5")
    api.clock.advance(2.5)
    again = await api.pop("c5")
    assert again["messages"][0]["id"] == first["messages"][0]["id"]
    assert (await api.get("/api/v1/dlq"))["messages"] == []


async def test_6_lease_extend(api):
    await api.push("c6", 1)
    body = await api.pop("c6")
    r = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {"seconds": 600})
    assert r[0]["success"] is True
    await api.ack(body["messages"][0])
    r = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {})
    assert r[0]["error"] == "Lease not found"


async def test_7_groups_fan_out_and_new(api):
    await api.push("c7", "old")
    assert len((await api.pop("c7", query="consumerGroup=a"))["messages"]) == 1
    assert len((await api.pop("c7", query="consumerGroup=b"))["messages"]) == 1
    assert (await api.pop("c7", query="consumerGroup=n&subscriptionMode=new"))["messages"] \
        == []
    await api.push("c7", "new")
    got = await api.pop("c7", query="consumerGroup=n")
    assert [m["data"] for m in got["messages"]] == ["new"]


async def test_8_autoack(api):
    await api.push("c8", 1)
    body = await api.pop("c8", query="autoAck=true")
    assert body["leaseId"] == ""
    assert (await api.pop("c8"))["error"] == "no_available_partition"


async def test_9_long_poll_wire_timing(make_api):
    api = make_api(long_poll="wire")
    t0 = time.monotonic()
    body = await api.pop("c9", query="wait=true&timeout=500")
    assert 0.5 <= time.monotonic() - t0 <= 1.3 and body["messages"] == []
    task = asyncio.ensure_future(api.pop("c9", query="wait=true&timeout=5000"))
    await asyncio.sleep(0.05)
    await api.push("c9", 1)
    body = await asyncio.wait_for(task, 2)
    assert len(body["messages"]) == 1


async def test_10_transaction_atomicity(api):
    await api.push("c10", 1, partition="P", txs=["s"])
    body = await api.pop("c10", "P")
    res = await api.post("/api/v1/transaction", {"operations": [
        {"type": "push", "items": [{"queue": "c10-out", "payload": 1}]},
        {"type": "ack", "transactionId": "missing", "partitionId": body["partitionId"]}]})
    assert res["success"] is False
    assert await api.get("/api/v1/resources/queues/c10-out") == {"error": "Queue not found"}


async def test_11_configure_resets(api):
    await api.configure("c11", leaseTime=10, retryLimit=7)
    res = await api.configure("c11", retryLimit=1)
    assert res["options"]["leaseTime"] == 300 and res["options"]["retryLimit"] == 1


async def test_12_multi_partition(api):
    for i in range(6):
        await api.push("c12", i, partition=f"p{i}")
    body = await api.pop("c12", query="partitions=4&batch=10")
    assert len({m["partitionId"] for m in body["messages"]}) == 4
    assert {m["leaseId"] for m in body["messages"]} == {body["leaseId"]}


async def test_13_validation_errors(api):
    cases = [
        ("/api/v1/push", {}, "items array is required"),
        ("/api/v1/ack", {}, "transactionId is required"),
        ("/api/v1/ack/batch", {}, "acknowledgments array is required"),
        ("/api/v1/transaction", {"operations": []}, "operations array cannot be empty"),
        ("/api/v1/configure", {}, "queue is required"),
        ("/api/v1/traces", {}, "transactionId and partitionId are required"),
        ("/api/v1/consumer-groups/g/subscription", {},
         "Missing subscriptionTimestamp in request body"),
        ("/api/v1/consumer-groups/g/queues/q/seek", {},
         "Must specify either 'toEnd': true or 'timestamp'"),
        ("/api/v1/system/maintenance", {}, "enabled (boolean) is required"),
        ("/streams/v1/queries", {}, "name is required"),
    ]
    for path, body, error in cases:
        assert await api.post(path, body) == {"error": error}, path
        assert api.last.status == 400
