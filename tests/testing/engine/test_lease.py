"""Lease extension (§2.6, Q23, §6.5, conformance check 6)."""

from __future__ import annotations

from datetime import datetime, timezone

START = 1_800_000_000.0


def _ts(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


async def _lease(api, query="", n=1, **cfg):
    if cfg:
        await api.configure("q", **cfg)
    for i in range(n):
        await api.push("q", i, partition=f"p{i}")
    return await api.pop("q", query=f"partitions={n}&batch={n}" + query)


async def test_check6_extend_live_lease_defaults_to_60s(api):
    body = await _lease(api, leaseTime=2)
    res = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {})
    assert api.last.status == 200 and len(res) == 1
    e = res[0]
    assert set(e) == {"error", "expiresAt", "index", "leaseId", "success"}
    assert (e["success"], e["error"], e["index"], e["leaseId"]) == (True, None, 0,
                                                                    body["leaseId"])
    assert abs(_ts(e["expiresAt"]) - (START + 60)) < 0.01
    api.clock.advance(30)
    assert (await api.pop("q"))["error"] == "no_available_partition"


async def test_check6_acked_lease_not_found(api):
    body = await _lease(api)
    await api.ack(body["messages"][0], leaseId=body["leaseId"])
    res = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {"seconds": 10})
    assert res == [{"error": "Lease not found", "expiresAt": None, "index": 0,
                    "leaseId": body["leaseId"], "success": False}]


async def test_never_shortens_and_float_seconds(api):
    body = await _lease(api)
    res = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {"seconds": 5})
    assert abs(_ts(res[0]["expiresAt"]) - (START + 300)) < 0.01
    res = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {"seconds": 400.5})
    assert abs(_ts(res[0]["expiresAt"]) - (START + 400.5)) < 0.01


async def test_expired_cannot_be_revived(api):
    body = await _lease(api, leaseTime=2)
    api.clock.advance(3)
    res = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {"seconds": 100})
    assert res[0]["error"] == "Lease already expired" and res[0]["success"] is False
    assert len((await api.pop("q"))["messages"]) == 1


async def test_reclaimed_lease_not_found(api):
    body = await _lease(api, leaseTime=2)
    api.clock.advance(3)
    await api.pop("q")
    res = await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {})
    assert res[0]["error"] == "Lease not found"


async def test_one_renew_covers_all_partitions(api):
    body = await _lease(api, n=3)
    await api.post(f"/api/v1/lease/{body['leaseId']}/extend", {"seconds": 400})
    api.clock.advance(350)
    assert (await api.pop("q"))["error"] == "no_available_partition"
    api.clock.advance(60)
    assert len((await api.pop("q", query="partitions=3&batch=3"))["messages"]) == 3


async def test_errors(api):
    r = await api.raw("POST", "/api/v1/lease/x/extend")
    assert r.status == 400
    res = await api.post("/api/v1/lease/x/extend", {"seconds": "abc"})
    assert api.last.status == 500
    assert res == {"error": "[json.exception.type_error.302] type must be number, but is string"}
    assert api.last.headers[0] == ("Content-Type", "application/json")
    res = await api.post("/api/v1/lease/random/extend", {})
    assert res[0]["error"] == "Lease not found"
