"""Maintenance modes on both brokers (spec §2.15, Q4). They are broker-wide switches: each
scenario turns them off again whatever happens."""

from __future__ import annotations


async def test_pop_maintenance_answers_204_with_a_body(conform):
    async def scenario(api):
        q = api.name("q")
        await api.post("/api/v1/push", {"items": [{"queue": q, "payload": 1}]}, record=False)
        try:
            await api.post("/api/v1/system/maintenance/pop", {"enabled": True})
            await api.get("/api/v1/system/maintenance/pop")
            await api.raw_get(f"/api/v1/pop/queue/{q}")
            await api.raw_get(f"/api/v1/pop/queue/{q}/partition/Default?wait=true&timeout=2000")
        finally:
            await api.post("/api/v1/system/maintenance/pop", {"enabled": False})
        await api.get(f"/api/v1/pop/queue/{q}", mask=["messages.*.transactionId"])
    await conform(scenario)


async def test_push_maintenance_buffers_then_drains(conform):
    async def scenario(api):
        q = api.name("q")
        try:
            await api.post("/api/v1/system/maintenance", {"enabled": True},
                           mask=["bufferedMessages"])
            await api.post("/api/v1/push", {"items": [
                {"queue": q, "partition": "P", "payload": 1, "transactionId": "tx"},
                {"queue": q, "payload": 2}]})
        finally:
            await api.post("/api/v1/system/maintenance", {"enabled": False},
                           mask=["bufferedMessages"])
        # The real broker drains its disk buffer in the background.
        await api.until("GET", f"/api/v1/pop/queue/{q}/partition/Default?autoAck=true",
                        lambda b: bool(b and b.get("messages")))
        await api.get(f"/api/v1/pop/queue/{q}/partition/P")
    await conform(scenario)
