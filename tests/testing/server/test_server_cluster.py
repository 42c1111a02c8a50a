"""Cluster mode (several listeners, one engine), node stop/start and the counters."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from server_helpers import wait_until

from queen.testing._server import QueenTestServer


async def test_nodes_share_one_engine_and_pass_their_index(stub):
    async with QueenTestServer(broker=stub, nodes=3) as server:
        assert len(set(server.urls)) == 3 and server.url == server.urls[0]
        async with httpx.AsyncClient() as client:
            await client.post(server.urls[1] + "/api/v1/push", json={"items": [{"payload": 42}]})
            popped = await client.get(server.urls[2] + "/api/v1/pop/queue/q")
        assert popped.json()["messages"] == [{"data": 42}]
        assert [node for node, _ in stub.calls] == [1, 2]
        assert server.broker is stub


async def test_consecutive_ports_from_a_fixed_base(stub):
    probe = QueenTestServer(broker=stub)
    await probe.start()
    base = probe.nodes[0].port
    await probe.close()
    server = QueenTestServer(broker=stub, port=base, nodes=2)
    try:
        await server.start()
    except OSError:  # pragma: no cover - the neighbour port happened to be taken
        base = 0
    else:
        assert [n.port for n in server.nodes] == [base, base + 1]
    finally:
        await server.close()


async def test_stopped_node_refuses_connections_and_restarts_on_the_same_port(stub):
    async with QueenTestServer(broker=stub, nodes=2) as server:
        node = server.nodes[1]
        port, url = node.port, node.url
        async with httpx.AsyncClient() as client:
            assert (await client.get(url + "/health")).status_code == 200
        await node.stop()
        assert not node.running and node.url == url
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(url + "/health")
            assert (await client.get(server.urls[0] + "/health")).status_code == 200
        await node.start()
        assert node.port == port
        async with httpx.AsyncClient() as client:
            assert (await client.get(url + "/health")).status_code == 200


async def test_stop_closes_open_connections_and_cancels_their_requests(stub):
    server = QueenTestServer(broker=stub)
    async with server, httpx.AsyncClient(base_url=server.url) as client:
        long_poll = client.get("/api/v1/pop/queue/q?wait=true&timeout=9000")
        pending = asyncio.ensure_future(long_poll)
        await wait_until(lambda: bool(stub.calls))
        await server.nodes[0].stop()
        with pytest.raises(httpx.TransportError):
            await pending
        await wait_until(lambda: stub.cancelled == 1)
        assert server.nodes[0].open_connections == 0


async def test_counters_show_connection_reuse(server):
    async with httpx.AsyncClient(base_url=server.url) as client:
        for _ in range(5):
            await client.get("/health")
    assert server.accepted_connections == 1
    assert server.requests_served == 5
    async with httpx.AsyncClient(base_url=server.url) as client:
        await client.get("/health")
    assert server.nodes[0].accepted_connections == 2
    assert server.nodes[0].requests_served == 6


def test_nodes_must_be_positive(stub):
    with pytest.raises(ValueError):
        QueenTestServer(broker=stub, nodes=0)
