"""HTTP/1.1 wire behaviour of the test broker, asserted on raw bytes (spec §1.1, §1.4, §1.5, Q4,
Q29, Q40). The stub engine supplies the responses; the server supplies the framing."""

from __future__ import annotations

import asyncio
import time

import pytest
from server_helpers import Raw, get, strip_date, wait_until
from server_stub import NOT_FOUND, StubBroker

from queen.testing._h2c import H2Protocol  # noqa: F401  (h2c must import without h2c enabled)
from queen.testing._http1 import H2_PREFACE, serialize
from queen.testing._server import QueenTestServer
from queen.testing._wire import Response


async def test_unknown_route_is_the_uwebsockets_404_and_keeps_the_connection(server):
    raw = await Raw.open(server.nodes[0].port)
    for method in ("GET", "POST", "PUT", "DELETE"):
        request = f"{method} /api/v1/nope HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
        await raw.send(request.encode())
        head, body = await raw.response()
        assert strip_date(head) == (
            b"HTTP/1.1 404 File Not Found\r\n"
            b"Date: <date>\r\n"
            b"uWebSockets: 20\r\n"
            b"Content-Length: 81\r\n\r\n"
        )
        assert body == NOT_FOUND and len(body) == 81
    await raw.close()
    assert server.accepted_connections == 1


async def test_204_carries_its_body_byte_exact(server, stub: StubBroker):
    stub.pop_paused = True
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(get("/api/v1/pop/queue/q") + get("/health"))
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert b"Content-Length: 29\r\n" in head
    assert body == b'{"messages":[],"paused":true}'
    # The next response starts right after those 29 bytes.
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b'{"status":"healthy"}'
    await raw.close()


async def test_header_order_is_engine_headers_then_date_mark_length(server):
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(get("/health"))
    head, body = await raw.response()
    assert strip_date(head) == (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: application/json\r\n"
        b"Access-Control-Allow-Origin: *\r\n"
        b"Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
        b"Access-Control-Allow-Headers: Content-Type, Authorization\r\n"
        b"Access-Control-Max-Age: 86400\r\n"
        b"Date: <date>\r\n"
        b"uWebSockets: 20\r\n"
        b"Content-Length: 20\r\n\r\n"
    )
    assert body == b'{"status":"healthy"}'
    await raw.close()


async def test_empty_result_has_content_length_zero(server):
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(get("/api/v1/consumer-groups"))
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.endswith(b"uWebSockets: 20\r\nContent-Length: 0\r\n\r\n")
    assert body == b""
    await raw.close()


async def test_options_is_200_with_no_body(server):
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(b"OPTIONS /api/v1/anything HTTP/1.1\r\nHost: t\r\n\r\n")
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Access-Control-Max-Age: 86400\r\n" in head
    assert b"Content-Length: 0\r\n\r\n" in head and body == b""
    await raw.close()


def test_serialize_writes_the_exact_bytes():
    response = Response(201, b"[]", [("Content-Type", "application/json")], "Created")
    assert serialize(response, "Tue, 01 Dec 2026 18:00:00 GMT") == (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        b"Date: Tue, 01 Dec 2026 18:00:00 GMT\r\nuWebSockets: 20\r\nContent-Length: 2\r\n\r\n[]"
    )


async def test_pipelined_immediate_requests_are_answered_in_order(server):
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(
        get("/nope")
        + get("/health")
        + b"OPTIONS /x HTTP/1.1\r\nHost: t\r\n\r\n"
        + get("/nope/again")
    )
    statuses = []
    for _ in range(4):
        head, _body = await raw.response()
        statuses.append(head.split(b"\r\n", 1)[0])
    assert statuses == [
        b"HTTP/1.1 404 File Not Found",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 404 File Not Found",
    ]
    await raw.close()


