"""Streams v1 (§2.16, §3.17, Q36)."""

from __future__ import annotations

import pytest

PID0 = "8b543839-e256-467c-b17a-4f5ac0cd4da2"


async def _register(api, name="st", h="h1", **extra):
    return await api.post("/streams/v1/queries", {"name": name, "source_queue": "src",
                                                  "sink_queue": "sink", "config_hash": h,
                                                  **extra})


async def test_register_fresh_same_conflict_reset(api):
    r = await _register(api)
    assert r["fresh"] is True and r["reset"] is False and r["success"] is True
    assert set(r) == {"config_hash", "fresh", "name", "query_id", "reset", "success"}
    again = await _register(api)
    assert again["fresh"] is False and again["query_id"] == r["query_id"]
    conflict = await _register(api, h="h2")
    assert api.last.status == 200
    assert conflict == {
        "error": "config_hash mismatch: operator chain changed for queryId 'st'. Pass "
                 "reset:true to wipe existing state, or use a new queryId.",
        "name": "st", "query_id": r["query_id"], "success": False}
    reset = await _register(api, h="h2", reset=True)
    assert (reset["fresh"], reset["reset"], reset["query_id"]) == (False, True, r["query_id"])


async def test_register_conflict_409_in_intended_mode(make_api):
    api = make_api(status_mode="intended")
    await _register(api)
    await _register(api, h="other")
    assert api.last.status == 409


@pytest.mark.parametrize("body,error", [
    ([], "request body must be a JSON object"),
    ({"source_queue": "s", "config_hash": "h"}, "name is required"),
    ({"name": "", "source_queue": "s", "config_hash": "h"}, "name is required"),
    ({"name": "n", "config_hash": "h"}, "source_queue is required"),
    ({"name": "n", "source_queue": "s"}, "config_hash is required"),
])
async def test_register_validation(api, body, error):
    assert await api.post("/streams/v1/queries", body) == {"error": error}
    assert api.last.status == 400


async def _source(api, n=3):
    qid = (await _register(api))["query_id"]
    await api.push("src", *range(n), partition="P", txs=[f"m{i}" for i in range(n)])
    body = await api.pop("src", "P", f"consumerGroup=streams.st&batch={n}")
    return qid, body


async def test_cycle_commit_and_state(api):
    qid, body = await _source(api)
    pid = body["partitionId"]
    last = body["messages"][1]
    r = await api.post("/streams/v1/cycle", {
        "query_id": qid, "partition_id": pid, "consumer_group": "streams.st",
        "state_ops": [{"type": "upsert", "key": "k1", "value": {"acc": 1, "windowEnd": 1000}},
                      {"type": "upsert", "key": "k2", "value": {"acc": 2, "windowEnd": 5000}},
                      {"type": "upsert", "key": "k4"},
                      {"type": "upsert", "key": "x3", "value": {"acc": 3}}],
        "push_items": [{"queue": "sink", "payload": 1, "transactionId": "sink-1"},
                       {"queue": "sink", "payload": 2, "transactionId": "sink-1"}],
        "ack": {"transactionId": last["transactionId"], "leaseId": last["leaseId"],
                "status": "completed", "count": 2},
        "release_lease": False})
    assert r["success"] is True and r["state_ops_applied"] == 4
    assert r["ack_result"] == {"count": 2, "dlq": False, "lease_released": False,
                               "success": True}
    assert [p["status"] for p in r["push_results"]] == ["queued", "duplicate"]
    assert r["queueName"] == "src" and r["partition_id"] == pid and r["query_id"] == qid
    assert (await api.pop("src", "P", "consumerGroup=streams.st"))["error"] == "lease_held"
    rows = (await api.post("/streams/v1/state/get", {"query_id": qid, "partition_id": pid}))
    assert [x["key"] for x in rows["rows"]] == ["k1", "k2", "k4", "x3"]
    assert rows["rows"][2]["value"] == {}
    assert rows["rows"][0]["updated_at"].endswith("+00:00")
    ripe = await api.post("/streams/v1/state/get", {"query_id": qid, "partition_id": pid,
                                                    "key_prefix": "k",
                                                    "ripe_at_or_before": 2000})
    assert [x["key"] for x in ripe["rows"]] == ["k1"]
    keys = await api.post("/streams/v1/state/get", {"query_id": qid, "partition_id": pid,
                                                    "keys": ["x3", "zz"]})
    assert [x["key"] for x in keys["rows"]] == ["x3"]


async def test_cycle_release_default_redelivers_rest(api):
    qid, body = await _source(api)
    first = body["messages"][0]
    r = await api.post("/streams/v1/cycle", {
        "query_id": qid, "partition_id": body["partitionId"], "consumer_group": "streams.st",
        "ack": {"transactionId": first["transactionId"], "leaseId": first["leaseId"]}})
    assert r["ack_result"]["lease_released"] is True
    nxt = await api.pop("src", "P", "consumerGroup=streams.st&batch=5")
    assert [m["transactionId"] for m in nxt["messages"]] == ["m1", "m2"]


