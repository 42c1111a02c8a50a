"""Streams v1 routes on both brokers (spec §2.16, §3.17)."""

from __future__ import annotations


async def _source(api, n=3):
    src = api.name("src")
    await api.post("/api/v1/push", {"items": [
        {"queue": src, "partition": "p", "payload": {"v": i}, "transactionId": f"m{i}"}
        for i in range(n)]}, record=False)
    return src


async def test_register_query(conform):
    async def scenario(api):
        src, sink, name = api.name("src"), api.name("sink"), api.name("query")
        body = {"name": name, "source_queue": src, "sink_queue": sink, "config_hash": "h1"}
        await api.post("/streams/v1/queries", body)
        await api.post("/streams/v1/queries", body)
        await api.post("/streams/v1/queries", {**body, "config_hash": "h2"})
        await api.post("/streams/v1/queries", {**body, "config_hash": "h2", "reset": True})
        for bad in ({}, {"name": name}, {"name": name, "source_queue": src}, [1]):
            await api.post("/streams/v1/queries", bad)
    await conform(scenario)


async def test_cycle_and_state(conform):
    async def scenario(api):
        src = await _source(api)
        sink = api.name("sink")
        group = api.name("streams")
        reg = await api.post("/streams/v1/queries", {
            "name": api.name("query"), "source_queue": src, "sink_queue": sink,
            "config_hash": "h"})
        qid = reg["query_id"]
        popped = await api.get(
            f"/api/v1/pop/queue/{src}/partition/p?batch=3&consumerGroup={group}")
        pid, lease = popped["partitionId"], popped["leaseId"]
        base = {"query_id": qid, "partition_id": pid, "consumer_group": group}
        await api.post("/streams/v1/cycle", {
            **base,
            "state_ops": [{"type": "upsert", "key": "k1", "value": {"acc": 1, "windowEnd": 1000}},
                          {"type": "upsert", "key": "k2", "value": {"acc": 2, "windowEnd": 5000}},
                          {"type": "upsert", "key": "x3", "value": {"acc": 3}},
                          {"type": "upsert", "key": "k4"}],
            "push_items": [{"queue": sink, "partition": "s", "payload": {"t": 1},
                            "transactionId": "out-1"},
                           {"queue": sink, "partition": "s", "payload": {"t": 1},
                            "transactionId": "out-1"}],
            "ack": {"transactionId": "m1", "leaseId": lease, "status": "completed",
                    "count": 2},
            "release_lease": False})
        state = {"query_id": qid, "partition_id": pid}
        await api.post("/streams/v1/state/get", state)
        await api.post("/streams/v1/state/get", {**state, "key_prefix": "k",
                                                 "ripe_at_or_before": 2000})
        await api.post("/streams/v1/state/get", {**state, "keys": ["k2", "zz"]})
        await api.post("/streams/v1/cycle", {
            **base, "state_ops": [{"type": "delete", "key": "k1"},
                                  {"type": "frobnicate", "key": "k2"}]})
        await api.post("/streams/v1/state/get", {**state, "keys": ["k1"]})
        await api.post("/streams/v1/cycle", {**base, "ack": {"transactionId": "m2",
                                                             "status": "bogus"}})
        await api.post("/streams/v1/cycle", {**base, "ack": {"status": "completed"}})
        await api.post("/streams/v1/cycle", {**base, "ack": {"transactionId": "m2",
                                                             "status": "failed"}})
        await api.get(f"/api/v1/dlq?queue={src}")
        await api.post("/streams/v1/cycle", {**base, "partition_id": "not-a-uuid"})
        await api.post("/streams/v1/cycle", {"partition_id": pid})
        await api.post("/streams/v1/state/get", {"query_id": qid})
        await api.get(f"/api/v1/pop/queue/{sink}/partition/s?batch=5")
    await conform(scenario)
