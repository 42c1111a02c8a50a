"""Configure and queue delete (§2.7, §2.8, Q13, Q20, Q26, conformance check 11)."""

from __future__ import annotations

import pytest

FULL = {"completedRetentionSeconds": 50, "deadLetterQueue": True, "delayedProcessing": 0,
        "dlqAfterMaxRetries": True, "encryptionEnabled": False, "leaseTime": 120, "maxSize": 10,
        "maxWaitTimeSeconds": 0, "priority": 7, "retentionEnabled": True,
        "retentionSeconds": 100, "retryDelay": 10, "retryLimit": 5, "ttl": 50, "windowBuffer": 0}
DEFAULTS = {"completedRetentionSeconds": 0, "deadLetterQueue": False, "delayedProcessing": 0,
            "dlqAfterMaxRetries": False, "encryptionEnabled": False, "leaseTime": 300,
            "maxSize": 0, "maxWaitTimeSeconds": 0, "priority": 0, "retentionEnabled": False,
            "retentionSeconds": 0, "retryDelay": 1000, "retryLimit": 3, "ttl": 3600,
            "windowBuffer": 0}


async def test_full_configure_response(api):
    res = await api.post("/api/v1/configure", {"queue": "spec.cfg.t1", "namespace": "billing",
                                               "task": "inv", "options": {**FULL, "bogus": 1}})
    assert api.last.status == 200
    assert set(res) == {"configured", "namespace", "options", "partitionId", "queue",
                        "queueId", "task"}
    assert res["options"] == FULL
    assert (res["configured"], res["namespace"], res["task"]) == (True, "billing", "inv")
    pop = await api.pop("spec.cfg.t1", "Default")
    assert pop["success"] is True and pop["partitionId"] == res["partitionId"]


async def test_check11_subset_resets_rest(api):
    await api.post("/api/v1/configure", {"queue": "spec.cfg.t1", "namespace": "n",
                                         "options": FULL})
    res = await api.configure("spec.cfg.t1", retryLimit=9)
    assert res["options"] == {**DEFAULTS, "retryLimit": 9}
    assert (res["namespace"], res["task"]) == ("", "")


@pytest.mark.parametrize("options", [None, [], {}])
async def test_neither_namespace_nor_options_is_an_error_but_creates(api, options):
    body = {"queue": "cq"} if options is None else {"queue": "cq", "options": options}
    res = await api.post("/api/v1/configure", body)
    assert res == {"error": "[json.exception.type_error.306] cannot use value() with null"}
    assert api.last.status == 200
    assert (await api.get("/api/v1/resources/queues/cq"))["name"] == "cq"
    ok = await api.post("/api/v1/configure", {"queue": "cq", "namespace": "x"})
    assert ok["configured"] is True


async def test_float_option_is_sql_error_and_nothing_saved(api):
    await api.configure("fq", leaseTime=10)
    res = await api.configure("fq", leaseTime=30.0, retryLimit=1)
    assert res["success"] is False
    assert res["error"].startswith('ERROR:  invalid input syntax for type integer: "30.0"\n'
                                   'CONTEXT:  PL/pgSQL function queen.configure_queue_v1')
    again = await api.configure("fq", ttl=1)
    assert again["options"]["leaseTime"] == 300  # the float call did not save retryLimit etc.
    assert await api.configure("never", leaseTime=1.5) == {
        "error": res["error"].replace("30.0", "1.5"), "success": False}
    assert await api.get("/api/v1/resources/queues/never") == {"error": "Queue not found"}


async def test_numeric_string_saved_but_error(api):
    res = await api.configure("sq", leaseTime="60")
    assert res == {"error": "[json.exception.type_error.302] type must be number, "
                            "but is string"}
    res = await api.configure("sq2", retentionEnabled="true")
    assert res == {"error": "[json.exception.type_error.302] type must be boolean, "
                            "but is string"}
    await api.push("sq", 1)
    await api.pop("sq")
    api.clock.advance(61)
    assert len((await api.pop("sq"))["messages"]) == 1  # 60 s lease was saved


@pytest.mark.parametrize("body", [{}, {"queue": 5}, {"options": {}}])
async def test_queue_required(api, body):
    assert await api.post("/api/v1/configure", body) == {"error": "queue is required"}
    assert api.last.status == 400


async def test_delete_queue(api):
    await api.push("dq", 1, 2)
    body = await api.pop("dq")
    assert await api.delete("/api/v1/resources/queues/dq") == {"deleted": True,
                                                               "existed": True, "queue": "dq"}
    assert await api.delete("/api/v1/resources/queues/dq") == {"deleted": True,
                                                               "existed": False, "queue": "dq"}
    assert await api.get("/api/v1/resources/queues/dq") == {"error": "Queue not found"}
    res = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {})
    assert res[0]["error"] == "Lease not found"


async def test_delete_keeps_subscription_metadata_q26(api):
    await api.push("rq", "old")
    await api.pop("rq", query="consumerGroup=g&subscriptionFrom=2099-01-01T00:00:00Z")
    await api.delete("/api/v1/resources/queues/rq")
    await api.push("rq", "new")
    # The inherited 2099 subscription: the first claim pins the cursor past "new"...
    claimed = await api.pop("rq", query="consumerGroup=g")
    assert claimed["messages"] == [] and claimed["partitionsClaimed"] == 1
    assert (await api.pop("rq", query="consumerGroup=g"))["error"] == "no_available_partition"
    fresh = await api.pop("rq", query="consumerGroup=fresh")
    assert [m["data"] for m in fresh["messages"]] == ["new"]
