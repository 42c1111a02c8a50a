"""Consumer groups, DLQ, traces, messages, resources, status (§2.8 to §2.13, Q27, Q30, Q31)."""

from __future__ import annotations

import asyncio

import orjson

PID0 = "8b543839-e256-467c-b17a-4f5ac0cd4da2"


async def _setup(api, n=3, partition="A"):
    await api.push("q", *[{"k": i} for i in range(n)], partition=partition,
                   txs=[f"t{i}" for i in range(n)])
    return await api.pop("q", partition, f"batch={n}")


async def test_groups_list_and_empty_body(api):
    assert (await api.raw("GET", "/api/v1/consumer-groups")).body == b""
    await _setup(api)
    await api.pop("q", "A", "consumerGroup=g&subscriptionMode=new")
    groups = await api.get("/api/v1/consumer-groups")
    assert {g["name"] for g in groups} == {"__QUEUE_MODE__", "g"}
    for g in groups:
        assert set(g) == {"maxTimeLag", "members", "name", "partitionsWithLag", "queueName",
                          "state", "subscriptionCreatedAt", "subscriptionMode",
                          "subscriptionTimestamp", "topics", "totalLag"}
        assert g["totalLag"] is None and g["topics"] == ["q"]
    g = next(x for x in groups if x["name"] == "g")
    assert g["subscriptionMode"] == "new" and g["subscriptionTimestamp"].endswith("Z")
    qm = next(x for x in groups if x["name"] == "__QUEUE_MODE__")
    assert qm["subscriptionMode"] is None and qm["members"] == 1


async def test_lagging(api):
    await _setup(api)
    r = await api.raw("GET", "/api/v1/consumer-groups/lagging", "minLagSeconds=abc")
    assert r.status == 500 and orjson.loads(r.body) == {"error": "stoi"}
    assert (await api.raw("GET", "/api/v1/consumer-groups/lagging",
                          "minLagSeconds=999999")).body == b""
    api.clock.advance(120)
    rows = await api.get("/api/v1/consumer-groups/lagging", "minLagSeconds=60")
    assert rows[0]["consumer_group"] == "__QUEUE_MODE__" and rows[0]["offset_lag"] == 3
    assert rows[0]["time_lag_seconds"] >= 120
    assert set(rows[0]) == {"consumer_group", "queue_name", "partition_name", "partition_id",
                            "worker_id", "offset_lag", "time_lag_seconds", "lag_hours",
                            "oldest_unconsumed_at", "last_consumed_at"}


async def test_group_detail(api):
    assert (await api.raw("GET", "/api/v1/consumer-groups/unknown")).body == b""
    body = await _setup(api)
    d = await api.get("/api/v1/consumer-groups/__QUEUE_MODE__")
    part = d["q"]["partitions"][0]
    assert part["leaseActive"] is True and part["workerId"] == body["leaseId"]
    assert part["offsetLag"] == 3 and part["partition"] == "A"


async def test_delete_group_and_queue_mode_replay_q27(api):
    body = await _setup(api, 1)
    await api.ack(body["messages"][0])
    assert (await api.pop("q", "A"))["messages"] == []
    res = await api.delete("/api/v1/consumer-groups/__QUEUE_MODE__/queues/q",
                           "deleteMetadata=false")
    assert res == {"consumerGroup": "__QUEUE_MODE__", "deletedPartitions": 1,
                   "metadataDeleted": False, "queueName": "q", "success": True}
    assert len((await api.pop("q", "A"))["messages"]) == 1
    res = await api.delete("/api/v1/consumer-groups/nobody")
    assert res == {"consumerGroup": "nobody", "deletedPartitions": 0, "metadataDeleted": True,
                   "success": True}


async def test_delete_group_metadata_kept_reuses_old_subscription(api):
    await api.push("q", "old", partition="A")
    await api.pop("q", "A", "consumerGroup=g&subscriptionMode=new")
    await api.delete("/api/v1/consumer-groups/g/queues/q", "deleteMetadata=false")
    got = await api.pop("q", "A", "consumerGroup=g&subscriptionFrom=2000-01-01T00:00:00Z")
    assert got["messages"] == []
    await api.delete("/api/v1/consumer-groups/g")
    got = await api.pop("q", "A", "consumerGroup=g")
    assert [m["data"] for m in got["messages"]] == ["old"]


