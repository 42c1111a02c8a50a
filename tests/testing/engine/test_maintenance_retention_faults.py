"""Maintenance modes, retention, engine faults and reset (§2.15, §3.11, §3.15, §6.8)."""

from __future__ import annotations

import orjson
import pytest


async def test_maintenance_get_shape(api):
    body = await api.get("/api/v1/system/maintenance")
    assert body == {"bufferHealthy": True, "bufferStats": {
        "dbHealthy": True, "failedCount": 0,
        "failedFiles": {"count": 0, "failoverCount": 0, "qos0Count": 0, "totalBytes": 0,
                        "totalMB": 0.0}, "pendingCount": 0},
        "bufferedMessages": 0, "maintenanceMode": False, "popMaintenanceMode": False}
    assert b'"totalMB":0.0' in api.last.body


@pytest.mark.parametrize("body", [{"enabled": "true"}, {}, {"enabled": 1}])
async def test_maintenance_requires_boolean(api, body):
    for path in ("/api/v1/system/maintenance", "/api/v1/system/maintenance/pop"):
        assert await api.post(path, body) == {"error": "enabled (boolean) is required"}
        assert api.last.status == 400


async def test_push_maintenance_buffers_then_replays(api):
    r = await api.post("/api/v1/system/maintenance", {"enabled": True})
    assert r == {"bufferHealthy": True, "bufferedMessages": 0, "maintenanceMode": True,
                 "message": "Maintenance mode ENABLED. All PUSHes routing to file buffer."}
    res = await api.raw("POST", "/api/v1/push", body={"items": [
        {"queue": "mq", "partition": "P", "transactionId": "maint-tx"}, {"queue": "mq"}]})
    assert (res.status, res.reason) == (201, "Created")
    assert orjson.loads(res.body) == [
        {"partition": "P", "queue": "mq", "status": "buffered", "transactionId": "maint-tx"},
        {"partition": "Default", "queue": "mq", "status": "buffered"}]
    assert (await api.get("/health"))["shared_state"]["maintenance_mode"] is True
    assert (await api.pop("mq"))["error"] == "no_available_partition"
    api.clock.advance(1)
    r = await api.post("/api/v1/system/maintenance", {"enabled": False})
    assert r["bufferedMessages"] == 2 and r["maintenanceMode"] is False
    assert r["message"] == ("Maintenance mode DISABLED. Background processor will drain "
                            "buffer to DB.")
    got = await api.pop("mq", "P")
    assert got["messages"][0]["transactionId"] == "maint-tx"
    assert got["messages"][0]["createdAt"].startswith("2027-01-15T08:00:01")  # replay time
    other = await api.pop("mq", "Default")
    assert len(other["messages"]) == 1


async def test_pop_maintenance_messages(api):
    assert await api.get("/api/v1/system/maintenance/pop") == {
        "message": "Pop maintenance mode is OFF. Normal operation.", "popMaintenanceMode": False}
    r = await api.post("/api/v1/system/maintenance/pop", {"enabled": True})
    assert r == {"message": "Pop maintenance mode ENABLED. All POP operations will return "
                            "empty arrays.", "popMaintenanceMode": True}
    r = await api.post("/api/v1/system/maintenance/pop", {"enabled": False})
    assert r["message"] == "Pop maintenance mode DISABLED. Normal operation resumed."


async def test_shared_state_route(api):
    body = await api.get("/api/v1/system/shared-state")
    assert body["enabled"] is False and "server_health" in body


async def test_push_db_fault_is_buffered_then_replayed(api):
    api.broker.faults.db_error("push", message="down")
    res = await api.post("/api/v1/push", {"items": [{"queue": "fq", "payload": 1}]})
    assert api.last.status == 200 and res == [{"queue": "fq", "status": "buffered"}]
    got = await api.pop("fq")
    assert [m["data"] for m in got["messages"]] == [1]


@pytest.mark.parametrize("kind,path,body", [
    ("transaction", "/api/v1/transaction", {"operations": [{"type": "push", "items": []}]}),
    ("lease", "/api/v1/lease/x/extend", {}),
    ("configure", "/api/v1/configure", {"queue": "q", "options": {"leaseTime": 1}}),
    ("streams", "/streams/v1/queries", {"name": "n", "source_queue": "s",
                                        "config_hash": "h"}),
])
async def test_db_fault_shapes(api, kind, path, body):
    api.broker.faults.db_error(kind, message="simulated", count=2)
    for _ in range(2):
        assert await api.post(path, body) == {"error": "simulated", "success": False}
        assert api.last.status == 200
    assert (await api.post(path, body)) != {"error": "simulated", "success": False}


async def test_unknown_fault_kind(api):
    with pytest.raises(ValueError):
        api.broker.faults.db_error("nope")


async def test_retention_needs_enabled(api):
    await api.configure("r1", retentionSeconds=3)
    await api.configure("r2", retentionSeconds=3, retentionEnabled=True)
    await api.push("r1", 1)
    await api.push("r2", 1)
    api.clock.advance(5)
    assert api.broker.run_retention() == 1
    assert len((await api.pop("r1"))["messages"]) == 1
    assert (await api.pop("r2"))["error"] == "no_available_partition"


async def test_completed_retention_keeps_unacked(api):
    await api.configure("r", completedRetentionSeconds=3, retentionEnabled=True)
    await api.push("r", "a", "b", txs=["a", "b"])
    body = await api.pop("r")
    await api.ack(body["messages"][0], "dlq")
    api.clock.advance(5)
    assert api.broker.run_retention() == 1
    assert (await api.get("/api/v1/dlq"))["messages"] == []  # DLQ entry went with it
    assert [m["data"] for m in (await api.pop("r"))["messages"]] == ["b"]


async def test_max_wait_deletes_pending_not_dlq(api):
    await api.configure("w", maxWaitTimeSeconds=3)
    await api.push("w", 1, 2)
    api.clock.advance(4)
    assert api.broker.run_retention() == 2
    assert (await api.get("/api/v1/dlq"))["messages"] == []
    assert (await api.pop("w"))["error"] == "no_available_partition"


async def test_reset_forgets_everything(api):
    await api.push("q", 1)
    await api.post("/api/v1/system/maintenance/pop", {"enabled": True})
    api.broker.reset()
    assert (await api.raw("GET", "/api/v1/pop/queue/q")).status == 200
    assert (await api.pop("q"))["error"] == "no_available_partition"
    assert (await api.raw("GET", "/api/v1/consumer-groups")).body == b""
