"""LeanTransport on real sockets: the in-process broker and raw asyncio servers."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Awaitable, Callable, List, Tuple

import orjson
import pytest

from queen import QueenConnectionError, QueenTimeoutError
from queen._transport import LeanTransport, RouterTransport
from queen._transport._lean import KEEPALIVE_EXPIRY_SECONDS
from queen.testing import QueenTestServer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A raw asyncio server; counts connections and keeps the requests it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.server: asyncio.AbstractServer
        self.url = ""

    async def __aenter__(self) -> RawServer:
        async def on_connect(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(r, w)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                w.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


async def read_request(r: asyncio.StreamReader) -> Tuple[bytes, bytes]:
    head = await r.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await r.readexactly(length) if length else b""
    return head, body


def answer(body: bytes, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + extra
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


@pytest.fixture
async def broker() -> AsyncIterator[QueenTestServer]:
    async with QueenTestServer() as srv:
        yield srv


@pytest.fixture
async def lean() -> AsyncIterator[LeanTransport]:
    t = LeanTransport({"Authorization": "Bearer tok", "X-Custom": "1"})
    yield t
    await t.aclose()


# -- against the in-process broker ----------------------------------------------------------


async def test_push_pop_ack_roundtrip_reuses_one_connection(
    broker: QueenTestServer, lean: LeanTransport
) -> None:
    url = broker.url
    r = await lean.send("POST", url + "/api/v1/configure", b'{"queue":"lq","options":{}}', 5)
    assert r.status == 200
    items = [{"queue": "lq", "partition": "Default", "payload": {"i": i},
              "transactionId": f"00000000-0000-4000-8000-{i:012d}"} for i in range(3)]
    r = await lean.send("POST", url + "/api/v1/push", orjson.dumps({"items": items}), 5)
    assert r.status in (200, 201)
    assert [e["status"] for e in orjson.loads(r.body)] == ["queued"] * 3
    r = await lean.send("GET", url + "/api/v1/pop/queue/lq?batch=3&wait=false", None, 5)
    messages = orjson.loads(r.body)["messages"]
    assert [m["data"]["i"] for m in messages] == [0, 1, 2]
    assert r.headers["content-type"].startswith("application/json")
    pool = lean._pools[url]
    assert len(pool._all) == 1


async def test_pop_maintenance_204_with_body_does_not_poison_the_pool(
    broker: QueenTestServer, lean: LeanTransport
) -> None:
    await lean.send("POST", broker.url + "/api/v1/configure", b'{"queue":"m","options":{}}', 5)
    r = await lean.send("POST", broker.url + "/api/v1/system/maintenance/pop",
                        b'{"enabled":true}', 5)
    assert r.status == 200
    r = await lean.send("GET", broker.url + "/api/v1/pop/queue/m?wait=false", None, 5)
    assert r.status == 204
    r = await lean.send("GET", broker.url + "/health", None, 5)
    assert r.status == 200
    assert orjson.loads(r.body)["status"] == "healthy"


async def test_the_broker_idle_close_is_survived(broker: QueenTestServer) -> None:
    t = LeanTransport()
    try:
        assert (await t.send("GET", broker.url + "/health", None, 5)).status == 200
        conn = next(iter(t._pools[broker.url]._all))
        assert conn.transport is not None
        conn.transport.abort()  # as if the broker's idle timer closed it
        await asyncio.sleep(0.05)
        assert (await t.send("GET", broker.url + "/health", None, 5)).status == 200
    finally:
        await t.aclose()


async def test_router_sends_http_urls_to_the_lean_route(broker: QueenTestServer) -> None:
    router = RouterTransport()
    try:
        r = await router.send("GET", broker.url + "/health", None, 5)
        assert r.status == 200
        assert router._lean is not None and broker.url in router._lean._pools
        assert router._fallback is None
    finally:
        await router.aclose()


async def test_router_honours_queen_transport_httpx(
    broker: QueenTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEEN_TRANSPORT", "httpx")
    router = RouterTransport()
    try:
        assert (await router.send("GET", broker.url + "/health", None, 5)).status == 200
        assert router._lean is None and router._fallback is not None
    finally:
        await router.aclose()


# -- against raw servers -------------------------------------------------------------------


async def test_request_bytes_carry_the_prebuilt_headers() -> None:
    seen: List[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            head, body = await read_request(r)
            seen.append(head + body)
            w.write(answer(b"{}"))

    async with RawServer(handler) as srv:
        t = LeanTransport({"Authorization": "Bearer tok", "X-Custom": "1"})
        try:
            await t.send("POST", srv.url + "/api/v1/ack", b'{"a":1}', 5)
            await t.send("GET", srv.url + "/health?x=1", None, 5)
            await t.send("POST", srv.url + "/api/v1/stats/refresh", None, 5)
        finally:
            await t.aclose()
    post, get, empty = seen
    host = srv.url[7:].encode()
    assert post.startswith(b"POST /api/v1/ack HTTP/1.1\r\nHost: " + host + b"\r\n")
    assert b"Authorization: Bearer tok\r\n" in post and b"X-Custom: 1\r\n" in post
    assert b"Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}" in post
    assert get.startswith(b"GET /health?x=1 HTTP/1.1\r\n")
    assert b"Content-Length" not in get and b"Content-Type" not in get
    assert b"Content-Length: 0\r\n" in empty
    assert srv.connections == 1


async def test_a_custom_content_type_wins() -> None:
    seen: List[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head, _ = await read_request(r)
        seen.append(head)
        w.write(answer(b"{}"))

    async with RawServer(handler) as srv:
        t = LeanTransport({"content-type": "application/x-ndjson"})
        try:
            await t.send("POST", srv.url + "/x", b"{}", 5)
        finally:
            await t.aclose()
    assert b"application/json" not in seen[0]
    assert b"content-type: application/x-ndjson\r\n" in seen[0]


async def test_reset_of_a_reused_connection_is_resent_once_on_a_fresh_one() -> None:
    served = 0

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        nonlocal served
        await read_request(r)
        served += 1
        w.write(answer(b'{"n":%d}' % served))
        await w.drain()
        # The next request on this connection is read, then the socket dies unanswered.
        await read_request(r)
        w.transport.abort()

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            first = await t.send("GET", srv.url + "/a", None, 5)
            assert (first.body, first.resent) == (b'{"n":1}', False)
            # The dead connection may have delivered the request: the answer says it was
            # sent again, so a caller can tell a replay (a transaction's lost answer).
            second = await t.send("GET", srv.url + "/b", None, 5)
            assert (second.body, second.resent) == (b'{"n":2}', True)
        finally:
            await t.aclose()
    assert srv.connections == 2


async def test_a_fresh_connection_dropped_without_an_answer_is_not_resent() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        w.transport.abort()

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            with pytest.raises(QueenConnectionError) as info:
                await t.send("GET", srv.url + "/x", None, 5)
        finally:
            await t.aclose()
    assert not isinstance(info.value, QueenTimeoutError)
    assert info.value.url == srv.url + "/x"
    assert srv.connections == 1


async def test_a_connection_dropped_mid_answer_is_a_connection_error() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":")
        await w.drain()
        w.transport.abort()

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            with pytest.raises(QueenConnectionError):
                await t.send("GET", srv.url + "/x", None, 5)
        finally:
            await t.aclose()
    assert srv.connections == 1  # bytes had arrived: no silent re-send


async def test_server_idle_close_between_requests() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        w.write(answer(b"{}"))
        await w.drain()
        await asyncio.sleep(0.05)  # then the server's idle timer closes the socket

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            await t.send("GET", srv.url + "/a", None, 5)
            await asyncio.sleep(0.2)
            assert not t._pools[srv.url]._idle  # the closed connection left the pool
            await t.send("GET", srv.url + "/b", None, 5)
        finally:
            await t.aclose()
    assert srv.connections == 2


async def test_idle_connections_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            await read_request(r)
            w.write(answer(b"{}"))

    assert KEEPALIVE_EXPIRY_SECONDS <= 5
    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            await t.send("GET", srv.url + "/a", None, 5)
            conn = t._pools[srv.url]._idle[0]
            conn.idle_since -= KEEPALIVE_EXPIRY_SECONDS + 1  # as if it idled that long
            await t.send("GET", srv.url + "/b", None, 5)
        finally:
            await t.aclose()
    assert srv.connections == 2


async def test_204_with_a_body_closes_its_connection() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            head, _ = await read_request(r)
            if b"/maintenance" in head:
                body = b'{"messages":[],"paused":true}'
                w.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 29\r\n\r\n" + body)
            else:
                w.write(answer(b'{"ok":true}'))

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            r = await t.send("GET", srv.url + "/maintenance", None, 5)
            assert r.status == 204
            r = await t.send("GET", srv.url + "/next", None, 5)
            assert (r.status, r.body) == (200, b'{"ok":true}')
        finally:
            await t.aclose()
    assert srv.connections == 2


async def test_the_deadline_covers_a_slow_answer() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        await asyncio.sleep(5)

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            with pytest.raises(QueenTimeoutError, match="Request timeout after 200ms"):
                await t.send("GET", srv.url + "/slow", None, 0.2)
            assert not t._pools[srv.url]._idle  # the timed-out connection is not reused
        finally:
            await t.aclose()


async def test_the_deadline_covers_the_wait_for_a_pool_slot() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        await asyncio.sleep(5)

    async with RawServer(handler) as srv:
        t = LeanTransport(max_connections=1)
        try:
            first = asyncio.ensure_future(t.send("GET", srv.url + "/a", None, 3))
            await asyncio.sleep(0.05)
            with pytest.raises(QueenTimeoutError):
                await t.send("GET", srv.url + "/b", None, 0.2)
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)
        finally:
            await t.aclose()
    assert srv.connections == 1


async def test_chunked_answers() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            await read_request(r)
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b'{"a":', b"[1,2,3]", b"}"):
                w.write(b"%x\r\n%s\r\n" % (len(part), part))
                await w.drain()
                await asyncio.sleep(0.01)
            w.write(b"0\r\n\r\n")

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            for _ in range(2):
                r = await t.send("GET", srv.url + "/c", None, 5)
                assert orjson.loads(r.body) == {"a": [1, 2, 3]}
        finally:
            await t.aclose()
    assert srv.connections == 1


async def test_an_answer_framed_by_the_end_of_the_connection() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"eof\":true}")
        await w.drain()

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            r = await t.send("GET", srv.url + "/e", None, 5)
            assert r.body == b'{"eof":true}'
            assert not t._pools[srv.url]._idle
        finally:
            await t.aclose()


@pytest.mark.parametrize("size", [1 << 10, 1 << 16, 1 << 20, 1 << 23])
async def test_large_bodies_both_ways(size: int) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            _, body = await read_request(r)
            w.write(answer(body[::-1]))

    body = bytes(range(256)) * (size // 256)
    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            r = await t.send("POST", srv.url + "/echo", body, 30)
        finally:
            await t.aclose()
    assert r.body == body[::-1]


async def test_concurrency_beyond_the_pool_size_never_pipelines() -> None:
    in_flight: List[int] = []
    per_connection_busy: List[bool] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            await read_request(r)
            in_flight.append(1)
            await asyncio.sleep(0.01)
            # A pipelining client would already have written the next request.
            per_connection_busy.append(len(r._buffer) > 0)  # type: ignore[attr-defined]
            w.write(answer(b"{}"))
            await w.drain()
            in_flight.pop()

    async with RawServer(handler) as srv:
        t = LeanTransport(max_connections=3)
        try:
            results = await asyncio.gather(
                *(t.send("GET", srv.url + f"/r{i}", None, 10) for i in range(20))
            )
        finally:
            await t.aclose()
    assert [r.status for r in results] == [200] * 20
    assert srv.connections == 3
    assert per_connection_busy == [False] * 20


async def test_connection_refused() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    t = LeanTransport()
    try:
        with pytest.raises(QueenConnectionError) as info:
            await t.send("GET", f"http://127.0.0.1:{port}/health", None, 5)
    finally:
        await t.aclose()
    assert not isinstance(info.value, QueenTimeoutError)
    assert info.value.retriable


async def test_malformed_answers_are_connection_errors() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        w.write(b"NOT HTTP AT ALL\r\n\r\n")
        await w.drain()
        await asyncio.sleep(1)

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            with pytest.raises(QueenConnectionError, match="malformed"):
                await t.send("GET", srv.url + "/m", None, 5)
        finally:
            await t.aclose()


async def test_cancelling_a_request_discards_its_connection() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            head, _ = await read_request(r)
            if b"/slow" in head:
                await asyncio.sleep(0.2)
            w.write(answer(b'{"path":"%s"}' % head.split(b" ")[1]))

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            task = asyncio.ensure_future(t.send("GET", srv.url + "/slow", None, 5))
            await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            r = await t.send("GET", srv.url + "/fast", None, 5)
            assert r.body == b'{"path":"/fast"}'  # not the late answer to /slow
        finally:
            await t.aclose()
    assert srv.connections == 2


async def test_repeated_headers_are_joined_and_names_lower_cased() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        w.write(answer(b"{}", b"429 Too Many Requests", b"Retry-After: 2\r\nX-A: 1\r\nX-A: 2\r\n"))

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            r = await t.send("GET", srv.url + "/h", None, 5)
        finally:
            await t.aclose()
    assert (r.status, r.reason) == (429, "Too Many Requests")
    assert r.headers["retry-after"] == "2" and r.headers["x-a"] == "1, 2"


async def test_after_aclose_requests_fail() -> None:
    t = LeanTransport()
    await t.aclose()
    with pytest.raises(QueenConnectionError):
        await t.send("GET", "http://127.0.0.1:9/health", None, 1)


async def test_a_connection_closed_at_accept_fails_at_once() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.transport.abort()

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            for _ in range(3):
                with pytest.raises(QueenConnectionError) as info:
                    await t.send("GET", srv.url + "/x", None, 30)
                assert not isinstance(info.value, QueenTimeoutError)
        finally:
            await t.aclose()


def test_a_transport_outlives_its_event_loop() -> None:
    import os
    import subprocess
    import sys

    broker = subprocess.Popen(
        [sys.executable, "-m", "queen.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    try:
        assert broker.stdout is not None
        url = broker.stdout.readline().strip()
        t = LeanTransport()
        for _ in range(2):  # two asyncio.run() calls, one pool
            r = asyncio.run(t.send("GET", url + "/health", None, 10))
            assert r.status == 200
        asyncio.run(t.aclose())
    finally:
        broker.terminate()
        broker.wait(10)


# -- wake-up thresholds (SO_RCVLOWAT) -----------------------------------------------------------


async def _dribble(w: asyncio.StreamWriter, data: bytes, piece: int) -> None:
    for i in range(0, len(data), piece):
        w.write(data[i:i + piece])
        await w.drain()
        await asyncio.sleep(0.001)


async def test_answers_in_small_pieces_and_a_shorter_head_than_any_before() -> None:
    # Long heads first (the transport learns the shortest head it has seen), then answers
    # whose head is shorter than that, written a few bytes at a time: each must still be
    # read whole, within its deadline, and the connection reused.
    long_head = b"X-Padding: " + b"p" * 200 + b"\r\n"
    big = orjson.dumps({"items": ["x" * 100] * 2000})

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        for k in range(6):
            await read_request(r)
            if k < 2:
                await _dribble(w, answer(b'{"k":%d}' % k, extra=long_head), 7)
            elif k == 2:
                await _dribble(w, answer(big), 50_000)  # a large body in segments
            else:
                body = b'{"k":%d}' % k
                short = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
                await _dribble(w, short, 3 if k == 3 else len(short))

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            for k in range(6):
                resp = await t.send("GET", srv.url + "/x", None, 5.0)
                assert resp.status == 200
                assert resp.body == (big if k == 2 else b'{"k":%d}' % k)
        finally:
            await t.aclose()
        assert srv.connections == 1


async def test_after_a_large_answer_a_small_one_is_not_held_back() -> None:
    # A large body raises the socket's wake-up threshold while it arrives; the next answer
    # on the same connection is tiny and must be delivered (the threshold is back to 1).
    big = b"[" + b",".join([b'"' + b"y" * 500 + b'"'] * 400) + b"]"

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        data = answer(big)
        w.write(data[:300])
        await w.drain()
        await asyncio.sleep(0.01)
        w.write(data[300:])
        await read_request(r)
        w.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await r.read()

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            first = await t.send("GET", srv.url + "/big", None, 5.0)
            assert first.body == big
            second = await t.send("GET", srv.url + "/small", None, 5.0)
            assert second.status == 204
        finally:
            await t.aclose()
        assert srv.connections == 1


async def test_each_request_on_a_connection_keeps_its_own_deadline() -> None:
    # One timer serves a connection's successive requests: a short deadline after a long one
    # still fires, and a long deadline after a short one is not cut at the earlier deadline.
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        w.write(answer(b"1"))  # long deadline, answered at once
        await read_request(r)
        w.write(answer(b"2"))  # short deadline, answered at once
        await read_request(r)
        await asyncio.sleep(0.6)  # beyond the previous request's deadline, within its own
        w.write(answer(b"3"))
        await read_request(r)  # never answered: its short deadline must fire
        await r.read()

    async with RawServer(handler) as srv:
        t = LeanTransport()
        try:
            assert (await t.send("GET", srv.url + "/1", None, 30.0)).body == b"1"
            assert (await t.send("GET", srv.url + "/2", None, 0.3)).body == b"2"
            assert (await t.send("GET", srv.url + "/3", None, 30.0)).body == b"3"
            with pytest.raises(QueenTimeoutError):
                # The outer bound only keeps a broken deadline from hanging the test.
                await asyncio.wait_for(t.send("GET", srv.url + "/4", None, 0.3), 10.0)
        finally:
            await t.aclose()
        assert srv.connections == 1