async def test_subscription_update(api):
    r = await api.post("/api/v1/consumer-groups/g/subscription", {})
    assert api.last.status == 400 and r == {"error": "Missing subscriptionTimestamp in "
                                                     "request body"}
    r = await api.post("/api/v1/consumer-groups/g/subscription", {"subscriptionTimestamp": 5})
    assert api.last.status == 500
    assert r == {"error": "[json.exception.type_error.302] type must be string, but is number"}
    r = await api.post("/api/v1/consumer-groups/g/subscription",
                       {"subscriptionTimestamp": "garbage"})
    assert r == {"consumerGroup": "g", "newTimestamp": "garbage", "rowsUpdated": 0,
                 "success": True}
    await api.push("q", "old", partition="A")
    await api.pop("q", "A", "consumerGroup=g&subscriptionMode=new")
    r = await api.post("/api/v1/consumer-groups/g/subscription",
                       {"subscriptionTimestamp": "garbage"})
    assert r["success"] is False and r["error"].startswith(
        'ERROR:  invalid input syntax for type timestamp with time zone: "garbage"')
    r = await api.post("/api/v1/consumer-groups/g/subscription",
                       {"subscriptionTimestamp": "2000-01-01T00:00:00Z"})
    assert r["rowsUpdated"] == 1
    await api.push("q", "b", partition="B")  # B has no cursor: the new instant applies
    got = await api.pop("q", "B", "consumerGroup=g")
    assert [m["data"] for m in got["messages"]] == ["b"]


async def test_seek(api):
    r = await api.post("/api/v1/consumer-groups/g/queues/q/seek", {})
    assert api.last.status == 400
    assert r == {"error": "Must specify either 'toEnd': true or 'timestamp'"}
    await _setup(api)  # queue mode holds a lease on A
    r = await api.post("/api/v1/consumer-groups/__QUEUE_MODE__/queues/q/seek", {"toEnd": True})
    assert r == {"consumerGroup": "__QUEUE_MODE__", "partitionsUpdated": 1, "queueName": "q",
                 "seekToEnd": True, "success": True, "targetTimestamp": None}
    assert (await api.pop("q", "A"))["messages"] == []  # lease released, nothing pending
    r = await api.post("/api/v1/consumer-groups/__QUEUE_MODE__/queues/q/seek",
                       {"timestamp": "2000-01-01T00:00:00Z"})
    assert r["targetTimestamp"] == "2000-01-01T00:00:00.000Z" and r["seekToEnd"] is False
    assert len((await api.pop("q", "A", "batch=9"))["messages"]) == 3


async def test_partition_seek(api):
    r = await api.post("/api/v1/consumer-groups/g/queues/q/partitions/A/seek")
    assert r == {"error": "Partition not found", "success": False}
    await _setup(api)
    r = await api.post("/api/v1/consumer-groups/__QUEUE_MODE__/queues/q/partitions/A/seek")
    assert r["updated"] is True and r["cursorMovedTo"].endswith("Z")
    r = await api.post("/api/v1/consumer-groups/other/queues/q/partitions/A/seek")
    assert r["updated"] is False and r["cursorMovedTo"] is not None
    assert (await api.pop("q", "A"))["messages"] == []


async def test_stats_refresh(api):
    r = await api.post("/api/v1/stats/refresh")
    assert set(r) == {"cleanup", "namespace", "partition", "queue", "system", "task"}


async def test_dlq_filters_and_limit_offset_bug_q30(api):
    for g in ("ga", "gb"):
        await api.configure("q", retryLimit=0) if g == "ga" else None
    await api.push("q", "a", "b", partition="A", txs=["a", "b"])
    for g in ("ga", "gb"):
        body = await api.pop("q", "A", f"consumerGroup={g}&batch=2")
        await api.ack_batch(body["messages"], "dlq", consumerGroup=g)
        api.clock.advance(1)
    all_ = await api.get("/api/v1/dlq", "limit=1")
    assert len(all_["messages"]) == 4 and all_["pagination"] == {"limit": 1, "offset": 0}
    assert "total" not in all_
    assert all_["messages"][0]["consumerGroup"] == "gb"  # newest failedAt first
    e = all_["messages"][0]
    assert set(e) == {"consumerGroup", "createdAt", "data", "errorMessage", "failedAt", "id",
                      "partition", "partitionId", "producerSub", "queue", "retryCount",
                      "transactionId"}
    assert len((await api.get("/api/v1/dlq", "consumerGroup=ga"))["messages"]) == 2
    assert len((await api.get("/api/v1/dlq", "partition=zzz"))["messages"]) == 4
    assert await api.get("/api/v1/dlq", "offset=1") == {"success": True, "value": None}
    assert await api.get("/api/v1/dlq", "queue=nope") == {
        "messages": [], "pagination": {"limit": 100, "offset": 0}}


