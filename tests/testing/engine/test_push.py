"""Push (§2.1, §3.9, §6.2, conformance check 1)."""

from __future__ import annotations

import re

import pytest

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def test_queued_entry_shape(api):
    trace = "a390ff84-30db-40b9-be52-2a79135ed49b"
    res = await api.post("/api/v1/push", {"items": [
        {"queue": "q", "partition": "p1", "payload": {"a": 1}, "transactionId": "t1",
         "traceId": trace}]})
    assert api.last.status == 200
    assert len(res) == 1
    e = res[0]
    assert set(e) == {"index", "message_id", "partition_id", "queueName", "status",
                      "trace_id", "transaction_id"}
    assert e["status"] == "queued" and e["queueName"] == "q" and e["transaction_id"] == "t1"
    assert e["trace_id"] == trace and UUID7.match(e["message_id"])


async def test_check1_duplicates_within_request_and_other_partition(api):
    res = await api.post("/api/v1/push", {"items": [
        {"queue": "q", "partition": "p1", "transactionId": "dup"},
        {"queue": "q", "partition": "p1", "transactionId": "dup"},
        {"queue": "q", "partition": "p2", "transactionId": "dup"}]})
    assert [e["status"] for e in res] == ["queued", "duplicate", "queued"]
    assert res[1]["message_id"] == res[0]["message_id"]
    assert set(res[1]) == {"index", "message_id", "queueName", "status", "transaction_id"}
    again = await api.post("/api/v1/push", {"items": [
        {"queue": "q", "partition": "p1", "transactionId": "dup"}]})
    assert again[0]["status"] == "duplicate" and again[0]["message_id"] == res[0]["message_id"]


async def test_generated_transaction_ids_are_uuid4_and_never_duplicate(api):
    res = await api.post("/api/v1/push", {"items": [{"queue": "q"}, {"queue": "q",
                                                                      "transactionId": ""}]})
    assert all(e["status"] == "queued" and UUID4.match(e["transaction_id"]) for e in res)
    assert res[0]["transaction_id"] != res[1]["transaction_id"]


async def test_trace_id_empty_string_is_null(api):
    res = await api.post("/api/v1/push", {"items": [{"queue": "q", "traceId": ""}]})
    assert res[0]["trace_id"] is None


async def test_ids_increase_and_created_at_is_shared(api):
    res = await api.push("q", *range(5))
    ids = [e["message_id"] for e in res]
    assert ids == sorted(ids) and len(set(ids)) == 5
    pop = await api.pop("q", query="batch=10")
    assert len({m["createdAt"] for m in pop["messages"]}) == 1
    assert [m["id"] for m in pop["messages"]] == ids


async def test_missing_payload_is_null_and_ignored_fields(api):
    await api.post("/api/v1/push", {"items": [{
        "queue": "q", "producerSub": "me", "namespace": "n", "task": "t", "messageId": "x",
        "data": 5}]})
    m = (await api.pop("q"))["messages"][0]
    assert m["data"] is None and m["producerSub"] is None and m["id"] != "x"


async def test_empty_items_is_immediate_201(api):
    r = await api.raw("POST", "/api/v1/push", body={"items": []})
    assert (r.status, r.reason, r.body) == (201, "Created", b"[]")
    assert ("Access-Control-Max-Age", "86400") in r.headers


@pytest.mark.parametrize("body,error", [
    ({}, "items array is required"),
    ({"items": {}}, "items array is required"),
    ({"items": "x"}, "items array is required"),
    ([1], "items array is required"),
    ({"items": [{}]}, "Queue must be a string"),
    ({"items": [{"queue": 1}]}, "Queue must be a string"),
    ({"items": [{"queue": "q", "partition": None}]}, "Partition must be a string"),
    ({"items": [{"queue": "q", "partition": 3}]}, "Partition must be a string"),
    ({"items": [{"queue": "q", "transactionId": 3}]}, "TransactionId must be a string"),
    ({"items": [{"queue": "q", "traceId": 3}]}, "TraceId must be a string"),
])
async def test_validation_texts(api, body, error):
    assert await api.post("/api/v1/push", body) == {"error": error}
    assert api.last.status == 400


async def test_first_invalid_item_aborts_whole_request(api):
    body = {"items": [{"queue": "q", "transactionId": "first"}, {"queue": 5}]}
    assert await api.post("/api/v1/push", body) == {"error": "Queue must be a string"}
    res = await api.post("/api/v1/push", {"items": [{"queue": "q", "transactionId": "first"}]})
    assert res[0]["status"] == "queued"


async def test_namespace_and_task_derived_from_dotted_name(api):
    await api.push("spec.dot.task3.more", 1)
    await api.push("plain", 1)
    a = await api.get("/api/v1/resources/queues/spec.dot.task3.more")
    b = await api.get("/api/v1/resources/queues/plain")
    assert (a["namespace"], a["task"]) == ("spec", "dot")
    assert (b["namespace"], b["task"]) == ("plain", "")


async def test_non_uuid_trace_id_fails_the_database_call_as_buffered(api):
    res = await api.post("/api/v1/push", {"items": [
        {"queue": "q", "traceId": "not-a-uuid"}, {"queue": "q2"}]})
    assert api.last.status == 200
    assert res == [{"queue": "q", "status": "buffered"}, {"queue": "q2", "status": "buffered"}]
    assert (await api.pop("q2"))["error"] == "no_available_partition"


async def test_too_long_names_fail_the_database_call(api):
    res = await api.post("/api/v1/push", {"items": [{"queue": "q", "transactionId": "x" * 256}]})
    assert res == [{"queue": "q", "status": "buffered"}]


async def test_buffer_fields_are_ignored(api):
    res = await api.post("/api/v1/push", {"items": [{"queue": "q"}], "bufferMs": 100,
                                          "bufferMax": 5})
    assert res[0]["status"] == "queued"


async def test_intended_status_mode_gives_201(make_api):
    api = make_api(status_mode="intended")
    await api.push("q", 1)
    assert api.last.status == 201 and api.last.reason == "Created"


@pytest.mark.parametrize(
    "payload", [{"a": "x\u0000y"}, {"k\u0000": 1}, ["ok", {"deep": "\u0000"}], "\u0000"]
)
async def test_a_nul_character_fails_the_database_call_as_buffered(api, payload):
    # Seen on the 0.15 broker: PostgreSQL cannot store U+0000, so the whole request (its valid
    # items too) is diverted to the disk buffer, answered buffered and never stored.
    res = await api.post("/api/v1/push", {"items": [
        {"queue": "q", "payload": payload}, {"queue": "q", "payload": {"fine": 1}}]})
    assert res == [{"queue": "q", "status": "buffered"}, {"queue": "q", "status": "buffered"}]
    assert (await api.pop("q"))["error"] == "no_available_partition"


async def test_an_escaped_backslash_u0000_is_stored(api):
    res = await api.post("/api/v1/push", {"items": [{"queue": "q", "payload": "\\u0000"}]})
    assert res[0]["status"] == "queued"
