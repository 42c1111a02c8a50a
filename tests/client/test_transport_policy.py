"""Retry, failover and 429 policy on real sockets and a scripted transport (§5.1-§5.3, D22, D25)."""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any, Dict, List, Set

import orjson
import pytest

from queen import (
    QueenConnectionError,
    QueenHttpError,
    QueenServerError,
    QueenTimeoutError,
)
from queen.testing import QueenTestServer

from .conftest import FakeTransport, RecordingBroker, make_client, refused, response

OK_PUSH = response(200, [{"status": "queued"}])


def _fake(*script: Any, urls: Any = "http://a:6632", **kwargs: Any):  # type: ignore[no-untyped-def]
    transport = FakeTransport(*script)
    return make_client(urls, transport=transport, **kwargs), transport


# -- real broker ---------------------------------------------------------------------------


async def test_broker_down_raises_connection_error(server: QueenTestServer) -> None:
    await server.nodes[0].stop()
    async with make_client(server.url, retry_attempts=2) as q:
        with pytest.raises(QueenConnectionError) as info:
            await q.admin.health()
    assert info.value.retriable is True
    assert not isinstance(info.value, QueenTimeoutError)


async def test_5xx_then_recovery(server: QueenTestServer, broker: RecordingBroker) -> None:
    rule = server.nodes[0].faults.error(503, count=2)
    async with make_client(server.url) as q:
        result = await q.queue("r5").push({"data": {"n": 1}})
    assert result[0]["status"] == "queued"
    assert rule.hits == 2
    assert len(broker.seen("POST", "/api/v1/push")) == 1


