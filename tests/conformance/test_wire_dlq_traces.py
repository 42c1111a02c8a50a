"""Dead-letter queue and traces on both brokers (spec §2.10, §2.11, §3.8, §3.14)."""

from __future__ import annotations

from urllib.parse import quote


async def _pushed_and_popped(api, q, n, partition="p", group=None):
    await api.post("/api/v1/push", {"items": [
        {"queue": q, "partition": partition, "payload": {"n": i}, "transactionId": f"t{i}"}
        for i in range(n)]}, record=False)
    query = f"batch={n}" + (f"&consumerGroup={group}" if group else "")
    body = await api.get(f"/api/v1/pop/queue/{q}/partition/{partition}?{query}",
                         record=False)
    return body["messages"]


def _ack(m, status, **extra):
    return {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
            "leaseId": m["leaseId"], "status": status, **extra}


async def test_retries_then_dead_letter_queue(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/configure", {"queue": q, "options": {"retryLimit": 1}})
        await api.post("/api/v1/push", {"items": [
            {"queue": q, "partition": "p", "payload": i, "transactionId": f"t{i}"}
            for i in range(2)]})
        for _ in range(2):
            body = await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=2")
            await api.post("/api/v1/ack", _ack(body["messages"][0], "failed", error="boom"))
        await api.post("/api/v1/ack", _ack(body["messages"][1], "failed"))
        # A whole-batch nack on the last attempt skips its first message (Q18).
        whole = await _pushed_and_popped(api, q, 3, partition="w")
        await api.post("/api/v1/ack/batch", {"acknowledgments": [
            _ack(m, "failed") for m in whole]})
        await api.get(f"/api/v1/pop/queue/{q}/partition/w?batch=3")
        await api.get(f"/api/v1/dlq?queue={q}", pick=lambda b: {
            **b, "messages": sorted(b["messages"], key=lambda m: m["transactionId"])})
        await api.get(f"/api/v1/dlq?queue={q}&offset=1")
        await api.get(f"/api/v1/dlq?queue={q}&consumerGroup=other")
        await api.get("/api/v1/dlq?queue=" + api.name("unknown"))
    await conform(scenario)


async def test_dlq_and_retry_statuses(conform):
    async def scenario(api):
        q = api.name("q")
        ms = await _pushed_and_popped(api, q, 4)
        await api.post("/api/v1/ack", _ack(ms[0], "dlq", error="bad"))
        await api.post("/api/v1/ack", _ack(ms[1], "retry"))
        await api.post("/api/v1/ack", _ack(ms[1], "bogus"))
        await api.get(f"/api/v1/pop/queue/{q}/partition/p?batch=5")
        await api.get(f"/api/v1/dlq?queue={q}")
    await conform(scenario)


async def test_traces(conform):
    async def scenario(api):
        q = api.name("q")
        name = api.name("trace")
        ms = await _pushed_and_popped(api, q, 2)
        m = ms[0]
        key = {"transactionId": m["transactionId"], "partitionId": m["partitionId"]}
        for i, names in enumerate(([name, name + "-b"], name, None)):
            await api.post("/api/v1/traces", {**key, "data": {"step": i},
                                              "eventType": "processing", "traceNames": names},
                           mask=["traceId"])
        await api.post("/api/v1/traces", {**key, "data": {"step": 3}, "consumerGroup": "g"})
        await api.post("/api/v1/traces", {"transactionId": "nope",
                                          "partitionId": m["partitionId"], "data": 1})
        await api.post("/api/v1/traces", {**key})
        await api.post("/api/v1/traces", {**key, "data": 1, "consumerGroup": None})
        await api.get(f"/api/v1/traces/{m['partitionId']}/{m['transactionId']}",
                      mask=["traces.*.id", "traces.*.worker_id"])
        await api.get(f"/api/v1/traces/{m['partitionId']}/nope")
        await api.get(f"/api/v1/traces/not-a-uuid/{m['transactionId']}")
        await api.get(f"/api/v1/traces/by-name/{quote(name)}",
                      mask=["traces.*.id", "traces.*.worker_id"])
        await api.get(f"/api/v1/traces/by-name/{quote(name)}?offset=1")
        await api.get("/api/v1/traces/names?limit=1000", pick=lambda b: [
            t for t in b["trace_names"] if t["trace_name"].startswith(name)])
    await conform(scenario)
