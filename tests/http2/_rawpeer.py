"""An h2c server that a test drives frame by frame, for what well-behaved servers never send."""

from __future__ import annotations

import asyncio
import struct
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, TypeVar

import hpack
from hyperframe.frame import (
    DataFrame,
    Frame,
    HeadersFrame,
    SettingsFrame,
)

from queen._transport._h2 import H2Pool

GUARD = 10.0  # seconds: a hang guard, not a performance bound
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

F = TypeVar("F", bound=Frame)


def raw_frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """A frame written by hand (hyperframe refuses to build malformed ones)."""
    n = len(payload)
    return struct.pack(">HBBBL", n >> 8, n & 0xFF, kind, flags, stream_id) + payload


class PeerConnection:
    """The server end of one client connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.seen: List[Frame] = []  # every frame read from the client, in order

    async def handshake(self, settings: Optional[Dict[int, int]] = None) -> SettingsFrame:
        assert await asyncio.wait_for(self.reader.readexactly(len(PREFACE)), GUARD) == PREFACE
        client_settings = await self.expect(SettingsFrame)
        self.send(SettingsFrame(0, settings=settings or {}), SettingsFrame(0, flags=["ACK"]))
        return client_settings

    async def next_frame(self) -> Frame:
        head = await asyncio.wait_for(self.reader.readexactly(9), GUARD)
        frame, length = Frame.parse_frame_header(memoryview(head))
        frame.parse_body(memoryview(await asyncio.wait_for(self.reader.readexactly(length), GUARD)))
        self.seen.append(frame)
        return frame

    async def expect(self, kind: Type[F], stream_id: Optional[int] = None) -> F:
        """The next frame of this type (and stream), skipping others."""
        while True:
            frame = await self.next_frame()
            if isinstance(frame, kind) and (stream_id is None or frame.stream_id == stream_id):
                return frame

    async def request(self, stream_id: Optional[int] = None) -> Tuple[int, List[Tuple[str, str]]]:
        """The next request's stream id and decoded header list."""
        frame = await self.expect(HeadersFrame, stream_id)
        fields = self.decoder.decode(frame.data)
        return frame.stream_id, [(str(n), str(v)) for n, v in fields]

    def block(self, fields: Sequence[Tuple[str, str]]) -> bytes:
        return self.encoder.encode(list(fields))  # type: ignore[no-any-return]

    def answer(self, stream_id: int, body: bytes = b"{}", status: str = "200") -> None:
        headers = HeadersFrame(stream_id, self.block([(":status", status)]), flags=["END_HEADERS"])
        self.send(headers, DataFrame(stream_id, body, flags=["END_STREAM"]))

    def send(self, *frames: Frame) -> None:
        self.writer.write(b"".join(frame.serialize() for frame in frames))

    def raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def closed(self) -> bool:
        """Whether the client closed the connection (reading on until it does)."""
        try:
            while True:
                await self.next_frame()
        except (asyncio.IncompleteReadError, ConnectionError):
            return True


class RawPeer:
    """An h2c listener whose connections the test drives; a client pool for it."""

    def __init__(self) -> None:
        self._server: Optional[asyncio.AbstractServer] = None
        self._accepted: asyncio.Queue[PeerConnection] = asyncio.Queue()
        self.port = 0
        self.pool = H2Pool(None)

    async def __aenter__(self) -> RawPeer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.pool.aclose()
        assert self._server is not None
        self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._accepted.put(PeerConnection(reader, writer))

    async def connection(self) -> PeerConnection:
        return await asyncio.wait_for(self._accepted.get(), GUARD)

    def request(
        self, path: str = "/x", body: Optional[bytes] = None,
        headers: Sequence[Tuple[str, str]] = (),
    ) -> asyncio.Future[Any]:
        return asyncio.ensure_future(self.pool.request(
            ("http", "127.0.0.1", self.port), "POST" if body is not None else "GET",
            f"127.0.0.1:{self.port}", path, list(headers), body,
        ))
