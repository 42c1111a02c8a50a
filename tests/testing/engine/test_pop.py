"""Pop (§2.2, §3.3 to §3.7, §3.11, §3.13, §6.3)."""

from __future__ import annotations

import re

START = 1_800_000_000.0

US6 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
MSG_KEYS = {"consumerGroup", "createdAt", "data", "id", "leaseId", "partition", "partitionId",
            "producerSub", "traceId", "transactionId"}


async def test_success_shape(api):
    await api.push("q", {"i": 0}, {"i": 1}, partition="A", txs=["a0", "a1"])
    body = await api.pop("q", "A", "batch=2")
    assert set(body) == {"consumerGroup", "leaseId", "messages", "partition", "partitionId",
                         "partitionsClaimed", "queue", "success"}
    assert body["success"] is True and body["queue"] == "q" and body["partition"] == "A"
    assert body["partitionsClaimed"] == 1 and body["consumerGroup"] == "__QUEUE_MODE__"
    for m in body["messages"]:
        assert set(m) == MSG_KEYS  # no retryCount, no queue (Q24)
        assert m["leaseId"] == body["leaseId"] and m["partitionId"] == body["partitionId"]
        assert US6.match(m["createdAt"])
    assert [m["transactionId"] for m in body["messages"]] == ["a0", "a1"]
    assert body["messages"][0]["createdAt"] == "2027-01-15T08:00:00.000000Z"


async def test_default_batch_is_one_and_lenient_ints(api):
    await api.push("q", *range(6))
    assert len((await api.pop("q"))["messages"]) == 1
    assert len((await api.pop("q", query="batch=2abc"))["messages"]) == 0  # leased
    api.clock.advance(301)
    assert len((await api.pop("q", query="batch=2abc"))["messages"]) == 2
    api.clock.advance(301)
    assert len((await api.pop("q", query="batch=abc"))["messages"]) == 1
    api.clock.advance(301)
    # naive substring lookup: "xbatch=4" matches "batch=" first (§1.2)
    assert len((await api.pop("q", query="xbatch=4&batch=1"))["messages"]) == 4


async def test_first_duplicate_parameter_wins(api):
    await api.push("q", *range(4))
    assert len((await api.pop("q", query="batch=1&batch=3"))["messages"]) == 1


async def test_nothing_delivered_shapes(api):
    assert await api.pop("nope") == {"error": "no_available_partition", "messages": [],
                                     "success": False}
    assert await api.pop("nope", "P") == {"error": "partition_not_found", "messages": [],
                                          "success": False}
    await api.push("q", 1, partition="P")
    await api.pop("q", "P")
    assert await api.pop("q", "P") == {"error": "lease_held", "messages": [],
                                       "success": False}
    assert (await api.pop("q"))["error"] == "no_available_partition"
    assert api.last.status == 200


async def test_empty_claim_answers_success_and_releases_lease(api):
    await api.push("q", 1, partition="P")
    first = await api.pop("q", "P", "autoAck=true")
    assert first["leaseId"] == "" and len(first["messages"]) == 1
    empty = await api.pop("q", "P")
    assert empty["success"] is True and empty["messages"] == [] and empty["leaseId"]
    assert empty["partitionsClaimed"] == 1
    again = await api.pop("q", "P")
    assert again["success"] is True  # not lease_held: the empty claim released the lease


async def test_batch_zero_quirks(api):
    await api.push("q", 1, 2, partition="P")
    part = await api.pop("q", "P", "batch=0")
    assert part["messages"] == [] and part["partitionsClaimed"] == 1
    wild = await api.pop("q", query="batch=0")
    assert len(wild["messages"]) == 1


async def test_lease_blocks_group_until_acked_other_groups_unaffected(api):
    await api.push("q", 1, 2)
    a = await api.pop("q", query="batch=1")
    assert len(a["messages"]) == 1
    assert (await api.pop("q"))["error"] == "no_available_partition"
    other = await api.pop("q", query="consumerGroup=g1&batch=5")
    assert len(other["messages"]) == 2
    await api.ack(a["messages"][0], leaseId=a["leaseId"])
    nxt = await api.pop("q")
    assert nxt["messages"][0]["data"] == 2


async def test_lease_expiry_redelivers_without_retry(api):
    await api.configure("q", leaseTime=2, retryLimit=0)
    await api.push("q", 1, 2)
    first = await api.pop("q", query="batch=2")
    api.clock.advance(2.5)
    again = await api.pop("q", query="batch=2")
    assert [m["id"] for m in again["messages"]] == [m["id"] for m in first["messages"]]
    assert again["leaseId"] != first["leaseId"]
    # retry counter untouched by expiry: with retryLimit 0 the first failed dead-letters
    r = await api.ack(again["messages"][0], "failed")
    assert r["dlq"] is True