async def test_5xx_exhausts_the_attempts(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.error(502)
    async with make_client(server.url, retry_attempts=4) as q:
        with pytest.raises(QueenHttpError) as info:
            await q.admin.health()
    assert rule.hits == 4
    assert info.value.status == 502
    assert info.value.retriable is True
    assert info.value.message == "Bad Gateway"  # the body's error field
    assert str(info.value) == f"Bad Gateway (GET {server.url}/health)"


async def test_4xx_is_not_retried(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.error(403, body=b'{"error":"Insufficient permissions"}')
    async with make_client(server.url) as q:
        with pytest.raises(QueenHttpError) as info:
            await q.admin.health()
    assert rule.hits == 1
    assert info.value.status == 403
    assert info.value.message == "Insufficient permissions"
    assert info.value.body == {"error": "Insufficient permissions"}
    assert info.value.retriable is False


async def test_broker_400_is_raised_with_its_text(queen: Any, broker: RecordingBroker) -> None:
    # A lease extension body the broker refuses: the only path to a real 400 from the engine.
    with pytest.raises(QueenHttpError) as info:
        await queen._http.request("POST", "/api/v1/lease/x/extend", body=b"")
    assert info.value.status == 400
    assert info.value.message == "Empty request body"
    assert len(broker.seen("POST", "/api/v1/lease")) == 1


async def test_404_html_body_message(queen: Any) -> None:
    with pytest.raises(QueenHttpError) as info:
        await queen._http.request("GET", "/api/v1/nope")
    assert info.value.status == 404
    assert info.value.message == "HTTP 404: File Not Found"
    assert str(info.value).endswith(" (GET " + queen.urls[0] + "/api/v1/nope)")
    assert isinstance(info.value.body, str) and "File Not Found" in info.value.body


async def test_429_retry_after_is_honoured_on_the_same_url(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.rate_limit(retry_after=0, count=2)
    async with make_client(server.url, retry_attempts=3) as q:
        assert (await q.admin.health())["status"] == "healthy"
    assert rule.hits == 2


async def test_429_budget_exhausted(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.rate_limit(retry_after=0)
    async with make_client(server.url, retry_attempts=3) as q:
        with pytest.raises(QueenHttpError) as info:
            await q.admin.health()
    assert rule.hits == 3
    assert info.value.status == 429
    assert info.value.retry_after_millis == 0


async def test_429_has_its_own_budget(server: QueenTestServer) -> None:
    # Two 429s (within the 429 budget of 3) and two 503s (within the retry budget of 3).
    faults = server.nodes[0].faults
    r429 = faults.rate_limit(retry_after=0, count=2)
    async with make_client(server.url, retry_attempts=3) as q:
        await q.admin.health()
        r503 = faults.error(503, count=2)
        faults.rate_limit(retry_after=0, count=2)
        await q.admin.health()
    assert r429.hits == 2
    assert r503.hits == 2


async def test_retry_429_false_raises_at_once(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.rate_limit(retry_after=0, count=3)
    async with make_client(server.url, retry_429=False) as q:
        with pytest.raises(QueenHttpError) as info:
            await q.admin.health()
    assert rule.hits == 1
    assert info.value.status == 429


async def test_total_deadline_per_attempt(server: QueenTestServer) -> None:
    server.nodes[0].faults.latency(400)
    async with make_client(server.url, timeout_millis=80, retry_attempts=2) as q:
        with pytest.raises(QueenTimeoutError) as info:
            await q.admin.health()
    assert info.value.message == "Request timeout after 80ms"
    assert str(info.value) == f"Request timeout after 80ms (GET {server.url}/health)"
    assert info.value.timeout_millis == 80
    assert info.value.retriable is True


async def test_deadline_then_success(server: QueenTestServer) -> None:
    server.nodes[0].faults.latency(400, count=1)
    async with make_client(server.url, timeout_millis=150, retry_attempts=2) as q:
        assert (await q.admin.health())["status"] == "healthy"


async def test_undecodable_2xx_is_retried(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.error(200, body=b"{not json", reason="OK", count=1)
    async with make_client(server.url) as q:
        assert (await q.admin.health())["status"] == "healthy"
    assert rule.hits == 1


async def test_undecodable_2xx_exhausted(server: QueenTestServer) -> None:
    server.nodes[0].faults.error(200, body=b"garbage", reason="OK")
    async with make_client(server.url, retry_attempts=2) as q:
        with pytest.raises(QueenServerError) as info:
            await q.admin.health()
    assert info.value.retriable is True


async def test_dropped_connection_is_retried(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.drop(count=1, path="/health")
    async with make_client(server.url) as q:
        assert (await q.admin.health())["status"] == "healthy"
    assert rule.hits == 1


async def test_reset_connection_is_retried(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.drop(count=1, reset=True)
    async with make_client(server.url) as q:
        assert (await q.admin.health())["status"] == "healthy"
    assert rule.hits == 1


async def test_drop_after_processing_push_is_idempotent(
    server: QueenTestServer, broker: RecordingBroker
) -> None:
    server.nodes[0].faults.drop(count=1, path="/api/v1/push", after_processing=True)
    async with make_client(server.url) as q:
        result = await q.queue("dap").push({"data": 1, "transactionId": "t-1"})
        assert result[0]["status"] == "duplicate"  # the first send was stored
        messages = await q.queue("dap").wait(False).batch(10).pop()
    assert [m["transactionId"] for m in messages] == ["t-1"]
    assert len(broker.seen("POST", "/api/v1/push")) == 2


async def test_always_dropping_raises_connection_error(server: QueenTestServer) -> None:
    rule = server.nodes[0].faults.drop()
    async with make_client(server.url, retry_attempts=3) as q:
        with pytest.raises(QueenConnectionError):
            await q.admin.health()
    assert rule.hits == 3


async def test_idle_keep_alive_close_is_not_an_error() -> None:
    async with QueenTestServer(idle_timeout=0.15) as srv:
        async with make_client(srv.url, retry_attempts=1) as q:
            for _ in range(3):
                assert (await q.admin.health())["status"] == "healthy"
                await asyncio.sleep(0.3)
            assert (await q.queue("idle").push({"data": 1}))[0]["status"] == "queued"
        assert srv.accepted_connections >= 2


async def test_pop_maintenance_204_with_body_does_not_poison_the_pool(
    server: QueenTestServer,
) -> None:
    async with make_client(server.url, retry_attempts=1) as q:
        await q.queue("pm").push({"data": 1})
        await q.admin.set_pop_maintenance_mode(True)
        for _ in range(3):
            assert await q.queue("pm").wait(False).pop() == []
            assert (await q.admin.health())["status"] == "healthy"
            assert (await q.admin.get_pop_maintenance_mode())["popMaintenanceMode"] is True
        await q.admin.set_pop_maintenance_mode(False)
        messages = await q.queue("pm").wait(False).pop()
    assert [m["data"] for m in messages] == [1]


async def test_no_pipelining_behind_a_parked_long_poll(
    server: QueenTestServer, broker: RecordingBroker
) -> None:
    async with make_client(server.url, retry_attempts=1) as q:
        pop = asyncio.ensure_future(q.queue("lp").timeout_millis(2000).pop())
        await asyncio.sleep(0.05)
        healths = await asyncio.gather(*(q.admin.health() for _ in range(5)))
        pushed = await q.queue("lp").push({"data": "x"})
        got = await pop
    assert all(h["status"] == "healthy" for h in healths)
    assert pushed[0]["status"] == "queued"
    assert [m["data"] for m in got] == ["x"]
    assert len(broker.seen("GET", "/api/v1/pop")) == 1


# -- failover on a real cluster -------------------------------------------------------------


async def test_failover_when_the_first_node_is_stopped(cluster: QueenTestServer) -> None:
    broker = cluster.broker
    assert isinstance(broker, RecordingBroker)
    async with make_client(cluster.urls, retry_attempts=1) as q:
        assert q._balancer is not None
        first = q._balancer.get_next_url()
        node = cluster.nodes[cluster.urls.index(first)]
        await node.stop()
        assert (await q.admin.health())["status"] == "healthy"
        health = q._balancer.health()
        assert health[first]["healthy"] is False
        assert health[first]["failures"] == 1
        served = {cluster.urls[n] for n, _ in broker.requests}
        assert first not in served
        # The unhealthy node is skipped on the following requests, without new failures.
        for _ in range(3):
            await q.admin.health()
        assert q._balancer.health()[first]["failures"] == 1


async def test_failover_on_5xx_marks_unhealthy_and_comes_back(cluster: QueenTestServer) -> None:
    async with make_client(cluster.urls, health_retry_after_millis=100) as q:
        assert q._balancer is not None
        first = q._balancer.get_next_url()
        node = cluster.nodes[cluster.urls.index(first)]
        rule = node.faults.error(503, count=1)
        assert (await q.admin.health())["status"] == "healthy"
        assert rule.hits == 1
        assert q._balancer.health()[first]["healthy"] is False
        await q.admin.health()
        assert node.requests_served == 1  # still skipped
        await asyncio.sleep(0.15)
        await q.admin.health()
        assert node.requests_served == 2  # retry-eligible again, and now healthy
        assert q._balancer.health()[first]["healthy"] is True


async def test_failover_all_nodes_down(cluster: QueenTestServer) -> None:
    for node in cluster.nodes:
        await node.stop()
    async with make_client(cluster.urls) as q:
        with pytest.raises(QueenConnectionError):
            await q.admin.health()
        assert q._balancer is not None
        assert all(not h["healthy"] for h in q._balancer.health().values())


async def test_failover_4xx_is_raised_at_once(cluster: QueenTestServer) -> None:
    for node in cluster.nodes:
        node.faults.error(401, body=b'{"error":"Authentication required"}')
    async with make_client(cluster.urls) as q:
        with pytest.raises(QueenHttpError) as info:
            await q.admin.health()
        assert q._balancer is not None
        assert all(h["healthy"] for h in q._balancer.health().values())
    assert info.value.status == 401
    assert sum(n.requests_served for n in cluster.nodes) == 1


async def test_pop_and_consume_affinity_keys(cluster: QueenTestServer) -> None:
    """pop() routes by q:Default:g, consume() by q:*:g (§5.6, the Default quirk)."""
    from queen._balancer import LoadBalancer

    broker = cluster.broker
    assert isinstance(broker, RecordingBroker)
    ring = LoadBalancer(cluster.urls, "affinity", 128, 5000)
    # Find a queue name whose two keys land on different nodes, so the test can tell them apart.
    for i in range(200):
        name = f"aff{i}"
        pop_url = ring.get_next_url(f"{name}:Default:g")
        consume_url = ring.get_next_url(f"{name}:*:g")
        if pop_url != consume_url:
            break
    async with make_client(cluster.urls) as q:
        await q.queue(name).push([{"data": 1}, {"data": 2}])
        (popped,) = await q.queue(name).group("g").wait(False).pop()
        assert (await q.ack(popped, True, {"group": "g"}))["success"] is True
        seen: List[Any] = []
        consumer = q.queue(name).group("g").wait(False).limit(1).consume(seen.append)
        await asyncio.wait_for(consumer, 5)
    pops = broker.nodes_of(f"/api/v1/pop/queue/{name}")
    assert [cluster.urls[n] for n in pops[:2]] == [pop_url, consume_url]
    assert len(seen) == 1


# -- exact sequences on a scripted transport -------------------------------------------------


async def test_retry_backoff_sequence(sleeps: List[float]) -> None:
    q, t = _fake(response(503), response(500), OK_PUSH, retry_delay_millis=1000)
    assert (await q.queue("b").push({"data": 1}))[0]["status"] == "queued"
    assert sleeps == [1.0, 2.0]
    assert len(t.sends) == 3
    assert len({s[2] for s in t.sends}) == 1  # the same body every time


async def test_retry_attempts_is_the_total(sleeps: List[float]) -> None:
    q, t = _fake(refused(), retry_attempts=5, retry_delay_millis=10)
    with pytest.raises(QueenConnectionError):
        await q.admin.health()
    assert len(t.sends) == 5
    assert sleeps == pytest.approx([0.01, 0.02, 0.04, 0.08])


async def test_single_attempt_never_sleeps(sleeps: List[float]) -> None:
    q, t = _fake(response(503), retry_attempts=1)
    with pytest.raises(QueenHttpError):
        await q.admin.health()
    assert (len(t.sends), sleeps) == (1, [])


async def test_4xx_no_sleep(sleeps: List[float]) -> None:
    q, t = _fake(response(422, {"error": "bad"}))
    with pytest.raises(QueenHttpError, match=r"^bad \(GET http://"):
        await q.admin.health()
    assert (len(t.sends), sleeps) == (1, [])


async def test_http_error_text_without_json(sleeps: List[float]) -> None:
    q, _ = _fake(response(418, b"short and stout", reason="I'm a teapot"))
    with pytest.raises(QueenHttpError, match=r"^HTTP 418: I'm a teapot \(GET ") as info:
        await q.admin.health()
    assert info.value.body == "short and stout"


async def test_429_delays(sleeps: List[float]) -> None:
    q, t = _fake(
        response(429, headers={"Retry-After": "2"}),
        response(429),
        response(200, {"ok": 1}),
        retry_delay_millis=100,
        retry_attempts=3,
    )
    assert await q.admin.health() == {"ok": 1}
    # Retry-After first, then the backoff for the 2nd 429 (100 ms * 2^1).
    assert sleeps == [2.0, 0.2]
    assert len(set(t.urls)) == 1


async def test_429_retry_after_cap_and_http_date(sleeps: List[float]) -> None:
    future = email.utils.formatdate(time.time() + 3600, usegmt=True)
    past = email.utils.formatdate(time.time() - 3600, usegmt=True)
    q, _ = _fake(
        response(429, headers={"Retry-After": "120"}),
        response(429, headers={"Retry-After": future}),
        response(429, headers={"Retry-After": past}),
        response(200, {}),
        retry_attempts=4,
    )
    assert await q.admin.health() == {}
    assert sleeps[:2] == [30.0, 30.0]
    assert sleeps[2] == 0.0


async def test_429_exhausted_carries_retry_after(sleeps: List[float]) -> None:
    q, t = _fake(response(429, headers={"Retry-After": "1"}), retry_attempts=2)
    with pytest.raises(QueenHttpError) as info:
        await q.admin.health()
    assert info.value.retry_after_millis == 1000
    assert len(t.sends) == 2
    assert sleeps == [1.0]


async def test_request_deadlines(sleeps: List[float]) -> None:
    empty_pop = response(200, {"success": True, "messages": []})
    q, t = _fake(empty_pop, timeout_millis=1234)
    await q.admin.health()
    await q.queue("d").pop()
    await q.queue("d").timeout_millis(100).wait(False).pop()
    assert [s[3] for s in t.sends] == [1.234, 35.0, 5.1]


async def test_failover_tries_each_url_once_without_sleeping(sleeps: List[float]) -> None:
    urls = ["http://a:1", "http://b:2", "http://c:3"]
    q, t = _fake(refused(), response(503), response(200, {"ok": True}), urls=urls)
    assert await q.admin.health() == {"ok": True}
    assert sleeps == []
    assert len(set(t.urls)) == 3
    health = q._balancer.health()
    assert sorted(h["healthy"] for h in health.values()) == [False, False, True]


async def test_failover_exhausted_raises_the_last_error(sleeps: List[float]) -> None:
    urls = ["http://a:1", "http://b:2"]
    q, t = _fake(refused(), response(500, {"error": "boom"}), urls=urls)
    with pytest.raises(QueenHttpError, match=r"^boom \(GET http://(a:1|b:2)/health\)$"):
        await q.admin.health()
    assert len(t.sends) == 2 and sleeps == []


async def test_failover_undecodable_body_does_not_mark_unhealthy(sleeps: List[float]) -> None:
    urls = ["http://a:1", "http://b:2"]
    q, t = _fake(response(200, b"<html>"), response(200, {"ok": 1}), urls=urls,
                 load_balancing_strategy="round-robin")
    assert await q.admin.health() == {"ok": 1}
    assert t.urls == ["http://a:1/health", "http://b:2/health"]
    assert all(h["healthy"] for h in q._balancer.health().values())
    # Under affinity the unmarked URL is picked again, skipped as already tried, and the
    # iterations run out: the undecodable answer is the error.
    q, t = _fake(response(200, b"<html>"), urls=urls)
    with pytest.raises(QueenServerError):
        await q.admin.health()
    assert len(t.sends) == 1


async def test_failover_429_stays_on_the_url(sleeps: List[float]) -> None:
    urls = ["http://a:1", "http://b:2"]
    q, t = _fake(response(429), response(200, {"ok": 1}), urls=urls, retry_delay_millis=50)
    assert await q.admin.health() == {"ok": 1}
    assert t.urls[0] == t.urls[1]
    assert sleeps == [0.05]
    assert all(h["healthy"] for h in q._balancer.health().values())


async def test_failover_disabled_uses_the_retry_path(sleeps: List[float]) -> None:
    urls = ["http://a:1", "http://b:2"]
    q, t = _fake(refused(), refused(), response(200, {}), urls=urls, enable_failover=False,
                 load_balancing_strategy="round-robin", retry_delay_millis=10)
    assert await q.admin.health() == {}
    assert sleeps == [0.01, 0.02]
    assert t.urls == ["http://a:1/health", "http://b:2/health", "http://a:1/health"]


async def test_json_bodies_and_empty_dict_body_are_sent(sleeps: List[float]) -> None:
    q, t = _fake(response(200, [{"success": True, "expiresAt": "x"}]))
    await q.admin.refresh_consumer_stats()
    await q.renew("lease-1")
    assert t.sends[0][2] == b"{}"
    assert orjson.loads(t.sends[1][2]) == {"seconds": 60}
    assert t.sends[1][1] == "http://a:6632/api/v1/lease/lease-1/extend"


async def test_round_robin_spreads_requests_over_the_cluster(cluster: QueenTestServer) -> None:
    async with make_client(cluster.urls, load_balancing_strategy="round-robin") as q:
        for _ in range(6):
            await q.admin.health()
    assert [n.requests_served for n in cluster.nodes] == [2, 2, 2]


async def test_affinity_keeps_non_pop_requests_on_one_node(cluster: QueenTestServer) -> None:
    async with make_client(cluster.urls) as q:
        for i in range(6):
            await q.queue(f"aq{i}").push({"data": i})
    assert sorted(n.requests_served for n in cluster.nodes) == [0, 0, 6]


async def test_session_strategy_on_the_cluster(cluster: QueenTestServer) -> None:
    async with make_client(cluster.urls, load_balancing_strategy="session") as q:
        for i in range(3):
            await q.queue(f"sq{i}").wait(False).pop()  # three affinity keys, three nodes
        for i in range(3):
            await q.queue(f"sq{i}").wait(False).pop()  # each key sticks to its node
    broker = cluster.broker
    assert isinstance(broker, RecordingBroker)
    by_queue: Dict[str, Set[int]] = {}
    for node, request in broker.requests:
        by_queue.setdefault(request.path, set()).add(node)
    assert all(len(nodes) == 1 for nodes in by_queue.values())
    assert [n.requests_served for n in cluster.nodes] == [2, 2, 2]
