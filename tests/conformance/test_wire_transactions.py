"""Transactions and lease renewal on both brokers (spec §2.5, §2.6, Q22, Q23)."""

from __future__ import annotations

import asyncio


async def _popped(api, q, n=2, partition="p"):
    await api.post("/api/v1/push", {"items": [
        {"queue": q, "partition": partition, "payload": i, "transactionId": f"t{i}"}
        for i in range(n)]}, record=False)
    body = await api.get(f"/api/v1/pop/queue/{q}/partition/{partition}?batch={n}",
                         record=False)
    return body["messages"]


def _ack_op(m, **extra):
    return {"type": "ack", "transactionId": m["transactionId"],
            "partitionId": m["partitionId"], **extra}


async def test_transaction_commits_acks_and_pushes(conform):
    async def scenario(api):
        q, out = api.name("q"), api.name("out")
        ms = await _popped(api, q)
        await api.post("/api/v1/transaction", {"operations": [
            _ack_op(ms[0]),
            {"type": "push", "items": [{"queue": out, "partition": "x", "payload": 1,
                                        "transactionId": "o1"},
                                       {"queue": out, "partition": "x",
                                        "transactionId": "o2"}]},
            {"type": "push", "queue": out, "partition": "y", "data": {"d": 1},
             "transactionId": "o3"},
        ], "requiredLeases": ["garbage"]})
        await api.get(f"/api/v1/pop/queue/{out}/partition/x?batch=5")
        await api.get(f"/api/v1/pop/queue/{out}/partition/y?batch=5")
        await api.post("/api/v1/transaction", {"operations": [
            _ack_op(ms[1], status="failed"),
            _ack_op(ms[1], consumerGroup="fresh")]})
        await api.get(f"/api/v1/dlq?queue={q}")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?consumerGroup=fresh&batch=5")
    await conform(scenario)


async def test_transaction_failures_roll_back(conform):
    async def scenario(api):
        q, out = api.name("q"), api.name("out")
        ms = await _popped(api, q)
        push = {"type": "push", "items": [{"queue": out, "payload": 1, "transactionId": "o"}]}
        for ops in (
            [push, {"type": "ack", "transactionId": "nope", "partitionId": ms[0]["partitionId"]}],
            [push, {"type": "frobnicate", "x": 1}],
            [push, {"x": 1}],
            [_ack_op(ms[0]), _ack_op(ms[1], status="retry")],
            [_ack_op(ms[0], leaseId="01a21eb7-07ff-7000-b663-0343bcef420c")],
            [push, push],
            [{"type": "push", "items": [{"queue": out, "traceId": "not-a-uuid"}]}],
            [{"type": "ack", "transactionId": "t0", "partitionId": "not-a-uuid"}],
        ):
            await api.post("/api/v1/transaction", {"operations": ops})
        await api.get(f"/api/v1/resources/queues/{out}")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=5")
        for bad in ({}, {"operations": []}, {"operations": {}}):
            await api.post("/api/v1/transaction", bad)
    await conform(scenario)


async def test_lease_renewal(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/configure", {"queue": q, "options": {"leaseTime": 1}})
        ms = await _popped(api, q)
        lease = ms[0]["leaseId"]
        await api.post(f"/api/v1/lease/{lease}/extend", {"seconds": 30})
        await api.post(f"/api/v1/lease/{lease}/extend", {"seconds": 5})
        await api.post(f"/api/v1/lease/{lease}/extend", {})
        await api.post(f"/api/v1/lease/{lease}/extend", {"seconds": "abc"})
        await api.post(f"/api/v1/lease/{lease}/extend", raw=b"")
        await api.post("/api/v1/ack/batch", {"acknowledgments": [
            {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
             "leaseId": m["leaseId"], "status": "completed"} for m in ms]})
        await api.post(f"/api/v1/lease/{lease}/extend", {})
        await api.post("/api/v1/lease/01a21eb7-07ff-7000-b663-0343bcef420c/extend", {})
        q2 = api.name("q2")
        await api.post("/api/v1/configure", {"queue": q2, "options": {"leaseTime": 1}})
        expiring = await _popped(api, q2)
        await asyncio.sleep(1.3)
        await api.post(f"/api/v1/lease/{expiring[0]['leaseId']}/extend", {"seconds": 30})
        for i in range(3):
            await api.post("/api/v1/push", {"items": [
                {"queue": q2, "partition": f"m{i}", "payload": i}]}, record=False)
        multi = await api.get(f"/api/v1/pop/queue/{q2}?partitions=5&batch=10",
                              mask=["partition", "partitionId", "messages"])
        await api.post(f"/api/v1/lease/{multi['leaseId']}/extend", {"seconds": 60})
    await conform(scenario)