async def test_lease_time_zero_means_sixty_seconds(api):
    await api.configure("q", leaseTime=0)
    await api.push("q", 1)
    await api.pop("q")
    api.clock.advance(59)
    assert (await api.pop("q"))["error"] == "no_available_partition"
    api.clock.advance(2)
    assert len((await api.pop("q"))["messages"]) == 1


async def test_default_lease_is_300s(api):
    await api.push("q", 1)
    await api.pop("q")
    api.clock.advance(299)
    assert (await api.pop("q"))["error"] == "no_available_partition"
    api.clock.advance(2)
    assert len((await api.pop("q"))["messages"]) == 1


async def test_fifo_per_partition_across_pushes(api):
    for i in range(3):
        await api.push("q", i, partition="P")
        api.clock.advance(0.001)
    body = await api.pop("q", "P", "batch=10")
    assert [m["data"] for m in body["messages"]] == [0, 1, 2]


async def test_multi_partition_pop(api):
    for i in range(5):
        await api.push("q", i, partition=f"p{i}")
    body = await api.pop("q", query="partitions=3&batch=10")
    assert body["partitionsClaimed"] == 3 and len(body["messages"]) == 3
    assert len({m["partitionId"] for m in body["messages"]}) == 3
    assert {m["leaseId"] for m in body["messages"]} == {body["leaseId"]}
    assert body["partition"] == body["messages"][0]["partition"]
    rest = await api.pop("q", query="batch=2&partitions=10")
    assert len(rest["messages"]) == 2 and rest["partitionsClaimed"] == 2
    assert (await api.pop("q"))["error"] == "no_available_partition"


async def test_partitions_ignored_on_partition_route(api):
    await api.push("q", 1, partition="A")
    await api.push("q", 2, partition="B")
    body = await api.pop("q", "A", "partitions=3&batch=5")
    assert body["partitionsClaimed"] == 1 and [m["data"] for m in body["messages"]] == [1]


async def test_named_groups_fan_out_and_subscription_new(api):
    await api.push("q", "old")
    g1 = await api.pop("q", query="consumerGroup=g1")
    g2 = await api.pop("q", query="consumerGroup=g2")
    assert g1["messages"][0]["data"] == g2["messages"][0]["data"] == "old"
    # First contact claims the partition, pins the cursor after "old" and answers empty.
    new = await api.pop("q", query="consumerGroup=g3&subscriptionMode=new")
    assert new["messages"] == [] and new["partitionsClaimed"] == 1 and new["leaseId"]
    assert (await api.pop("q", query="consumerGroup=g3"))["error"] == "no_available_partition"
    api.clock.advance(0.01)
    await api.push("q", "fresh")
    got = await api.pop("q", query="consumerGroup=g3")
    assert [m["data"] for m in got["messages"]] == ["fresh"]


async def test_subscription_modes_only_for_named_groups_and_new_only_unrecognised(api):
    await api.push("q", "old")
    qm = await api.pop("q", query="subscriptionMode=new")
    assert qm["messages"][0]["data"] == "old"
    g = await api.pop("q", query="consumerGroup=g&subscriptionMode=new-only")
    assert g["messages"][0]["data"] == "old"
    bad = await api.pop("q", query="consumerGroup=h&subscriptionFrom=not-a-time")
    assert bad["messages"][0]["data"] == "old"


async def test_subscription_from_timestamp_and_metadata_reuse(api):
    await api.push("q", "early", partition="A")
    api.clock.advance(10)
    await api.push("q", "late", partition="A")
    ts = "2027-01-15T08:00:05.000Z"
    got = await api.pop("q", query=f"consumerGroup=g&subscriptionFrom={ts}&batch=10")
    assert [m["data"] for m in got["messages"]] == ["late"]
    # a partition touched later uses the stored instant regardless of request parameters
    await api.push("q", "b-late", partition="B")
    b = await api.pop("q", "B", "consumerGroup=g")
    assert [m["data"] for m in b["messages"]] == ["b-late"]


async def test_subscription_offset_form(api):
    await api.push("q", "early")
    api.clock.advance(10)
    await api.push("q", "late")
    got = await api.pop("q", query="consumerGroup=g&batch=5&"
                        "subscriptionFrom=2027-01-15T08%3A00%3A05%2B00%3A00")
    assert [m["data"] for m in got["messages"]] == ["late"]


