"""Request and response headers on the HTTP/2 route keep h2's normalisation and validation
although the connection runs them once per distinct header list: checked against a bare
``h2`` server that records what it received and answers with chosen headers."""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional, Sequence, Tuple

import h2.config
import h2.connection
import h2.events
import hpack
import pytest
from _peer import serve_h2

from queen._transport._h2 import H2Pool, H2TransportError

GUARD = 10.0  # seconds: a hang guard, not a performance bound


class ScriptedServer:
    """An h2c server answering each request with ``answers[i]`` (response headers, body), and
    keeping the header tuples it decoded (``hpack`` marks never-indexed fields)."""

    def __init__(self, answers: Sequence[Tuple[List[Tuple[bytes, bytes]], bytes]]) -> None:
        self.answers = list(answers)
        self.received: List[List[Any]] = []
        self.connections = 0
        self._server: Optional[asyncio.AbstractServer] = None
        self.port = 0

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        config = h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )

        async def on_event(conn: h2.connection.H2Connection, event: Any) -> None:
            if isinstance(event, h2.events.RequestReceived):
                self.received.append(list(event.headers))
                headers, body = self.answers[len(self.received) - 1]
                conn.send_headers(event.stream_id, headers)
                conn.send_data(event.stream_id, body, end_stream=True)

        await serve_h2(reader, writer, config, on_event)


OK = ([(b":status", b"200"), (b"content-type", b"application/json")], b"{}")


def _request(pool: H2Pool, port: int, body: Optional[bytes] = None) -> Any:
    headers = [("authorization", "Bearer secret"), ("x-custom", "1")]
    return pool.request(("http", "127.0.0.1", port), "POST" if body else "GET",
                        f"127.0.0.1:{port}", "/api/v1/x", headers, body)


async def test_request_headers_are_normalised_on_every_request() -> None:
    async with ScriptedServer([OK] * 3) as server:
        pool = H2Pool(None)
        try:
            for body in (None, None, b'{"a":1}'):
                resp = await asyncio.wait_for(_request(pool, server.port, body), GUARD)
                assert resp.status == 200
        finally:
            await pool.aclose()
    assert server.connections == 1
    for headers in server.received:
        # The credential is kept out of the HPACK dynamic table, every time (h2's rule).
        auth = [h for h in headers if h[0] == b"authorization"]
        assert len(auth) == 1 and isinstance(auth[0], hpack.NeverIndexedHeaderTuple)
        assert auth[0][1] == b"Bearer secret"
        assert headers[0][0] == b":method"
    assert (b"content-length", b"7") in [tuple(h) for h in server.received[2]]
    assert b"content-length" not in [h[0] for h in server.received[0]]


@pytest.mark.parametrize(
    "bad",
    [
        [(b":status", b"200"), (b"connection", b"close")],  # connection-specific
        [(b":status", b"200"), (b"X-Upper", b"1")],  # upper-case name
        [(b"content-type", b"text/plain"), (b":status", b"200")],  # pseudo-header after
        [(b":status", b"200"), (b"x-pad", b" 1")],  # surrounding whitespace
    ],
    ids=["connection", "uppercase", "pseudo-order", "whitespace"],
)
async def test_malformed_response_headers_fail_the_request_every_time(
    bad: List[Tuple[bytes, bytes]],
) -> None:
    # The same malformed block twice (a remembered rejection must reject again), and a good
    # answer on a fresh connection in between.
    async with ScriptedServer([(bad, b"{}"), OK, (bad, b"{}")]) as server:
        pool = H2Pool(None)
        try:
            with pytest.raises(H2TransportError):
                await asyncio.wait_for(_request(pool, server.port), GUARD)
            assert (await asyncio.wait_for(_request(pool, server.port), GUARD)).status == 200
            with pytest.raises(H2TransportError):
                await asyncio.wait_for(_request(pool, server.port), GUARD)
        finally:
            await pool.aclose()
