"""TLS in front of the test broker, in process: configuration errors and raw names.

A configuration error (an untrusted certificate, ``https://`` to a plain-HTTP port,
``http://`` to a TLS port) is raised at once, not retried, and ``consume()`` raises it. Over
``https://`` with HTTP/1.1, a name outside printable ASCII still travels raw (h11 refuses it,
so the client sends it on its own HTTP/1.1 route).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import Any, AsyncIterator, List, Optional

import httpx
import pytest
from _ingress import Pki, make_pki

from queen import Queen, QueenConnectionError
from queen.testing import QueenTestServer

GUARD = 20.0  # seconds: a hang guard, not a performance bound


class TlsFront:
    """A TLS listener that pipes each connection to ``target_port`` (ALPN: HTTP/1.1 only)."""

    def __init__(self, pki: Pki, target_port: int) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(pki.server_cert, pki.server_key)
        self.context.set_alpn_protocols(["http/1.1"])
        self.target_port = target_port
        self.server: Optional[asyncio.AbstractServer] = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.context
        )
        port = self.server.sockets[0].getsockname()[1]
        return f"https://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture
async def broker() -> AsyncIterator[QueenTestServer]:
    async with QueenTestServer() as server:
        yield server


@pytest.fixture
async def front(pki: Pki, broker: QueenTestServer) -> AsyncIterator[TlsFront]:
    port = int(broker.url.rsplit(":", 1)[1])
    tls = TlsFront(pki, port)
    tls.url = await tls.start()  # type: ignore[attr-defined]
    yield tls
    await tls.stop()


def _client(url: Any, **options: Any) -> Queen:
    options.setdefault("handle_signals", False)
    options.setdefault("retry_delay_millis", 50)
    options.setdefault("retry_attempts", 5)
    return Queen(url, **options)


async def _raises_config_error(
    queen: Queen, match: str, caplog: pytest.LogCaptureFixture
) -> QueenConnectionError:
    caplog.set_level(logging.WARNING, logger="queen.client")
    with pytest.raises(QueenConnectionError, match=match) as info:
        await asyncio.wait_for(queen.queue("cfg").create(), GUARD)
    assert info.value.retriable is False
    # Raised at once: neither retried nor failed over.
    operations = {getattr(r, "queen_operation", None) for r in caplog.records}
    assert not operations & {"HttpClient.retry", "HttpClient.failover"}
    return info.value


async def test_an_untrusted_certificate_fails_at_once(
    front: TlsFront, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    async with _client(front.url) as queen:  # type: ignore[attr-defined]
        error = await _raises_config_error(queen, "certificate verification failed", caplog)
        assert "tls_ca_bundle" in str(error)
        assert isinstance(error, httpx.ConnectError)  # the handshake is part of connecting
    async with _client(front.url, tls_ca_bundle=pki.ca) as queen:  # type: ignore[attr-defined]
        assert (await queen.queue("cfg").create())["configured"] is True


async def test_https_to_a_plain_http_port_fails_at_once(
    broker: QueenTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    https = broker.url.replace("http://", "https://")
    async with _client(https) as queen:
        error = await _raises_config_error(
            queen, "does not speak TLS on this port; use an http:// URL", caplog
        )
    assert isinstance(error, httpx.ConnectError)
    assert broker.nodes[0].accepted_connections == 1


async def test_a_configuration_error_skips_failover(caplog: pytest.LogCaptureFixture) -> None:
    async with QueenTestServer(nodes=3) as cluster:
        urls = [u.replace("http://", "https://") for u in cluster.urls]
        async with _client(urls) as queen:
            await _raises_config_error(queen, "does not speak TLS", caplog)
        assert sum(node.accepted_connections for node in cluster.nodes) == 1


async def test_http_to_a_tls_port_names_https(caplog: pytest.LogCaptureFixture) -> None:
    # A TLS server answers a plaintext request with a TLS alert record.
    seen: List[bytes] = []

    async def tls_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(100))
        writer.write(b"\x15\x03\x03\x00\x02\x02\x46")  # alert: protocol_version
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(tls_only, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with _client(f"http://127.0.0.1:{port}") as queen:
            await _raises_config_error(queen, "answered with TLS: use an https:// URL", caplog)
        assert len(seen) == 1
    finally:
        server.close()


async def test_consume_raises_a_configuration_error(broker: QueenTestServer) -> None:
    handled: List[Any] = []
    async with _client(broker.url.replace("http://", "https://")) as queen:
        with pytest.raises(QueenConnectionError, match="does not speak TLS") as info:
            await asyncio.wait_for(queen.queue("cfg").consume(handled.append), GUARD)
    assert info.value.retriable is False and handled == []


@pytest.mark.parametrize("name", ["ümlaut", "日本-😀", "a#b|\"c\"", "100%"])
async def test_raw_names_over_https_http1(front: TlsFront, pki: Pki, name: str) -> None:
    async with _client(front.url, tls_ca_bundle=pki.ca) as queen:  # type: ignore[attr-defined]
        await queen.queue(name).create()
        await queen.queue(name).partition(f"p-{name}").push({"data": {"name": name}})
        (message,) = await queen.queue(name).partition(f"p-{name}").wait(False).pop()
        assert (message["data"], message["partition"]) == ({"name": name}, f"p-{name}")
        assert (await queen.queue(name).delete())["existed"] is True
        assert queen.http_protocols == {front.url: "HTTP/1.1"}  # type: ignore[attr-defined]
