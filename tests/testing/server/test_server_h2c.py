"""Cleartext HTTP/2 with prior knowledge, opt-in per listener."""

from __future__ import annotations

import asyncio

import h2.config
import h2.connection
import h2.events
import httpx
import pytest
from server_helpers import wait_until

from queen.testing._server import QueenTestServer


@pytest.fixture
async def h2server(stub):
    async with QueenTestServer(broker=stub, http2=True) as server:
        yield server


def _h2_client(server: QueenTestServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, http1=False, http2=True, timeout=10)


async def test_many_concurrent_long_polls_share_one_connection(h2server, stub):
    async with _h2_client(h2server) as client:
        polls = [
            asyncio.ensure_future(client.get("/api/v1/pop/queue/q?wait=true&timeout=8000"))
            for _ in range(20)
        ]
        await wait_until(lambda: len(stub.calls) == 20)
        push = await client.post(
            "/api/v1/push", json={"items": [{"payload": i} for i in range(20)]}
        )
        assert push.status_code == 200 and push.http_version == "HTTP/2"
        results = await asyncio.gather(*polls)
    got = sorted(r.json()["messages"][0]["data"] for r in results)
    assert got == list(range(20))
    assert all(r.http_version == "HTTP/2" for r in results)
    assert results[0].headers["uwebsockets"] == "20" and "date" in results[0].headers
    assert h2server.accepted_connections == 1
    assert h2server.requests_served == 21


async def test_large_bodies_respect_flow_control(h2server):
    async with _h2_client(h2server) as client:
        responses = await asyncio.gather(*(client.get("/big?n=300000") for _ in range(4)))
    for r in responses:
        assert r.status_code == 200 and r.content == b"x" * 300000
        assert r.headers["content-length"] == "300000"


async def test_status_reason_and_empty_bodies(h2server, stub):
    stub.pop_paused = True
    async with _h2_client(h2server) as client:
        paused = await client.get("/api/v1/pop/queue/q")
        missing = await client.get("/nope")
        empty = await client.get("/api/v1/consumer-groups")
    assert paused.status_code == 204 and paused.content == b'{"messages":[],"paused":true}'
    assert missing.status_code == 404 and b"File Not Found" in missing.content
    assert empty.status_code == 200 and empty.content == b""
    assert empty.headers["content-length"] == "0"


async def test_http1_still_works_on_an_h2c_listener(h2server):
    async with httpx.AsyncClient(base_url=h2server.url) as client:
        r = await client.get("/health")
    assert r.http_version == "HTTP/1.1" and r.status_code == 200


async def _raw_h2(port: int):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    writer.write(conn.data_to_send())
    return reader, writer, conn


def _headers(path: str):
    return [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "t")]


async def _events(reader, writer, conn, until):
    seen = []
    while not any(until(e) for e in seen):
        data = await asyncio.wait_for(reader.read(65536), 5)
        if not data:
            break
        seen.extend(conn.receive_data(data))
        writer.write(conn.data_to_send())
    return seen


async def test_rst_stream_cancels_only_that_streams_handler(h2server, stub):
    reader, writer, conn = await _raw_h2(h2server.nodes[0].port)
    conn.send_headers(1, _headers("/api/v1/pop/queue/q?wait=true&timeout=8000"), end_stream=True)
    conn.send_headers(3, _headers("/slow?ms=300"), end_stream=True)
    writer.write(conn.data_to_send())
    await wait_until(lambda: len(stub.calls) == 2)
    conn.reset_stream(1)
    writer.write(conn.data_to_send())
    await wait_until(lambda: stub.cancelled == 1)
    events = await _events(reader, writer, conn, lambda e: isinstance(e, h2.events.StreamEnded))
    ended = [e.stream_id for e in events if isinstance(e, h2.events.StreamEnded)]
    assert ended == [3]
    writer.close()


async def test_more_streams_than_h2s_default_limit(h2server, stub):
    # httpx caps itself at 100 streams per connection, so this uses h2 directly.
    reader, writer, conn = await _raw_h2(h2server.nodes[0].port)
    await _events(reader, writer, conn, lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
    streams = [1 + 2 * i for i in range(150)]
    for stream_id in streams:
        path = "/api/v1/pop/queue/q?wait=true&timeout=8000"
        conn.send_headers(stream_id, _headers(path), end_stream=True)
    writer.write(conn.data_to_send())
    await wait_until(lambda: len(stub.calls) == 150)
    async with httpx.AsyncClient(base_url=h2server.url) as client:
        await client.post("/api/v1/push", json={"items": [{"payload": i} for i in range(150)]})
    ended = set()
    while len(ended) < 150:
        events = await _events(reader, writer, conn, lambda e: isinstance(e, h2.events.StreamEnded))
        ended.update(e.stream_id for e in events if isinstance(e, h2.events.StreamEnded))
    assert ended == set(streams)
    assert h2server.nodes[0].accepted_connections == 2  # the raw h2 one and the pusher
    writer.close()


async def test_stop_sends_goaway(h2server, stub):
    reader, writer, conn = await _raw_h2(h2server.nodes[0].port)
    conn.send_headers(1, _headers("/health"), end_stream=True)
    writer.write(conn.data_to_send())
    await _events(reader, writer, conn, lambda e: isinstance(e, h2.events.StreamEnded))
    await h2server.nodes[0].stop()
    events = await _events(
        reader, writer, conn, lambda e: isinstance(e, h2.events.ConnectionTerminated)
    )
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events)
    writer.close()


async def test_drop_fault_resets_the_stream_only(h2server, stub):
    h2server.nodes[0].faults.drop(count=1, path="/nope")
    async with _h2_client(h2server) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/nope")
        assert (await client.get("/health")).status_code == 200
    assert h2server.accepted_connections == 1


async def test_request_body_and_headers_reach_the_engine(h2server, stub):
    body = {"items": [{"payload": "p" * 100000}]}
    async with _h2_client(h2server) as client:
        r = await client.post("/api/v1/push?a=1", json=body, headers={"X-Thing": "v"})
    assert r.status_code == 200
    _, request = stub.calls[-1]
    assert (request.method, request.path, request.query) == ("POST", "/api/v1/push", "a=1")
    assert request.headers["x-thing"] == "v" and request.headers["host"].startswith("127.0.0.1")
    assert len(request.body) > 100000
