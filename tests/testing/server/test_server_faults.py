"""Per-node fault injection: checked before the engine (no state change), except drops after
processing; counts, path prefixes, seeded probabilities, clearing."""

from __future__ import annotations

import time

import httpx
import pytest
from server_helpers import Raw, get

from queen.testing._faults import Faults
from queen.testing._wire import Request


def _push(client: httpx.AsyncClient, n: int = 1):
    items = [{"queue": "q", "payload": i} for i in range(n)]
    return client.post("/api/v1/push", json={"items": items})


async def test_error_answers_the_next_n_requests_without_the_engine(server, stub):
    server.nodes[0].faults.error(503, count=2)
    async with httpx.AsyncClient(base_url=server.url) as client:
        first = await _push(client)
        second = await client.get("/health")
        third = await client.get("/health")
    assert first.status_code == second.status_code == 503
    assert first.reason_phrase == "Service Unavailable"
    assert first.json() == {"error": "Service Unavailable"}
    assert first.headers["uwebsockets"] == "20" and "date" in first.headers
    assert third.status_code == 200
    assert [req.path for _, req in stub.calls] == ["/health"]  # only the third got through
    assert stub.messages == []
    assert server.nodes[0].faults.rules == ()


async def test_error_with_custom_body_until_cleared(server, stub):
    faults = server.nodes[0].faults
    faults.error(500, b'{"error":"db down"}')
    async with httpx.AsyncClient(base_url=server.url) as client:
        for _ in range(3):
            r = await client.get("/health")
            assert (r.status_code, r.content) == (500, b'{"error":"db down"}')
        faults.clear()
        assert (await client.get("/health")).status_code == 200
    assert len(stub.calls) == 1


async def test_rate_limit_sends_429_with_retry_after(server, stub):
    server.nodes[0].faults.rate_limit(retry_after=2, count=1)
    async with httpx.AsyncClient(base_url=server.url) as client:
        limited = await client.get("/health")
        ok = await client.get("/health")
    assert limited.status_code == 429 and limited.reason_phrase == "Too Many Requests"
    assert limited.headers["retry-after"] == "2"
    assert ok.status_code == 200 and len(stub.calls) == 1


async def test_latency_delays_matching_responses(server):
    server.nodes[0].faults.latency(150, count=1)
    async with httpx.AsyncClient(base_url=server.url) as client:
        started = time.monotonic()
        assert (await client.get("/health")).status_code == 200
        slow = time.monotonic() - started
        started = time.monotonic()
        await client.get("/health")
        fast = time.monotonic() - started
    assert slow >= 0.15
    assert fast < 0.15


async def test_drop_closes_without_a_response_and_without_the_engine(server, stub):
    server.nodes[0].faults.drop(count=1)
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(get("/health"))
    assert await raw.eof() == b""
    await raw.close()
    assert stub.calls == []
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/health")).status_code == 200


async def test_drop_with_reset_aborts_the_connection(server):
    server.nodes[0].faults.drop(count=1, reset=True)
    async with httpx.AsyncClient(base_url=server.url) as client:
        with pytest.raises(httpx.TransportError):
            await client.get("/health")


async def test_drop_after_processing_changes_state_but_loses_the_answer(server, stub):
    server.nodes[0].faults.drop(count=1, path="/api/v1/push", after_processing=True)
    async with httpx.AsyncClient(base_url=server.url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await _push(client, 3)
        assert stub.messages == [0, 1, 2]  # the push was applied
        retry = await _push(client, 3)
    assert retry.status_code == 200


async def test_path_prefix_limits_a_rule(server, stub):
    server.nodes[0].faults.error(502, path="/api/v1/push")
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await _push(client)).status_code == 502
        assert (await client.get("/api/v1/pop/queue/q")).status_code == 200


async def test_faults_are_per_node(stub):
    from queen.testing._server import QueenTestServer

    async with QueenTestServer(broker=stub, nodes=2) as server:
        server.nodes[1].faults.error(503)
        async with httpx.AsyncClient() as client:
            assert (await client.get(server.urls[0] + "/health")).status_code == 200
            assert (await client.get(server.urls[1] + "/health")).status_code == 503


def _pattern(seed: int, n: int = 200):
    faults = Faults()
    faults.drop(probability=0.3, seed=seed)
    request = Request("GET", "/health")
    return [faults.take(request)[1] is not None for _ in range(n)]


def test_probabilistic_drops_are_reproducible_from_the_seed():
    first = _pattern(7)
    assert first == _pattern(7)
    assert first != _pattern(8)
    assert 30 <= sum(first) <= 90  # about 30 % of 200


def test_probabilistic_drops_with_a_count_stop_after_n_drops():
    faults = Faults()
    rule = faults.drop(probability=0.5, seed=1, count=3)
    request = Request("GET", "/x")
    drops = sum(faults.take(request)[1] is not None for _ in range(100))
    assert drops == 3 and rule.hits == 3 and faults.rules == ()


def test_latencies_add_up_and_the_first_terminal_rule_wins():
    faults = Faults()
    faults.latency(100)
    faults.latency(50, path="/api")
    first = faults.error(500, count=1)
    faults.rate_limit()
    delay, rule = faults.take(Request("GET", "/api/v1/x"))
    assert delay == pytest.approx(0.15) and rule is first
    delay, rule = faults.take(Request("GET", "/health"))
    assert delay == pytest.approx(0.1) and rule is not None and rule.kind == "rate_limit"


def test_bad_arguments_are_refused():
    faults = Faults()
    with pytest.raises(ValueError):
        faults.error(count=0)
    with pytest.raises(ValueError):
        faults.drop(probability=1.5)
