"""Push and pop in every mode on both brokers (spec §2.1, §2.2, §3.2-§3.7, §3.11)."""

from __future__ import annotations

import asyncio

import pytest


def _items(q, n, partition="p", start=0, **extra):
    return [{"queue": q, "partition": partition, "payload": {"n": i},
             "transactionId": f"t{i}", **extra} for i in range(start, start + n)]


async def test_push_answers(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/push", {"items": _items(q, 2) + _items(q, 1)
                                        + _items(q, 1, partition="other")})
        await api.post("/api/v1/push", {"items": [
            {"queue": q, "payload": None},
            {"queue": q, "payload": "s", "transactionId": ""},
            {"queue": q, "payload": [1], "traceId": "0b6a1c7e-8f3d-4f7b-9b1e-2a3c4d5e6f70"},
            {"queue": q, "payload": 1, "traceId": ""},
            {"queue": q, "producerSub": "x", "namespace": "n", "data": 5}]})
        await api.post("/api/v1/push", {"items": []})
        ns = api.name("ns")
        await api.post("/api/v1/push", {"items": [{"queue": f"{ns}.task.more", "payload": 1}]})
        await api.settle_stats()
        await api.get(f"/api/v1/resources/queues/{ns}.task.more")
        for bad in ({}, {"items": {}}, {"items": [{"payload": 1}]},
                    {"items": [{"queue": q, "partition": None}]},
                    {"items": [{"queue": q, "transactionId": 5}]},
                    {"items": [{"queue": q, "traceId": 5}]}):
            await api.post("/api/v1/push", bad)
        await api.get(f"/api/v1/pop/queue/{q}/partition/Default?batch=20")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=20")
    await conform(scenario)


async def test_pop_partition_route(conform):
    async def scenario(api):
        q = api.name("q")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p")
        await api.post("/api/v1/push", {"items": _items(q, 4)})
        await api.get(f"/api/v1/pop/queue/{q}/partition/nope")
        first = await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=2")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=2")
        await api.get(f"/api/v1/pop/queue/{q}?batch=2")
        await api.post("/api/v1/ack/batch", {"acknowledgments": [
            {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
             "leaseId": m["leaseId"], "status": "completed"} for m in first["messages"]]})
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=0")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?partitions=5&batch=5")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=5")
    await conform(scenario)


async def test_pop_wildcard_and_multi_partition(conform):
    async def scenario(api):
        q = api.name("q")
        await api.get(f"/api/v1/pop/queue/{q}")
        for i in range(3):
            await api.post("/api/v1/push", {"items": _items(q, 2, partition=f"p{i}")})
        body = await api.get(f"/api/v1/pop/queue/{q}?partitions=3&batch=10",
                             pick=lambda b: sorted((m["partition"], m["data"]["n"])
                                                   for m in b["messages"]))
        assert len({m["leaseId"] for m in body["messages"]}) == 1
        await api.get(f"/api/v1/pop/queue/{q}")
        q2 = api.name("q2")
        await api.post("/api/v1/push", {"items": _items(q2, 3)})
        await api.get(f"/api/v1/pop/queue/{q2}?batch=0")
    await conform(scenario)


async def test_wildcard_claim_order(conform):
    async def scenario(api):
        q = api.name("q")
        for name in ("a", "b", "c"):
            await api.post("/api/v1/push", {"items": _items(q, 1, partition=name)})
        claimed = set()
        for _ in range(3):
            body = await api.get(f"/api/v1/pop/queue/{q}", documented={"D3": [
                "partition", "partitionId", "messages.*.partition",
                "messages.*.partitionId", "messages.*.id"]})
            claimed.add(body["partition"])
        # Whatever the order, three pops claim the three partitions once each.
        assert claimed == {"a", "b", "c"}
        await api.get(f"/api/v1/pop/queue/{q}")
    await conform(scenario)


async def test_auto_ack(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/push", {"items": _items(q, 3)})
        await api.get(f"/api/v1/pop/queue/{q}?autoAck=true&batch=2")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?autoAck=true&batch=2")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?autoAck=true")
        await api.get(f"/api/v1/pop/queue/{q}?batch=5")
    await conform(scenario)