async def test_request_behind_a_pending_deferred_one_kills_the_connection(server, stub):
    for gap in (0.0, 0.2):
        raw = await Raw.open(server.nodes[0].port)
        await raw.send(get("/api/v1/pop/queue/q?wait=true&timeout=5000"))
        await wait_until(lambda: len(stub.calls) >= 1)
        if gap:
            await asyncio.sleep(gap)
        await raw.send(get("/health"))
        started = time.monotonic()
        assert await raw.eof() == b""  # nothing for either request
        assert time.monotonic() - started < 1.0
        await wait_until(lambda: stub.cancelled >= 1)  # the long poll was cancelled too
        stub.cancelled = 0
        stub.calls.clear()
        await raw.close()


async def test_pipelined_in_one_packet_behind_a_deferred_request(server, stub):
    # An immediate request, a deferred one, then another: the immediate one is answered,
    # then the connection dies without an answer for the other two.
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(get("/health") + get("/api/v1/pop/queue/q?wait=true&timeout=5000") + get("/x"))
    rest = await raw.eof()
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b'{"status":"healthy"}')
    await raw.close()


async def test_pipelined_deferred_requests_one_at_a_time_are_fine(server, stub):
    raw = await Raw.open(server.nodes[0].port)
    for _ in range(3):
        await raw.send(get("/api/v1/pop/queue/q"))
        head, body = await raw.response()
        assert head.startswith(b"HTTP/1.1 200 OK") and b'"messages": []' in body
    await raw.close()


async def test_idle_keep_alive_connection_is_closed_after_the_timeout(stub):
    async with QueenTestServer(broker=stub, idle_timeout=0.3) as server:
        raw = await Raw.open(server.nodes[0].port)
        await raw.send(get("/health"))
        await raw.response()
        answered = time.monotonic()
        # Used again before the deadline, the connection survives and the clock restarts.
        await asyncio.sleep(0.15)
        await raw.send(get("/health"))
        await raw.response()
        answered = time.monotonic()
        assert await raw.eof(2.0) == b""
        elapsed = time.monotonic() - answered
        assert 0.25 <= elapsed < 1.0, elapsed
        await raw.close()


async def test_idle_timeout_applies_even_when_shorter_than_the_connect_timeout(stub):
    async with QueenTestServer(broker=stub, idle_timeout=0.2, connect_timeout=5.0) as server:
        raw = await Raw.open(server.nodes[0].port)
        await raw.send(get("/health"))
        await raw.response()
        answered = time.monotonic()
        assert await raw.eof(2.0) == b""
        assert 0.15 <= time.monotonic() - answered < 1.0
        await raw.close()


async def test_socket_that_never_sends_is_closed_after_the_connect_timeout(stub):
    async with QueenTestServer(broker=stub, idle_timeout=0.3, connect_timeout=0.4) as server:
        started = time.monotonic()
        raw = await Raw.open(server.nodes[0].port)
        assert await raw.eof(2.0) == b""
        assert 0.35 <= time.monotonic() - started < 1.2
        await raw.close()


def test_default_timeouts_match_the_real_broker():
    server = QueenTestServer(broker=StubBroker())
    ctx = server.nodes[0]._ctx
    assert 8.0 <= ctx.idle_timeout <= 12.0
    assert 11.0 <= ctx.connect_timeout <= 13.0


async def test_no_idle_timeout_while_a_request_is_pending(stub):
    async with QueenTestServer(broker=stub, idle_timeout=0.2, connect_timeout=0.2) as server:
        raw = await Raw.open(server.nodes[0].port)
        await raw.send(get("/slow?ms=700"))
        head, body = await raw.response(3.0)
        assert head.startswith(b"HTTP/1.1 200 OK") and body == b'{"slow":true}'
        await raw.close()


