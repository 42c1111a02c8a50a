"""The client's HTTP/2 protocol against a server driven frame by frame (RFC 9113): answers in
every legal shape, flow control both ways, and each kind of server error answered as the RFC
says: a malformed answer resets its own stream only, a protocol error ends the connection with
``GOAWAY`` and its code."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Tuple

import hpack
import pytest
from _rawpeer import GUARD, PeerConnection, RawPeer, raw_frame
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from queen._transport._h2 import H2TransportError

OK = [(":status", "200"), ("content-type", "application/json")]


async def _first(peer: RawPeer, **kw: Any) -> Tuple[PeerConnection, asyncio.Future[Any], int]:
    request = peer.request(**kw)
    conn = await peer.connection()
    await conn.handshake()
    stream_id, _ = await conn.request()
    return conn, request, stream_id


# -- answers in every legal shape ----------------------------------------------------------


async def test_padding_priority_continuation_and_trailers() -> None:
    async with RawPeer() as peer:
        conn, request, sid = await _first(peer)
        block = conn.block([*OK, ("x-long", "v" * 300)])
        conn.send(
            HeadersFrame(sid, block[:10], flags=["PADDED", "PRIORITY"], pad_length=7,
                         depends_on=0, stream_weight=15),
            ContinuationFrame(sid, block[10:100]),
            ContinuationFrame(sid, block[100:], flags=["END_HEADERS"]),
            DataFrame(sid, b'{"a":', flags=["PADDED"], pad_length=20),
            DataFrame(sid, b""),
            DataFrame(sid, b"1}"),
            HeadersFrame(sid, conn.block([("x-trailer", "t")]),
                         flags=["END_HEADERS", "END_STREAM"]),
        )
        response = await asyncio.wait_for(request, GUARD)
        assert response.status == 200
        assert response.body == b'{"a":1}'
        assert response.headers["x-long"] == "v" * 300


async def test_informational_answers_are_skipped() -> None:
    async with RawPeer() as peer:
        conn, request, sid = await _first(peer)
        conn.send(HeadersFrame(sid, conn.block([(":status", "103"), ("link", "</a>")]),
                               flags=["END_HEADERS"]))
        conn.answer(sid, b"[]")
        response = await asyncio.wait_for(request, GUARD)
        assert (response.status, response.body) == (200, b"[]")


async def test_ping_and_settings_are_acknowledged() -> None:
    async with RawPeer() as peer:
        conn, request, sid = await _first(peer)
        conn.send(PingFrame(0, opaque_data=b"12345678"), SettingsFrame(0, settings={0x3: 7}))
        ack = await conn.expect(PingFrame)
        assert "ACK" in ack.flags and ack.opaque_data == b"12345678"
        settings_acks = [f for f in conn.seen if isinstance(f, SettingsFrame) and "ACK" in f.flags]
        while len(settings_acks) < 2:  # the first SETTINGS' and this one's
            frame = await conn.expect(SettingsFrame)
            if "ACK" in frame.flags:
                settings_acks.append(frame)
        conn.answer(sid)
        assert (await asyncio.wait_for(request, GUARD)).status == 200
        (connection,) = peer.pool._connections[("http", "127.0.0.1", peer.port)]
        assert connection.capacity == 7


async def test_the_first_header_block_and_a_table_size_change_say_no_dynamic_table() -> None:
    # Request blocks never use the dynamic table and say so (a size update to 0) at the start
    # of the first block and after the server changes SETTINGS_HEADER_TABLE_SIZE.
    headers = [("authorization", "Bearer s"), ("x-a", "1")]
    async with RawPeer() as peer:
        conn, request, _ = await _first(peer, headers=headers)
        blocks = [conn.seen[-1].data]
        conn.answer(1)
        assert (await asyncio.wait_for(request, GUARD)).status == 200
        for i in range(3):
            if i == 2:
                conn.send(SettingsFrame(0, settings={0x1: 0}))
                while "ACK" not in (await conn.expect(SettingsFrame)).flags:
                    pass
            request = peer.request(headers=headers)
            frame = await conn.expect(HeadersFrame)
            blocks.append(frame.data)
            conn.answer(frame.stream_id)
            assert (await asyncio.wait_for(request, GUARD)).status == 200
    assert blocks[0][0] == 0x20 and blocks[3][0] == 0x20
    assert blocks[1] == blocks[2] and blocks[1][0] != 0x20  # one encoding, reused
    assert blocks[0][1:] == blocks[1]
    decoder = hpack.Decoder()
    decoder.max_allowed_table_size = 0
    for block in blocks:
        fields = decoder.decode(block)  # valid with a table of size 0: nothing was indexed
        assert fields[-2:] == headers
        assert isinstance(fields[-2], hpack.NeverIndexedHeaderTuple)  # h2's rule for credentials
    assert len(decoder.header_table.dynamic_entries) == 0


async def test_a_large_request_header_block_goes_out_in_continuation_frames() -> None:
    async with RawPeer() as peer:
        request = peer.request(headers=[("x-big", "b" * 40_000)])
        conn = await peer.connection()
        await conn.handshake()
        first = await conn.expect(HeadersFrame)
        assert "END_HEADERS" not in first.flags and len(first.data) == 16384
        parts = [first.data]
        while True:
            frame = await conn.expect(ContinuationFrame, 1)
            parts.append(frame.data)
            if "END_HEADERS" in frame.flags:
                break
        assert dict(conn.decoder.decode(b"".join(parts)))["x-big"] == "b" * 40_000
        conn.answer(1)
        assert (await asyncio.wait_for(request, GUARD)).status == 200


# -- flow control ----------------------------------------------------------------------------


async def test_request_bodies_follow_the_server_windows() -> None:
    async with RawPeer() as peer:
        request = peer.request(body=b"a" * 100)
        conn = await peer.connection()
        await conn.handshake({0x4: 10})  # INITIAL_WINDOW_SIZE 10
        await conn.request()
        first = await conn.expect(DataFrame, 1)
        assert first.data == b"a" * 10 and "END_STREAM" not in first.flags
        conn.send(SettingsFrame(0, settings={0x4: 40}))  # +30 for the open stream
        second = await conn.expect(DataFrame, 1)
        assert len(second.data) == 30
        conn.send(WindowUpdateFrame(1, window_increment=1000))
        third = await conn.expect(DataFrame, 1)
        assert len(third.data) == 60 and "END_STREAM" in third.flags
        conn.answer(1)
        assert (await asyncio.wait_for(request, GUARD)).status == 200


async def test_received_data_is_given_back_in_half_window_steps() -> None:
    big = b"z" * (9 << 20)  # more than half of the 16 MiB windows
    async with RawPeer() as peer:
        conn, request, sid = await _first(peer)
        conn.send(HeadersFrame(sid, conn.block(OK), flags=["END_HEADERS"]))
        for at in range(0, len(big), 16384):
            conn.send(DataFrame(sid, big[at:at + 16384]))
        conn.send(DataFrame(sid, b"", flags=["END_STREAM"]))
        response = await asyncio.wait_for(request, GUARD)
        assert response.body == big
        update = await conn.expect(WindowUpdateFrame)
        assert update.stream_id == 0 and update.window_increment >= 8 << 20


# -- malformed answers: their stream only ----------------------------------------------------


def _data_first(conn: PeerConnection, sid: int) -> None:
    conn.send(DataFrame(sid, b"{}", flags=["END_STREAM"]))


def _longer_body(conn: PeerConnection, sid: int) -> None:
    conn.send(HeadersFrame(sid, conn.block([*OK, ("content-length", "2")]), flags=["END_HEADERS"]),
              DataFrame(sid, b"{}  ", flags=["END_STREAM"]))


def _shorter_body(conn: PeerConnection, sid: int) -> None:
    conn.send(HeadersFrame(sid, conn.block([*OK, ("content-length", "9")]), flags=["END_HEADERS"]),
              DataFrame(sid, b"{}", flags=["END_STREAM"]))


def _bad_length(conn: PeerConnection, sid: int) -> None:
    conn.send(HeadersFrame(sid, conn.block([*OK, ("content-length", "x")]),
                           flags=["END_HEADERS", "END_STREAM"]))


def _open_trailers(conn: PeerConnection, sid: int) -> None:
    conn.send(HeadersFrame(sid, conn.block(OK), flags=["END_HEADERS"]),
              HeadersFrame(sid, conn.block([("x-t", "1")]), flags=["END_HEADERS"]))


def _final_informational(conn: PeerConnection, sid: int) -> None:
    conn.send(HeadersFrame(sid, conn.block([(":status", "100")]),
                           flags=["END_HEADERS", "END_STREAM"]))


def _uppercase(conn: PeerConnection, sid: int) -> None:
    conn.send(HeadersFrame(sid, conn.block([(":status", "200"), ("X-Up", "1")]),
                           flags=["END_HEADERS", "END_STREAM"]))


@pytest.mark.parametrize(
    "malformed",
    [_data_first, _longer_body, _shorter_body, _bad_length, _open_trailers,
     _final_informational, _uppercase],
)
async def test_a_malformed_answer_resets_its_stream_only(
    malformed: Callable[[PeerConnection, int], None],
) -> None:
    async with RawPeer() as peer:
        conn, bad, sid = await _first(peer)
        good = peer.request()
        other, _ = await conn.request()
        malformed(conn, sid)
        reset = await conn.expect(RstStreamFrame, sid)
        assert reset.error_code == 1  # PROTOCOL_ERROR
        with pytest.raises(H2TransportError, match="malformed answer"):
            await asyncio.wait_for(bad, GUARD)
        conn.answer(other)
        assert (await asyncio.wait_for(good, GUARD)).status == 200
        third = peer.request()
        sid3, _ = await conn.request()
        conn.answer(sid3)
        assert (await asyncio.wait_for(third, GUARD)).status == 200  # same connection


async def test_frames_for_a_stream_the_client_reset_are_ignored() -> None:
    async with RawPeer() as peer:
        conn, request, sid = await _first(peer)
        request.cancel()
        reset = await conn.expect(RstStreamFrame, sid)
        assert reset.error_code == 8  # CANCEL
        conn.answer(sid, b"late")  # in flight when the reset crossed it
        conn.send(WindowUpdateFrame(sid, window_increment=5), RstStreamFrame(sid, error_code=0))
        again = peer.request()
        sid2, _ = await conn.request()
        conn.answer(sid2)
        assert (await asyncio.wait_for(again, GUARD)).status == 200


async def test_a_reset_stream_fails_only_its_request() -> None:
    async with RawPeer() as peer:
        conn, request, sid = await _first(peer)
        conn.send(RstStreamFrame(sid, error_code=7))  # REFUSED_STREAM
        with pytest.raises(H2TransportError) as info:
            await asyncio.wait_for(request, GUARD)
        assert info.value.not_processed
        again = peer.request()
        sid2, _ = await conn.request()
        conn.answer(sid2)
        assert (await asyncio.wait_for(again, GUARD)).status == 200


# -- protocol errors: the whole connection ---------------------------------------------------

PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, COMPRESSION_ERROR = 1, 3, 6, 9

CASES: List[Any] = [
    ("headers on stream 0", lambda c, s: c.raw(raw_frame(0x1, 0x4, 0, c.block(OK))),
     PROTOCOL_ERROR),
    ("data on an idle stream", lambda c, s: c.raw(raw_frame(0x0, 0, s + 20, b"x")),
     PROTOCOL_ERROR),
    ("headers on a server stream", lambda c, s: c.raw(raw_frame(0x1, 0x4, 2, c.block(OK))),
     PROTOCOL_ERROR),
    ("push promise", lambda c, s: c.raw(raw_frame(0x5, 0x4, s, bytes(4) + c.block(OK))),
     PROTOCOL_ERROR),
    ("continuation alone", lambda c, s: c.raw(raw_frame(0x9, 0x4, s, c.block(OK))),
     PROTOCOL_ERROR),
    ("interrupted header block",
     lambda c, s: c.raw(raw_frame(0x1, 0, s, c.block(OK)) + raw_frame(0x6, 0, 0, bytes(8))),
     PROTOCOL_ERROR),
    ("oversized frame", lambda c, s: c.raw(raw_frame(0x0, 0, s, bytes(16385))),
     FRAME_SIZE_ERROR),
    ("short ping", lambda c, s: c.raw(raw_frame(0x6, 0, 0, bytes(7))), FRAME_SIZE_ERROR),
    ("ping on a stream", lambda c, s: c.raw(raw_frame(0x6, 0, s, bytes(8))), PROTOCOL_ERROR),
    ("ragged settings", lambda c, s: c.raw(raw_frame(0x4, 0, 0, bytes(7))), FRAME_SIZE_ERROR),
    ("settings ack with data", lambda c, s: c.raw(raw_frame(0x4, 0x1, 0, bytes(6))),
     FRAME_SIZE_ERROR),
    ("enable push 2", lambda c, s: c.send(SettingsFrame(0, settings={0x2: 2})),
     PROTOCOL_ERROR),
    ("huge initial window", lambda c, s: c.send(SettingsFrame(0, settings={0x4: 1 << 31})),
     FLOW_CONTROL_ERROR),
    ("tiny max frame size", lambda c, s: c.send(SettingsFrame(0, settings={0x5: 100})),
     PROTOCOL_ERROR),
    ("zero connection window update",
     lambda c, s: c.raw(raw_frame(0x8, 0, 0, bytes(4))), PROTOCOL_ERROR),
    ("connection window overflow",
     lambda c, s: c.send(WindowUpdateFrame(0, window_increment=(1 << 31) - 1)),
     FLOW_CONTROL_ERROR),
    ("short window update", lambda c, s: c.raw(raw_frame(0x8, 0, 0, bytes(3))),
     FRAME_SIZE_ERROR),
    ("short rst_stream", lambda c, s: c.raw(raw_frame(0x3, 0, s, bytes(3))), FRAME_SIZE_ERROR),
    ("short goaway", lambda c, s: c.raw(raw_frame(0x7, 0, 0, bytes(7))), FRAME_SIZE_ERROR),
    ("padding beyond the frame", lambda c, s: c.raw(raw_frame(0x0, 0x8, s, b"\x05ab")),
     PROTOCOL_ERROR),
    ("undecodable header block", lambda c, s: c.raw(raw_frame(0x1, 0x4, s, b"\xff\xff\xff")),
     COMPRESSION_ERROR),
]


@pytest.mark.parametrize(("inject", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_a_protocol_error_ends_the_connection_with_goaway(
    inject: Callable[[PeerConnection, int], None], code: int, caplog: pytest.LogCaptureFixture
) -> None:
    async with RawPeer() as peer:
        conn, request, sid = await _first(peer)
        inject(conn, sid)
        goaway = await conn.expect(GoAwayFrame)
        assert (goaway.error_code, goaway.last_stream_id) == (code, 0)
        with pytest.raises(H2TransportError, match="connection lost"):
            await asyncio.wait_for(request, GUARD)
        assert await conn.closed()
        assert "HTTP/2 protocol error" in caplog.text


async def test_the_server_preface_must_be_settings() -> None:
    async with RawPeer() as peer:
        request = peer.request()
        conn = await peer.connection()
        await asyncio.wait_for(conn.reader.readexactly(24), GUARD)
        await conn.expect(SettingsFrame)
        conn.send(PingFrame(0, opaque_data=bytes(8)))
        goaway = await conn.expect(GoAwayFrame)
        assert goaway.error_code == PROTOCOL_ERROR
        with pytest.raises(H2TransportError):
            await asyncio.wait_for(request, GUARD)