async def test_future_subscription_behaves_like_now(api):
    await api.push("q", "old", partition="A")
    got = await api.pop("q", "A", "consumerGroup=g&subscriptionFrom=2099-01-01T00:00:00Z")
    assert got["messages"] == []
    await api.push("q", "after", partition="A")
    nxt = await api.pop("q", "A", "consumerGroup=g")
    assert [m["data"] for m in nxt["messages"]] == ["after"]


async def test_partition_route_new_applies_only_to_that_partition(api):
    await api.push("q", "a-old", partition="A")
    await api.push("q", "b-old", partition="B")
    await api.pop("q", "A", "consumerGroup=g&subscriptionMode=new")
    b = await api.pop("q", "B", "consumerGroup=g")
    assert [m["data"] for m in b["messages"]] == ["b-old"]


async def test_autoack_no_lease_no_redelivery(api):
    await api.push("q", 1, 2)
    body = await api.pop("q", query="autoAck=true&batch=1")
    assert body["leaseId"] == "" and body["messages"][0]["leaseId"] == ""
    nxt = await api.pop("q", query="autoAck=true&batch=5")
    assert [m["data"] for m in nxt["messages"]] == [2]
    assert (await api.pop("q"))["error"] == "no_available_partition"


async def test_bool_parameters_exact(api):
    await api.push("q", 1)
    body = await api.pop("q", query="autoAck=True")
    assert body["leaseId"] != ""


async def test_empty_consumer_group_is_a_group(api):
    await api.push("q", 1)
    body = await api.pop("q", query="consumerGroup=")
    assert body["consumerGroup"] == ""
    groups = await api.get("/api/v1/consumer-groups")
    assert "" in {g["name"] for g in groups}


async def test_plus_and_percent_decoding_of_group(api):
    await api.push("q", 1)
    assert (await api.pop("q", query="consumerGroup=a+b"))["consumerGroup"] == "a b"
    assert (await api.pop("q", query="consumerGroup=pct%2Dgrp"))["consumerGroup"] == "pct-grp"


async def test_path_segments_are_not_decoded(api):
    await api.push("q sp", 1, partition="P")
    assert (await api.pop("q%20sp", "P"))["error"] == "partition_not_found"
    await api.push("q%20sp", 2, partition="P")
    assert (await api.pop("q%20sp", "P"))["messages"][0]["data"] == 2


async def test_delayed_processing(api):
    await api.configure("q", delayedProcessing=2)
    await api.push("q", 1, partition="P")
    part = await api.pop("q", "P")
    assert part["success"] is True and part["messages"] == []
    wild = await api.pop("q")
    assert wild["success"] is True and wild["messages"] == []  # claimed although delayed
    api.clock.advance(2.3)
    assert len((await api.pop("q"))["messages"]) == 1


async def test_window_buffer(api):
    await api.configure("q", windowBuffer=2)
    await api.push("q", 1, partition="P")
    api.clock.advance(1)
    await api.push("q", 2, partition="P")
    api.clock.advance(1.5)
    wb = await api.pop("q", "P")
    assert wb["windowBufferActive"] is True and wb["leaseId"] == "" and wb["messages"] == []
    assert "partitionsClaimed" not in wb and wb["partitionId"]
    assert (await api.pop("q"))["error"] == "no_available_partition"
    api.clock.advance(0.6)
    got = await api.pop("q", "P", "batch=10")
    assert [m["data"] for m in got["messages"]] == [1, 2]


async def test_pop_maintenance_204_with_body(api):
    await api.push("q", 1)
    await api.post("/api/v1/system/maintenance/pop", {"enabled": True})
    r = await api.raw("GET", "/api/v1/pop/queue/q")
    assert (r.status, r.reason) == (204, "No Content")
    assert r.body == b'{"messages":[],"paused":true}' and len(r.body) == 29
    assert ("Content-Type", "application/json") in r.headers
    await api.post("/api/v1/system/maintenance/pop", {"enabled": False})
    assert len((await api.pop("q"))["messages"]) == 1


async def test_intended_mode_empty_pop_is_204(make_api):
    api = make_api(status_mode="intended")
    await api.pop("q")
    assert api.last.status == 204
    await api.push("q", 1)
    await api.pop("q")
    assert api.last.status == 200


async def test_db_fault_on_pop(api):
    await api.push("q", 1)
    api.broker.faults.db_error("pop", message="boom")
    assert await api.pop("q", query="wait=true") == {"error": "boom", "success": False}
    assert len((await api.pop("q"))["messages"]) == 1


async def test_clock_start_is_used(api):
    assert api.clock.now() == START