async def test_cycle_failure_rolls_back(api):
    qid, body = await _source(api)
    pid = body["partitionId"]
    await api.post("/streams/v1/cycle", {"query_id": qid, "partition_id": pid,
                                         "state_ops": [{"type": "upsert", "key": "keep"}]})
    r = await api.post("/streams/v1/cycle", {
        "query_id": qid, "partition_id": pid,
        "state_ops": [{"type": "delete", "key": "keep"}, {"type": "frobnicate", "key": "x"}],
        "push_items": [{"queue": "sink", "payload": 1}]})
    assert r == {"ack_result": None, "error": "Unknown state_op type: frobnicate",
                 "partition_id": pid, "push_results": [], "query_id": qid, "queueName": "src",
                 "state_ops_applied": 1, "success": False}
    rows = await api.post("/streams/v1/state/get", {"query_id": qid, "partition_id": pid})
    assert [x["key"] for x in rows["rows"]] == ["keep"]
    r = await api.post("/streams/v1/cycle", {
        "query_id": qid, "partition_id": pid, "push_items": [{"queue": "sink2", "payload": 1}],
        "ack": {"transactionId": "m0", "status": "bogus"}})
    assert r["error"] == "Unknown ack.status: bogus" and r["success"] is False
    assert await api.get("/api/v1/resources/queues/sink2") == {"error": "Queue not found"}


@pytest.mark.parametrize("ack,error", [
    ({"status": "completed"}, "ack.transactionId is required"),
    ({"transactionId": "m0", "count": 2.0}, 'invalid input syntax for type integer: "2.0"'),
    ({"transactionId": "nope"}, "Message not found"),
    ({"transactionId": "m0", "leaseId": PID0}, "Invalid or expired lease"),
])
async def test_cycle_ack_errors(api, ack, error):
    qid, body = await _source(api)
    r = await api.post("/streams/v1/cycle", {"query_id": qid,
                                             "partition_id": body["partitionId"], "ack": ack})
    assert r["error"] == error and r["success"] is False and api.last.status == 200


async def test_cycle_failed_dead_letters(api):
    qid, body = await _source(api)
    r = await api.post("/streams/v1/cycle", {
        "query_id": qid, "partition_id": body["partitionId"], "consumer_group": "streams.st",
        "ack": {"transactionId": "m0", "status": "failed"}})
    assert r["ack_result"] == {"count": 0, "dlq": True, "lease_released": False,
                               "success": True}
    e = (await api.get("/api/v1/dlq"))["messages"][0]
    assert (e["errorMessage"], e["retryCount"]) == ("Streaming cycle reported failure", 0)


async def test_cycle_non_uuid_partition(api):
    qid = (await _register(api))["query_id"]
    r = await api.post("/streams/v1/cycle", {"query_id": qid, "partition_id": "not-a-uuid"})
    assert r == {"ack_result": None,
                 "error": 'invalid input syntax for type uuid: "not-a-uuid"',
                 "partition_id": "", "push_results": [], "query_id": qid, "queueName": None,
                 "state_ops_applied": 0, "success": False}


async def test_state_get_validation_and_float_window(api):
    r = await api.post("/streams/v1/state/get", {"query_id": PID0})
    assert api.last.status == 400 and r == {"error": "partition_id is required"}
    qid, body = await _source(api)
    pid = body["partitionId"]
    await api.post("/streams/v1/cycle", {"query_id": qid, "partition_id": pid, "state_ops": [
        {"type": "upsert", "key": "f", "value": {"windowEnd": 5.5}}]})
    r = await api.post("/streams/v1/state/get", {"query_id": qid, "partition_id": pid,
                                                 "ripe_at_or_before": 9000})
    assert r == {"error": 'invalid input syntax for type bigint: "5.5"', "success": False}
    r = await api.post("/streams/v1/state/get", {"query_id": qid, "partition_id": pid,
                                                 "ripe_at_or_before": 9000.0})
    assert r["success"] is False


@pytest.mark.parametrize(
    ("us", "text"),
    [
        (1_795_811_732_104_006, "2026-11-27T20:35:32.104006+00:00"),
        (1_795_811_732_104_500, "2026-11-27T20:35:32.1045+00:00"),
        (1_795_811_732_100_000, "2026-11-27T20:35:32.1+00:00"),
        (1_795_811_732_000_000, "2026-11-27T20:35:32+00:00"),
    ],
)
def test_state_updated_at_is_postgresql_native_form(us: int, text: str) -> None:
    # PostgreSQL drops the fraction's trailing zeros; the real broker's state rows show it
    # whenever the microseconds end in 0.
    from queen.testing._engine._timefmt import fmt_pg

    assert fmt_pg(us) == text