async def test_traces(api):
    body = await _setup(api, 1)
    pid = body["partitionId"]
    r = await api.post("/api/v1/traces", {"transactionId": "t0"})
    assert api.last.status == 400 and r == {"error": "transactionId and partitionId are required"}
    r = await api.post("/api/v1/traces", {"transactionId": "t0", "partitionId": pid})
    assert r == {"error": "data is required"}
    r = await api.post("/api/v1/traces", {"transactionId": "t0", "partitionId": pid,
                                          "data": 1, "consumerGroup": None})
    assert api.last.status == 500
    assert r == {"error": "[json.exception.type_error.302] type must be string, but is null"}
    r = await api.post("/api/v1/traces", {"transactionId": "nope", "partitionId": pid,
                                          "data": 1})
    assert r == {"error": "Message not found", "success": False}
    for i, names in enumerate([["tn", "tn-b"], "tn", None]):
        r = await api.post("/api/v1/traces", {"transactionId": "t0", "partitionId": pid,
                                              "data": {"step": i}, "traceNames": names,
                                              "eventType": "processing"}, node=1)
        assert r["success"] is True
        api.clock.advance(0.01)
    tr = await api.get(f"/api/v1/traces/{pid}/t0")
    assert [t["data"]["step"] for t in tr["traces"]] == [0, 1, 2]
    assert tr["traces"][0]["worker_id"] == "1" and tr["traces"][0]["trace_names"] == ["tn",
                                                                                     "tn-b"]
    assert await api.get(f"/api/v1/traces/{pid}/unknown") == {"traces": []}
    by = await api.get("/api/v1/traces/by-name/t%6E", "limit=1")
    assert by["total"] == 2 and len(by["traces"]) == 2
    assert by["traces"][0]["message_payload"] == {"k": 0}
    by = await api.get("/api/v1/traces/by-name/tn", "offset=1")
    assert by == {"pagination": {"limit": 100, "offset": 1}, "total": 2, "traces": None}
    names = await api.get("/api/v1/traces/names", "limit=1&offset=1")
    assert names["total"] == 2 and names["pagination"] == {"limit": 1, "offset": 1}
    assert names["trace_names"][0]["trace_name"] == "tn-b"


async def test_messages_list_detail_delete(api):
    body = await _setup(api, 2)
    lst = await api.get("/api/v1/messages", "queue=q")
    assert [m["transactionId"] for m in lst["messages"]] == ["t1", "t0"]  # newest first
    assert "payload" not in lst["messages"][0] and "data" not in lst["messages"][0]
    assert lst["mode"] == {"busGroupsCount": 0, "hasQueueMode": True, "type": "queue"}
    assert {m["status"] for m in lst["messages"]} == {"processing"}
    assert len((await api.get("/api/v1/messages", "queue=q&limit=1"))["messages"]) == 1
    pid = body["partitionId"]
    d = await api.get(f"/api/v1/messages/{pid}/t0")
    assert d["payload"] == {"k": 0} and d["isEncrypted"] is False
    assert d["queueConfig"] == {"leaseTime": 300, "priority": 0, "retryDelay": 1000,
                                "retryLimit": 3, "ttl": 3600}
    assert d["consumerGroups"][0]["name"] == "__QUEUE_MODE__"
    assert d["consumerGroups"][0]["leaseExpiresAt"] is not None
    assert await api.get(f"/api/v1/messages/{pid}/nope") == {"error": "Message not found"}
    bad = await api.get("/api/v1/messages/not-a-uuid/t0")
    assert bad["success"] is False and 'uuid: "not-a-uuid"' in bad["error"]
    await api.ack(body["messages"][0], "dlq")
    await api.post("/api/v1/traces", {"transactionId": "t0", "partitionId": pid, "data": 1,
                                      "traceNames": ["x"]})
    r = await api.delete(f"/api/v1/messages/{pid}/t0")
    assert r == {"message": "Message deleted successfully", "partitionId": pid,
                 "success": True, "transactionId": "t0"}
    assert (await api.get("/api/v1/dlq"))["messages"] == []
    assert (await api.get("/api/v1/traces/by-name/x"))["total"] == 0
    r = await api.delete(f"/api/v1/messages/{pid}/t0")
    assert r["success"] is False and r["message"] == "Message not found"


