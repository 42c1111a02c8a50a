"""``H2Pool`` against ``queen.testing``'s h2c listener and a bare ``h2`` peer: GOAWAY with
streams open, a node stopping under parked long-polls, bodies waiting for flow-control credit.

A proxy that reaches its request limit (nginx's ``keepalive_requests``) sends ``GOAWAY`` and
then keeps answering the streams up to its ``last_stream_id``. The test broker's own
``GOAWAY`` (on node stop) closes the socket at once, so :func:`_graceful_goaway` writes the
frames a proxy would send straight onto the server's socket, leaving its ``h2`` state open
so that it goes on answering the parked streams.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Awaitable, Callable, List, Optional, Tuple

import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest
from _peer import serve_h2
from hyperframe.frame import GoAwayFrame, WindowUpdateFrame

from queen import Queen
from queen._transport._base import RawResponse
from queen._transport._h2 import H2Connection, H2Pool, H2TransportError, Origin
from queen.testing import QueenTestServer

GUARD = 10.0  # seconds: a hang guard, not a performance bound
POLL = "/api/v1/pop/queue/{}?batch=1&wait=true&timeout={}"


def _origin(url: str) -> Tuple[Origin, str]:
    authority = url.split("://", 1)[1]
    host, port = authority.rsplit(":", 1)
    return ("http", host, int(port)), authority


async def _until(predicate: Callable[[], bool], what: str) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(wait(), GUARD)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


class Client:
    """An ``H2Pool`` on one origin, with the requests the tests need."""

    def __init__(self, url: str) -> None:
        self.origin, self.authority = _origin(url)
        self.pool = H2Pool(None)

    def send(self, method: str, path: str, body: Optional[bytes] = None) -> Awaitable[RawResponse]:
        headers = [("content-type", "application/json")] if body is not None else []
        return self.pool.request(self.origin, method, self.authority, path, headers, body)

    def pop(self, queue: str, timeout_millis: int = 5000) -> Awaitable[RawResponse]:
        return self.send("GET", POLL.format(queue, timeout_millis))

    def push(self, items: List[Any]) -> Awaitable[RawResponse]:
        return self.send("POST", "/api/v1/push", json.dumps({"items": items}).encode())

    def connections(self) -> List[H2Connection]:
        return [c for c in self.pool._connections.get(self.origin, []) if not c.closed]


def _server_connection(server: QueenTestServer) -> Any:
    (connection,) = server.nodes[0]._ctx.connections  # the one h2c connection
    return connection


def _graceful_goaway(server: QueenTestServer, last_stream_id: Optional[int] = None) -> int:
    """What nginx sends at its request limit: ``GOAWAY`` (``NO_ERROR``), then a
    ``WINDOW_UPDATE`` on its last stream; the server keeps serving the streams it has."""
    connection = _server_connection(server)
    if last_stream_id is None:
        last_stream_id = connection._conn.highest_inbound_stream_id
    frames = GoAwayFrame(0, last_stream_id=last_stream_id, error_code=0).serialize()
    frames += WindowUpdateFrame(last_stream_id, window_increment=1024).serialize()
    connection._transport.write(frames)
    return last_stream_id


async def _setup(server: QueenTestServer, count: int) -> List[str]:
    """``count`` fresh queues, created over HTTP/1.1 (one parked pop per queue: a pop leases
    the whole partition)."""
    queues = ["pool-" + uuid.uuid4().hex[:8] for _ in range(count)]
    queen = Queen(server.url, handle_signals=False)
    for queue in queues:
        await queen.queue(queue).create()
    await queen.close()
    return queues


async def test_streams_up_to_last_stream_id_are_answered_after_goaway():
    async with QueenTestServer(http2=True) as server:
        queues = await _setup(server, 5)
        client = Client(server.url)
        try:
            baseline = server.requests_served
            pops = [asyncio.ensure_future(client.pop(q)) for q in queues]
            await _until(lambda: server.requests_served == baseline + 5, "parked pops")
            (first,) = client.connections()
            assert _graceful_goaway(server) == 9  # streams 1..9 were taken
            await _until(lambda: first.goaway, "the GOAWAY read")

            # New requests go to a second connection; the parked pops get their messages on
            # the first one, which closes once they are answered.
            answer = await asyncio.wait_for(
                client.push([{"queue": q, "payload": {"q": q}} for q in queues]), GUARD
            )
            assert answer.status == 200
            assert [e["status"] for e in json.loads(answer.body)] == ["queued"] * 5
            responses = await asyncio.wait_for(asyncio.gather(*pops), GUARD)
            assert [r.status for r in responses] == [200] * 5
            got = [json.loads(r.body)["messages"][0]["data"]["q"] for r in responses]
            assert got == queues
            await _until(lambda: first.closed, "the drained connection closed")
            assert len(client.connections()) == 1
            assert client.pool.stream_count(client.origin) == 0
            assert server.requests_served == baseline + 6  # nothing was sent twice
        finally:
            await client.pool.aclose()


async def test_streams_above_last_stream_id_fail_as_not_processed_at_once():
    async with QueenTestServer(http2=True) as server:
        queues = await _setup(server, 4)
        client = Client(server.url)
        try:
            baseline = server.requests_served
            pops = [asyncio.ensure_future(client.pop(q, 1000)) for q in queues]  # 1, 3, 5, 7
            await _until(lambda: server.requests_served == baseline + 4, "parked pops")
            (first,) = client.connections()
            _graceful_goaway(server, last_stream_id=3)
            results = await asyncio.wait_for(
                asyncio.gather(*pops[2:], return_exceptions=True), GUARD
            )
            for result in results:
                assert isinstance(result, H2TransportError) and result.not_processed
            assert not pops[0].done() and not pops[1].done()  # still parked
            assert first.goaway and not first.closed
            responses = await asyncio.wait_for(asyncio.gather(*pops[:2]), GUARD)
            assert [r.status for r in responses] == [200, 200]
            assert [json.loads(r.body)["messages"] for r in responses] == [[], []]  # timed out
            await _until(lambda: first.closed, "the drained connection closed")
            assert client.pool.stream_count(client.origin) == 0
        finally:
            await client.pool.aclose()


async def test_node_stop_under_parked_streams_fails_them_and_frees_the_pool():
    async with QueenTestServer(http2=True) as server:
        queues = await _setup(server, 5)
        client = Client(server.url)
        try:
            assert (await client.push([{"queue": queues[0], "payload": 0}])).status == 200
            baseline = server.requests_served
            pops = [asyncio.ensure_future(client.pop(q)) for q in queues[1:]]
            await _until(lambda: server.requests_served == baseline + 4, "parked pops")
            await server.nodes[0].stop()  # GOAWAY, then the socket closes
            results = await asyncio.wait_for(asyncio.gather(*pops, return_exceptions=True), GUARD)
            for result in results:
                # no response byte on a connection that had served a request: safe to re-send
                assert isinstance(result, H2TransportError) and result.no_response
            assert client.connections() == []
            assert client.pool.stream_count(client.origin) == 0
            await server.nodes[0].start()
            answer = await asyncio.wait_for(client.pop(queues[0]), GUARD)
            assert json.loads(answer.body)["messages"][0]["data"] == 0
            assert len(client.connections()) == 1
        finally:
            await client.pool.aclose()


# -- a bare h2 peer that never opens its receive window ------------------------------------


class StingyServer:
    """An h2c server that takes request bodies without acknowledging them (so a client's
    send window runs out), then ends each stream with ``end(conn, stream_id)``."""

    def __init__(self, end: Callable[[h2.connection.H2Connection, int], None]) -> None:
        self._end = end
        self.blocked = asyncio.Event()  # a request body has used up the window
        self._server: Optional[asyncio.AbstractServer] = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = 0

        async def on_event(conn: h2.connection.H2Connection, event: Any) -> None:
            nonlocal received
            if isinstance(event, h2.events.DataReceived):
                received += event.flow_controlled_length
                if received >= 65535 and not self.blocked.is_set():
                    self.blocked.set()
                    await asyncio.sleep(0.05)  # the client is waiting for credit
                    self._end(conn, event.stream_id)

        await serve_h2(reader, writer, h2.config.H2Configuration(client_side=False), on_event)


def _goaway_unprocessed(conn: h2.connection.H2Connection, stream_id: int) -> None:
    conn.close_connection(last_stream_id=0)


def _refuse(conn: h2.connection.H2Connection, stream_id: int) -> None:
    conn.reset_stream(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)


@pytest.mark.parametrize("end", [_goaway_unprocessed, _refuse], ids=["goaway", "rst_stream"])
async def test_a_body_waiting_for_flow_control_credit_ends_with_its_stream(end):
    server = StingyServer(end)
    await server.start()
    client = Client(f"http://127.0.0.1:{server.port}")
    try:
        request = asyncio.ensure_future(client.send("POST", "/api/v1/push", b"x" * 200_000))
        await asyncio.wait_for(server.blocked.wait(), GUARD)
        with pytest.raises(H2TransportError) as info:
            await asyncio.wait_for(request, GUARD)
        assert info.value.not_processed  # safe to re-send elsewhere
        assert client.pool.stream_count(client.origin) == 0
    finally:
        await client.pool.aclose()
        await server.close()


async def test_a_long_lived_connection_keeps_few_stream_records():
    # Hundreds of requests beside parked long polls: every answer comes back, and the
    # connection keeps a record of its open streams only (the parked ones).
    async with QueenTestServer(http2=True) as server:
        queues = await _setup(server, 6)
        client = Client(server.url)
        try:
            parked = [asyncio.ensure_future(client.pop(q, 20000)) for q in queues[:5]]
            for i in range(300):
                answer = await asyncio.wait_for(
                    client.push([{"queue": queues[5], "payload": {"i": i}}]), GUARD
                )
                assert answer.status == 200
            (connection,) = client.connections()
            assert len(connection._streams) == 5  # the parked pops, nothing else
            await asyncio.wait_for(
                client.push([{"queue": q, "payload": {}} for q in queues[:5]]), GUARD
            )
            assert [r.status for r in await asyncio.wait_for(asyncio.gather(*parked), GUARD)] \
                == [200] * 5
        finally:
            await client.pool.aclose()


class _CountingTransport:
    def __init__(self, real: Any, writes: List[bytes]) -> None:
        self._real = real
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._real.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


async def test_requests_started_in_one_loop_turn_go_out_in_one_write():
    async with QueenTestServer(http2=True) as server:
        (queue,) = await _setup(server, 1)
        client = Client(server.url)
        try:
            assert (await asyncio.wait_for(client.push([{"queue": queue}]), GUARD)).status == 200
            (connection,) = client.connections()
            writes: List[bytes] = []
            # A stand-in that records each write: uvloop's transports do not let their
            # write method be replaced.
            connection._wire.transport = _CountingTransport(connection._wire.transport, writes)
            tasks = [asyncio.ensure_future(client.send("GET", "/health")) for _ in range(10)]
            await asyncio.sleep(0)  # every task sends its HEADERS in this turn
            await asyncio.sleep(0)  # the flush scheduled by them
            assert len(writes) == 1
            answers = await asyncio.wait_for(asyncio.gather(*tasks), GUARD)
            assert [a.status for a in answers] == [200] * 10
        finally:
            await client.pool.aclose()
