"""HTTP/2 over TLS with the TLS done by the connection's own wire (asyncio's loops) and by the
event loop's TLS transport (what other loops get): the same answers, the same errors."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import h2.config
import h2.connection
import h2.events
import pytest
from _ingress import Pki, make_pki
from _peer import serve_h2

import queen._transport._h2 as h2_module
from queen._transport._h2 import H2ConnectError, H2Pool, H2TransportError
from queen._transport._h2wire import TlsWire, lean_tls
from queen._transport._tls import TlsOptions, ssl_context

GUARD = 10.0  # seconds: a hang guard, not a performance bound


class EchoServer:
    """An h2 server over TLS answering each request with its body repeated ``echo`` times."""

    def __init__(self, pki: Pki, *, close_notify_after: Optional[int] = None) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(pki.server_cert, pki.server_key)
        self.context.set_alpn_protocols(["h2"])
        self.close_after = close_notify_after
        self.served = 0
        self.server: Optional[asyncio.AbstractServer] = None
        self.port = 0

    async def __aenter__(self) -> EchoServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bodies: dict = {}

        async def on_event(conn: h2.connection.H2Connection, event: Any) -> None:
            if isinstance(event, h2.events.DataReceived):
                bodies.setdefault(event.stream_id, []).append(event.data)
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.served += 1
                if self.close_after is not None and self.served > self.close_after:
                    writer.write(conn.data_to_send())
                    writer.close()  # TLS close_notify, then the socket
                    return
                body = b"".join(bodies.pop(event.stream_id, [])) * 3
                conn.send_headers(event.stream_id, [(":status", "200"),
                                                    ("content-length", str(len(body)))])
                size = conn.max_outbound_frame_size  # the client's windows hold it all
                for at in range(0, len(body), size):
                    conn.send_data(event.stream_id, body[at:at + size],
                                   end_stream=at + size >= len(body))

        config = h2.config.H2Configuration(client_side=False)
        await serve_h2(reader, writer, config, on_event)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture(params=[True, False], ids=["own-tls", "loop-tls"])
def own_tls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if not request.param:
        monkeypatch.setattr(h2_module, "lean_tls", lambda loop: False)
    return bool(request.param)


@pytest.fixture
async def pool(pki: Pki, own_tls: bool) -> AsyncIterator[H2Pool]:
    pool = H2Pool(ssl_context(TlsOptions(ca_bundle=pki.ca), ["h2", "http/1.1"]))
    yield pool
    await pool.aclose()


def _post(pool: H2Pool, port: int, body: bytes) -> Any:
    return pool.request(("https", "localhost", port), "POST", f"localhost:{port}", "/echo",
                        [], body)


async def test_answers_of_many_records_and_many_streams(pool: H2Pool, pki: Pki,
                                                        own_tls: bool) -> None:
    sizes = [1, 100, 5_000, 16_384, 40_000, 60_000]  # answers up to 180 KB: many records
    async with EchoServer(pki) as server:
        answers = await asyncio.wait_for(asyncio.gather(
            *(_post(pool, server.port, bytes([65 + i % 26]) * size)
              for i, size in enumerate(sizes * 5))
        ), GUARD)
    assert [len(a.body) for a in answers] == [3 * s for s in sizes * 5]
    assert all(a.body == a.body[:1] * len(a.body) for a in answers)
    (connection,) = pool._connections[("https", "localhost", server.port)]
    # uvloop's own TLS is compiled and kept: TlsWire serves asyncio's loops only
    expected = own_tls and lean_tls(asyncio.get_running_loop())
    assert isinstance(connection._wire, TlsWire) is expected


async def test_an_untrusted_certificate_fails_the_handshake(pki: Pki, own_tls: bool) -> None:
    pool = H2Pool(ssl_context(TlsOptions(ca_bundle=pki.other_ca), ["h2", "http/1.1"]))
    try:
        async with EchoServer(pki) as server:
            with pytest.raises(H2ConnectError) as info:
                await asyncio.wait_for(_post(pool, server.port, b"x"), GUARD)
        assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    finally:
        await pool.aclose()


async def test_a_server_that_drops_the_handshake(pool: H2Pool) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(10)
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(H2ConnectError) as info:
            await asyncio.wait_for(_post(pool, port, b"x"), GUARD)
        assert isinstance(info.value.__cause__, (ssl.SSLError, ConnectionError))
    finally:
        server.close()


async def test_close_notify_from_the_server_ends_the_connection(pool: H2Pool, pki: Pki) -> None:
    async with EchoServer(pki, close_notify_after=1) as server:
        assert (await asyncio.wait_for(_post(pool, server.port, b"ok"), GUARD)).body == b"ok" * 3
        with pytest.raises(H2TransportError):
            await asyncio.wait_for(_post(pool, server.port, b"lost"), GUARD)
        (connection,) = pool._connections[("https", "localhost", server.port)]
        assert connection.closed


def test_own_tls_on_asyncio_loops_only() -> None:
    class OtherLoop(asyncio.AbstractEventLoop):  # uvloop's Loop is one of these
        pass

    loop = asyncio.new_event_loop()
    try:
        assert lean_tls(loop) is True
    finally:
        loop.close()
    assert lean_tls(OtherLoop()) is False

