"""Status, resources, analytics, messages and consumer groups on both brokers (§2.8-§2.15).

The real broker serves queue counters from a stats table that a background job refreshes;
each scenario refreshes it (``POST /api/v1/stats/refresh``, unrecorded) before reading them.
Broker-wide lists are cut down to the scenario's own queues with ``pick``.
"""

from __future__ import annotations

from _conformance import shape


def _only(names, key="name", field="queues"):
    """Keep the entries of a broker-wide list that belong to this scenario."""
    def pick(body):
        rows = body if isinstance(body, list) else (body or {}).get(field) or []
        return sorted((r for r in rows if r.get(key) in names), key=lambda r: r[key])
    return pick


async def _workload(api):
    """One queue with pending, processing, completed and dead-lettered messages."""
    q = api.name("q")
    await api.post("/api/v1/configure", {"queue": q, "options": {"retryLimit": 0}})
    await api.post("/api/v1/push", {"items": [
        {"queue": q, "partition": "a", "payload": i, "transactionId": f"a{i}"}
        for i in range(4)] + [
        {"queue": q, "partition": "b", "payload": i, "transactionId": f"b{i}"}
        for i in range(3)]}, record=False)
    a = await api.get(f"/api/v1/pop/queue/{q}/partition/a?batch=2", record=False)
    acks = [{"transactionId": m["transactionId"], "partitionId": m["partitionId"],
             "leaseId": m["leaseId"], "status": s}
            for m, s in zip(a["messages"], ("completed", "failed"))]
    await api.post("/api/v1/ack/batch", {"acknowledgments": acks}, record=False)
    b = await api.get(f"/api/v1/pop/queue/{q}/partition/b?batch=2", record=False)
    return q, a["messages"], b["messages"]


async def test_status_queue_detail(conform):
    async def scenario(api):
        q, _, _ = await _workload(api)
        await api.settle_stats()
        await api.get(f"/api/v1/status/queues/{q}", documented={"D1": []})
        await api.get("/api/v1/status/queues/" + api.name("missing"))
        await api.get("/api/v1/status/queues?limit=1000", pick=_only([q]),
                      documented={"D1": []})
        await api.get(f"/api/v1/status/queues/{q}/messages")
        await api.get(f"/api/v1/status/queues/{q}/messages?offset=1")
    await conform(scenario)


async def test_resources(conform):
    async def scenario(api):
        q, _, _ = await _workload(api)
        await api.settle_stats()
        await api.get(f"/api/v1/resources/queues/{q}", documented={"D1": []})
        await api.get("/api/v1/resources/queues", pick=_only([q]), documented={"D1": []})
        await api.get("/api/v1/resources/namespaces", pick=_only([q], "namespace", "namespaces"),
                      documented={"D1": []})
        await api.get("/api/v1/resources/queues/" + api.name("missing"))
    await conform(scenario)


async def test_message_list_and_detail(conform):
    async def scenario(api):
        q, a, b = await _workload(api)
        await api.get(f"/api/v1/messages?queue={q}")
        await api.get(f"/api/v1/messages?queue={q}&status=processing")
        await api.get(f"/api/v1/messages?queue={q}&status=pending")
        await api.get(f"/api/v1/messages?queue={q}&status=completed")
        await api.get(f"/api/v1/messages?queue={q}&status=dead_letter")
        await api.get(f"/api/v1/messages?queue={q}&partition=a&limit=2")
        for m in (a[0], a[1], b[0]):
            await api.get(f"/api/v1/messages/{m['partitionId']}/{m['transactionId']}")
        await api.get(f"/api/v1/messages/{b[0]['partitionId']}/nope")
        await api.get("/api/v1/messages/not-a-uuid/nope")
        await api.delete(f"/api/v1/messages/{b[0]['partitionId']}/b2")
        await api.delete(f"/api/v1/messages/{b[0]['partitionId']}/b2")
    await conform(scenario)


async def test_consumer_groups(conform):
    async def scenario(api):
        q = api.name("q")
        g = api.name("g")
        await api.post("/api/v1/push", {"items": [
            {"queue": q, "partition": "p", "payload": i, "transactionId": f"t{i}"}
            for i in range(3)]})
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?consumerGroup={g}&batch=1")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?consumerGroup={g}-new"
                      "&subscriptionMode=new")
        await api.get("/api/v1/consumer-groups", pick=_only([g, g + "-new"]))
        await api.get(f"/api/v1/consumer-groups/{g}")
        await api.get("/api/v1/consumer-groups/" + api.name("unknown"))
        await api.get("/api/v1/consumer-groups/lagging?minLagSeconds=0",
                      pick=lambda rows: [r for r in rows or [] if r["queue_name"] == q])
        await api.post(f"/api/v1/consumer-groups/{g}/queues/{q}/seek", {"toEnd": True})
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?consumerGroup={g}&batch=5")
        await api.post(f"/api/v1/consumer-groups/{g}/queues/{q}/seek",
                       {"timestamp": "2000-01-01T00:00:00Z"})
        await api.post(f"/api/v1/consumer-groups/{g}/queues/{q}/partitions/p/seek",
                       {"toEnd": True})
        await api.post(f"/api/v1/consumer-groups/{g}/subscription",
                       {"subscriptionTimestamp": "2001-01-01T00:00:00Z"})
        await api.delete(f"/api/v1/consumer-groups/{g}/queues/{q}?deleteMetadata=true")
        await api.delete(f"/api/v1/consumer-groups/{g}-new?deleteMetadata=false")
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?consumerGroup={g}&batch=5")
    await conform(scenario)


async def test_analytics_and_status(conform):
    async def scenario(api):
        q, _, _ = await _workload(api)
        await api.settle_stats()
        await api.get(f"/api/v1/analytics/queue-lag?queue={q}")
        await api.get(f"/api/v1/status/analytics?queue={q}&interval=day",
                      mask=["from", "to"])
        await api.get(f"/api/v1/status/analytics?queue={q}&interval=bogus")
        await api.get(f"/api/v1/status/analytics?queue={q}&interval=Minute"
                      "&from=2026-01-01T00:00:00Z&to=2026-01-01T02:30:00Z")
        # The queue filter narrows the queue list; the rest describes the broker process.
        await api.get(f"/api/v1/status?queue={q}",
                      pick=lambda b: {**shape(b), "queues": b["queues"]},
                      documented={"D2": []})
        for route in ("queue-ops", "queue-parked-replicas", "retention", "system-metrics",
                      "worker-metrics", "postgres-stats"):
            await api.get(f"/api/v1/analytics/{route}?queue={q}", pick=shape,
                          documented={"D2": []})
        await api.get("/api/v1/resources/overview", pick=shape, documented={"D2": []})
    await conform(scenario)


async def test_system_routes(conform):
    async def scenario(api):
        await api.get("/api/v1/system/maintenance")
        await api.get("/api/v1/system/maintenance/pop")
        await api.post("/api/v1/system/maintenance", {"enabled": "true"})
        await api.post("/api/v1/system/maintenance/pop", {"enabled": 1})
        # Which worker thread answers, the host name and the pool sizes are the process's.
        await api.get("/api/v1/status/buffers", mask=["worker"])
        await api.get("/health", mask=["worker_id", "queen.worker_id", "shared_state"])
        await api.get("/metrics", mask=["database"])
        await api.get("/api/v1/system/shared-state",
                      mask=["queue_config_cache", "server_id"])
        await api.get("/api/v1/pop?namespace=a&task=b")
        await api.delete("/api/v1/queues/x/clear")
        await api.post("/api/v1/stream/define", {})
    await conform(scenario)
