"""Wire-level basics: 404, OPTIONS, CORS headers, health and metrics (§1.1, §1.4, §1.5, §2.14)."""

from __future__ import annotations

import orjson
import pytest

from queen.testing._engine import Broker
from queen.testing._wire import Request

HTML = b"<html><body><h1>File Not Found</h1><hr><i>uWebSockets/20 Server</i></body></html>"
CORS3 = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
]
CORS4 = [*CORS3, ("Access-Control-Max-Age", "86400")]
CT = ("Content-Type", "application/json")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", [
    "/api/v1/nope", "/health/x", "/metrics/x", "/ws/x", "/",
    "/api/v1/pop",  # §2.17: the namespace/task pop route is gone
    "/api/v1/queues/q/clear", "/api/v1/resources/partitions",
    "/api/v1/messages/p/t/retry", "/api/v1/messages/p/t/dlq", "/api/v1/stream/define",
])
async def test_unknown_routes_get_the_html_404(api, method, path):
    r = await api.raw(method, path, query="namespace=a&task=b")
    assert r.status == 404
    assert r.reason == "File Not Found"
    assert r.body == HTML and len(r.body) == 81
    assert r.headers == []


async def test_wrong_method_on_a_known_path_is_404(api):
    r = await api.raw("GET", "/api/v1/push")
    assert r.status == 404 and r.body == HTML


@pytest.mark.parametrize("path", ["/api/v1/push", "/nowhere", "/health"])
async def test_options_is_200_with_four_cors_headers_and_no_body(api, path):
    r = await api.raw("OPTIONS", path)
    assert (r.status, r.reason, r.body) == (200, "OK", b"")
    assert r.headers == CORS4


async def test_immediate_responses_carry_max_age_deferred_ones_do_not(api):
    imm = await api.raw("POST", "/api/v1/push", body={})
    assert imm.status == 400 and imm.headers == [CT, *CORS4]
    dfr = await api.raw("POST", "/api/v1/push", body={"items": [{"queue": "q"}]})
    assert dfr.status == 200 and dfr.headers == [CT, *CORS3]


async def test_health_shape_and_worker_id(api):
    body = await api.get("/health", node=2)
    assert api.last.status == 200
    assert body["status"] == "healthy"
    assert body["database"] == "connected"
    assert body["version"] == "1.0.0"  # Q33
    assert body["server"] == "C++ Queen Server (libqueen)"
    assert body["worker_id"] == 2 and body["queen"] == {"status": "active", "worker_id": 2}
    ss = body["shared_state"]
    assert set(ss) == {"enabled", "maintenance_mode", "pop_maintenance_mode",
                       "queue_config_cache", "running", "server_health", "server_id"}
    assert ss["enabled"] is False


async def test_metrics_stub(api):
    body = await api.get("/metrics")
    assert set(body) == {"cpu", "database", "memory", "messages", "requests", "uptime"}
    assert set(body["database"]) == {"idleConnections", "poolSize", "waitingRequests"}
    assert body["uptime"] == 0


async def test_prometheus_text_without_cors(api):
    await api.push("pq", 1)
    r = await api.raw("GET", "/metrics/prometheus")
    assert r.status == 200
    assert ("Content-Type", "text/plain; version=0.0.4; charset=utf-8") in r.headers
    assert ("Cache-Control", "no-cache") in r.headers
    assert not any(k.startswith("Access-Control") for k, _ in r.headers)
    assert b"queen_" in r.body and b'queue="pq"' in r.body


async def test_keys_are_sorted_in_every_json_body(api):
    await api.push("sq", {"z": 1, "a": {"y": 2, "b": 3}})
    r = await api.raw("GET", "/api/v1/pop/queue/sq")
    assert r.body.index(b'"consumerGroup"') < r.body.index(b'"leaseId"')
    assert b'{"a":{"b":3,"y":2},"z":1}' in r.body


async def test_is_deferred_marks_database_routes(broker: Broker):
    assert broker.is_deferred(Request("POST", "/api/v1/push"))
    assert broker.is_deferred(Request("GET", "/api/v1/pop/queue/q"))
    assert not broker.is_deferred(Request("GET", "/health"))
    assert not broker.is_deferred(Request("POST", "/api/v1/system/maintenance"))
    assert not broker.is_deferred(Request("GET", "/nope"))


@pytest.mark.parametrize("raw", [b"{no", b"[1,", b"nul", b"{\"items\": [}"])
async def test_invalid_json_message_prefix(api, raw):
    r = await api.raw("POST", "/api/v1/push", raw=raw)
    assert r.status == 400
    err = orjson.loads(r.body)["error"]
    assert err.startswith("Invalid JSON: [json.exception.parse_error.101] parse error at line 1")


@pytest.mark.parametrize("path", [
    "/api/v1/push", "/api/v1/ack", "/api/v1/ack/batch", "/api/v1/transaction",
    "/api/v1/lease/x/extend", "/api/v1/configure", "/api/v1/system/maintenance",
])
async def test_empty_body_is_rejected(api, path):
    r = await api.raw("POST", path)
    assert r.status == 400
    assert orjson.loads(r.body) == {"error": "Empty request body"}


async def test_garbage_never_crashes(api):
    for raw in [b"\xff\xfe", b"1" * 100_000, b'"str"', b"[]", b"null", b"{" * 5000]:
        for path in ["/api/v1/push", "/api/v1/ack", "/api/v1/transaction", "/api/v1/configure",
                     "/api/v1/ack/batch"]:
            r = await api.raw("POST", path, raw=raw)
            assert r.status in (400, 500)
    assert (await api.get("/health"))["status"] == "healthy"