async def test_consumer_groups_and_subscription_modes(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/push", {"items": _items(q, 2)})
        await asyncio.sleep(0.05)
        for query in ("consumerGroup=a", "consumerGroup=b&batch=5",
                      "consumerGroup=new&subscriptionMode=new",
                      "consumerGroup=newonly&subscriptionMode=new-only",
                      "consumerGroup=bogus&subscriptionFrom=garbage&batch=5"):
            await api.get(f"/api/v1/pop/queue/{q}/partition/p?{query}")
        await api.get(f"/api/v1/pop/queue/{q}?consumerGroup=a")
        await api.post("/api/v1/push", {"items": _items(q, 1, start=2)})
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?consumerGroup=new&batch=5")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?consumerGroup=newonly&batch=5")
    await conform(scenario)


async def test_first_wildcard_pop_of_a_group_subscribed_from_now(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/push", {"items": _items(q, 2)})
        await asyncio.sleep(0.05)
        await api.get(f"/api/v1/pop/queue/{q}?consumerGroup=g&subscriptionFrom=now")
        await api.get(f"/api/v1/pop/queue/{q}?consumerGroup=g&subscriptionFrom=now")
        await api.post("/api/v1/push", {"items": _items(q, 1, start=2)})
        await api.get(f"/api/v1/pop/queue/{q}?consumerGroup=g&batch=5")
    await conform(scenario)


async def test_subscription_from_a_timestamp(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/push", {"items": _items(q, 2)})
        await asyncio.sleep(0.05)
        pushed = await api.post("/api/v1/push", {"items": _items(q, 2, start=2)})
        detail = await api.get(
            f"/api/v1/messages/{pushed[0]['partition_id']}/t2", record=False)
        since = detail["createdAt"]
        await api.get(f"/api/v1/pop/queue/{q}?consumerGroup=g&batch=5&subscriptionFrom={since}")
        await api.get(f"/api/v1/pop/queue/{q}?consumerGroup=f&batch=5"
                      "&subscriptionFrom=2999-01-01T00:00:00Z")
    await conform(scenario)


async def test_long_poll(conform):
    async def scenario(api):
        q = api.name("q")
        await api.get(f"/api/v1/pop/queue/{q}?wait=true&timeout=300")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?wait=true&timeout=300")

        async def push_later():
            await asyncio.sleep(0.4)
            await api.post("/api/v1/push", {"items": _items(q, 1)}, record=False)

        pusher = asyncio.ensure_future(push_later())
        await api.get(f"/api/v1/pop/queue/{q}?wait=true&timeout=5000")
        await pusher
    await conform(scenario)


async def test_lease_expiry_redelivers(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/configure", {"queue": q, "options": {"leaseTime": 1}})
        await api.post("/api/v1/push", {"items": _items(q, 2)})
        first = await api.get(f"/api/v1/pop/queue/{q}?batch=2")
        await asyncio.sleep(1.3)
        await api.get(f"/api/v1/pop/queue/{q}?batch=2")
        m = first["messages"][0]
        await api.post("/api/v1/ack", {"transactionId": m["transactionId"],
                                       "partitionId": m["partitionId"],
                                       "leaseId": m["leaseId"]})
    await conform(scenario)


@pytest.mark.parametrize("option", ["delayedProcessing", "windowBuffer"])
async def test_delayed_processing_and_window_buffer(conform, option):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/configure", {"queue": q, "options": {option: 1}})
        await api.post("/api/v1/push", {"items": _items(q, 2)})
        await api.get(f"/api/v1/pop/queue/{q}?batch=2")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=2")
        await asyncio.sleep(1.3)
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=2")
    await conform(scenario)


async def test_configure(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/configure", {"queue": q, "options": {
            "leaseTime": 10, "retryLimit": 7, "delayedProcessing": 2}})
        await api.post("/api/v1/configure", {"queue": q, "options": {"retryLimit": 1}})
        await api.post("/api/v1/configure", {"queue": q, "namespace": "ns", "task": "tk"})
        await api.post("/api/v1/configure", {"queue": q, "options": {"leaseTime": 1.5}})
        await api.post("/api/v1/configure", {"queue": q, "options": {"leaseTime": "60"}})
        await api.post("/api/v1/configure", {"queue": q})
        await api.post("/api/v1/configure", {})
        await api.get(f"/api/v1/resources/queues/{q}")
        await api.delete(f"/api/v1/resources/queues/{q}")
        await api.delete(f"/api/v1/resources/queues/{q}")
        await api.get(f"/api/v1/resources/queues/{q}")
    await conform(scenario)