async def test_http2_preface_is_dropped_by_default(server, stub):
    raw = await Raw.open(server.nodes[0].port)
    # Sent in two pieces: the server must wait for the whole preface before deciding.
    await raw.send(H2_PREFACE[:10])
    await asyncio.sleep(0.05)
    await raw.send(H2_PREFACE[10:] + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    assert await raw.eof() == b""
    assert stub.calls == []
    await raw.close()


async def test_upgrade_h2c_header_is_ignored(server):
    raw = await Raw.open(server.nodes[0].port)
    upgrade = (
        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABkAAQAAP__\r\n"
    )
    await raw.send(get("/health", upgrade) + get("/nope"))
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b'{"status":"healthy"}'
    head, _ = await raw.response()
    assert head.startswith(b"HTTP/1.1 404 File Not Found\r\n")
    await raw.close()


async def test_client_disconnect_cancels_the_engine_call(server, stub):
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(get("/api/v1/pop/queue/q?wait=true&timeout=10000"))
    await wait_until(lambda: len(stub.calls) == 1)
    await raw.close()
    await wait_until(lambda: stub.cancelled == 1)


async def test_connection_close_is_honoured(server):
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(get("/health", "Connection: close\r\n"))
    data = await raw.eof()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b'{"status":"healthy"}')
    await raw.close()


async def test_request_reaches_the_engine_raw(server, stub):
    raw = await Raw.open(server.nodes[0].port)
    body = b'{"items":[{"queue":"q","payload":"' + b"p" * 5000 + b'"}]}'
    request = (
        b"POST /api/v1/push?x=a%2Bb+c&y HTTP/1.1\r\nHost: t\r\nX-Custom-Thing: One\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    # Dribbled in small pieces: parsing must not depend on how TCP splits the bytes.
    for i in range(0, len(request), 700):
        await raw.send(request[i : i + 700])
    head, _ = await raw.response()
    assert head.startswith(b"HTTP/1.1 200 OK")
    node, seen = stub.calls[-1]
    assert node == 0
    assert (seen.method, seen.path, seen.query) == ("POST", "/api/v1/push", "x=a%2Bb+c&y")
    assert seen.headers["x-custom-thing"] == "One" and seen.headers["host"] == "t"
    assert seen.body == body
    await raw.send(get("/api/v1/pop/queue/my%20q/partition/P%2F1"))
    await raw.response()
    assert stub.calls[-1][1].path == "/api/v1/pop/queue/my%20q/partition/P%2F1"
    assert stub.calls[-1][1].query == ""
    await raw.close()


async def test_chunked_request_body_is_assembled(server, stub):
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(
        b"POST /api/v1/push HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'9\r\n{"items":\r\n'
        b'f\r\n[{"queue":"q"}]\r\n'
        b"1\r\n}\r\n0\r\n\r\n"
    )
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 200 OK") and body == b'[{"index": 0, "status": "queued"}]'
    assert stub.calls[-1][1].body == b'{"items":[{"queue":"q"}]}'
    await raw.close()


async def test_engine_exception_becomes_an_immediate_500(server):
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(get("/boom") + get("/health"))
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert body.startswith(b'{"error":"RuntimeError(') and b"engine bug" in body
    head, _ = await raw.response()
    assert head.startswith(b"HTTP/1.1 200 OK")  # the connection survives
    await raw.close()


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n",  # a TLS ClientHello's start
        b"\x00\x01 not http at all\r\n\r\n",
        b"not http at all\r\n\r\n",
    ],
)
async def test_an_unreadable_request_line_gets_505_and_a_close(server, stub, garbage):
    # As the real broker answers (seen on a live 0.15.1 with these very bytes).
    raw = await Raw.open(server.nodes[0].port)
    await raw.send(garbage)
    assert await raw.eof() == (
        b"HTTP/1.1 505 HTTP Version Not Supported\r\nConnection: close\r\n\r\n"
        b"<h1>HTTP Version Not Supported</h1><p>This server does not support HTTP/1.0.</p>"
        b"<hr><i>uWebSockets/20 Server</i>"
    )
    assert stub.calls == []
    await raw.close()