async def test_resources(api):
    await api.push("spec.ns.task", 1)
    await api.push("other", 1, 2)
    qs = await api.get("/api/v1/resources/queues")
    assert [q["name"] for q in qs["queues"]] == ["other", "spec.ns.task"]  # newest first
    assert qs["queues"][0]["messages"] == {"pending": 2, "processing": 0, "total": 2}
    one = await api.get("/api/v1/resources/queues/other")
    assert one["partitions"][0]["stats"]["total"] == 2 and one["totals"]["failed"] == 0
    assert set(one) == {"createdAt", "id", "name", "namespace", "partitions", "task", "totals"}
    tasks = await api.get("/api/v1/resources/tasks")
    assert tasks == {"tasks": [{"messages": {"pending": 1, "total": 1}, "partitions": 1,
                                "queues": 1, "task": "ns"}]}
    ns = await api.get("/api/v1/resources/namespaces")
    assert {n["namespace"] for n in ns["namespaces"]} == {"spec", "other"}
    ov = await api.get("/api/v1/resources/overview")
    assert set(ov) == {"lag", "messages", "namespaces", "partitions", "queues", "statsAge",
                       "tasks", "throughput", "timestamp"}
    assert ov["queues"] == 2 and ov["messages"]["total"] == 3


async def test_status_endpoints(api):
    await api.push("q", 1)
    st = await api.get("/api/v1/status")
    assert {"timeRange", "bucketMinutes", "pointCount", "throughput", "queues", "messages",
            "leases", "deadLetterQueue", "workers", "errors", "statsAge"} == set(st)
    assert st["throughput"][0]["timestamp"].endswith(":00Z")
    sq = await api.get("/api/v1/status/queues", "limit=2")
    assert sq["pagination"] == {"limit": 2, "offset": 0} and sq["queues"][0]["name"] == "q"
    one = await api.get("/api/v1/status/queues/q")
    assert set(one) == {"queue", "partitions", "totals"}
    assert await api.get("/api/v1/status/queues/zz") == {"error": "Queue not found"}
    msgs = await api.get("/api/v1/status/queues/q/messages", "limit=0")
    assert isinstance(msgs, list) and len(msgs) == 1
    assert await api.get("/api/v1/status/queues/q/messages", "offset=1") == {
        "success": True, "value": None}
    assert (await api.raw("GET", "/api/v1/status/queues/zz/messages")).body == b""
    for interval in ("minute", "week", "month"):
        an = await api.get("/api/v1/status/analytics", f"interval={interval}")
        assert an["interval"] == interval and set(an) == {"dataPoints", "interval", "from",
                                                          "to"}
    month = await api.get("/api/v1/status/analytics", "interval=month")
    assert month["dataPoints"] == [{"messages": 1, "timestamp": "2027-01-01T00:00:00.000Z"}]
    bad = await api.get("/api/v1/status/analytics", "interval=bogus")
    assert bad["success"] is False and 'unit "bogus" not recognized' in bad["error"]
    lag = await api.get("/api/v1/analytics/queue-lag")
    assert isinstance(lag, list) and lag[0]["queueName"] == "q"
    assert set(lag[0]) == {"avgLagMs", "bucketTime", "maxLagMs", "popCount", "queueName"}
    for path, keys in [
        ("system-metrics", {"replicas", "bucketMinutes", "pointCount", "replicaCount",
                            "timeRange"}),
        ("worker-metrics", {"timeRange", "bucketMinutes", "pointCount", "timeSeries",
                            "workers", "queues", "summary"}),
        ("queue-ops", {"bucketMinutes", "queues", "series", "timeRange"}),
        ("queue-parked-replicas", {"bucketMinutes", "replicas", "series", "timeRange"}),
        ("retention", {"bucketMinutes", "series", "timeRange", "totals"}),
        ("postgres-stats", {"timestamp", "database", "databaseCache", "tableCache",
                            "indexCache", "cacheSummary", "deadTuples", "hotUpdates",
                            "activeQueries", "autovacuumStatus", "bufferConfig",
                            "bufferUsage", "tableSizes"}),
    ]:
        assert set(await api.get(f"/api/v1/analytics/{path}")) == keys
    buf = await api.get("/api/v1/status/buffers", node=3)
    assert buf == {"dbHealthy": True, "failed": 0, "pending": 0, "worker": 3}
    assert ("Access-Control-Max-Age", "86400") in api.last.headers


async def test_intended_mode_not_found_is_404(make_api):
    api = make_api(status_mode="intended")
    await api.get("/api/v1/resources/queues/zz")
    assert api.last.status == 404 and api.last.reason == "Not Found"


async def test_state_get_before_any_stream(api):
    r = await api.post("/streams/v1/state/get", {"query_id": PID0, "partition_id": PID0})
    assert r == {"rows": [], "success": True}
    await asyncio.sleep(0)
