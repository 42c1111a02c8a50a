"""Acknowledgments on both brokers (spec §2.3, §2.4, §3.8)."""

from __future__ import annotations


async def _pushed_and_popped(api, n=3, query="batch=3"):
    q = api.name("q")
    await api.post("/api/v1/push", {"items": [
        {"queue": q, "partition": "p", "payload": i, "transactionId": f"t{i}"}
        for i in range(n)]})
    body = await api.get(f"/api/v1/pop/queue/{q}/partition/p?{query}")
    return q, body["messages"]


def _ack(m, status="completed", lease=True, **extra):
    a = {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
         "status": status, **extra}
    if lease:
        a["leaseId"] = m["leaseId"]
    return a


async def test_ack_of_a_message_that_no_longer_exists(conform):
    async def scenario(api):
        _, ms = await _pushed_and_popped(api)
        await api.post("/api/v1/ack", _ack(ms[0]))
        await api.delete(f"/api/v1/messages/{ms[0]['partitionId']}/{ms[0]['transactionId']}")
        await api.post("/api/v1/ack", _ack(ms[0], lease=False))
        await api.post("/api/v1/ack", _ack(ms[0]))
        await api.post("/api/v1/ack", {**_ack(ms[1], lease=False), "transactionId": "gone"})
        await api.post("/api/v1/ack", {**_ack(ms[1], lease=False), "transactionId": "gone",
                                       "consumerGroup": "never-popped"})
    await conform(scenario)


async def test_mixed_batch_that_releases_the_lease(conform):
    async def scenario(api):
        _, ms = await _pushed_and_popped(api)
        await api.post("/api/v1/ack/batch", {"acknowledgments": [
            _ack(ms[1], "failed"), _ack(ms[2]), _ack(ms[0])]})
    await conform(scenario)


async def test_failed_ack_by_a_group_that_never_popped(conform):
    async def scenario(api):
        q, ms = await _pushed_and_popped(api)
        await api.post("/api/v1/ack", _ack(ms[0], "failed", lease=False, consumerGroup="g"))
        await api.get(f"/api/v1/dlq?queue={q}")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?consumerGroup=g&batch=5")
    await conform(scenario)
