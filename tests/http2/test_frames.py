"""The HTTP/2 wire helpers: frames cut from any split of the bytes, and request header blocks
that decode to their header list whatever the decoder's dynamic table holds."""

from __future__ import annotations

import struct
from typing import List, Tuple

import hpack
import pytest
from hyperframe.frame import DataFrame
from hypothesis import given, settings
from hypothesis import strategies as st
from jh2.hpack import NeverIndexedHeaderTuple

from queen._transport import _h2frames as f
from queen._transport._h2headers import decode_block, new_decoder

FRAMES = st.lists(
    st.tuples(st.integers(0, 12), st.integers(0, 255), st.integers(0, (1 << 31) - 1),
              st.binary(max_size=300)),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(frames=FRAMES, cuts=st.lists(st.integers(0, 3000), max_size=6))
def test_the_reader_cuts_frames_from_any_split(
    frames: List[Tuple[int, int, int, bytes]], cuts: List[int]
) -> None:
    wire = b"".join(f.frame(k, fl, sid, p) for k, fl, sid, p in frames)
    reader = f.FrameReader()
    got = []
    at = 0
    for cut in [*sorted(c for c in cuts if c <= len(wire)), len(wire)]:
        got.extend(reader.feed(wire[at:cut]))
        at = cut
    assert got == [(k, fl, sid, p) for k, fl, sid, p in frames]


@given(sid=st.integers(1, (1 << 31) - 1), payload=st.binary(max_size=300), end=st.booleans())
def test_frames_are_laid_out_as_hyperframe_lays_them_out(
    sid: int, payload: bytes, end: bool
) -> None:
    flags = ["END_STREAM"] if end else []
    assert f.frame(f.DATA, f.END_STREAM if end else 0, sid, payload) == DataFrame(
        sid, payload, flags=flags
    ).serialize()
    head = f.frame_head(f.DATA, 0, sid, len(payload))
    assert head + payload == DataFrame(sid, payload).serialize()


def test_the_reader_refuses_an_oversized_frame_from_its_header() -> None:
    reader = f.FrameReader()
    head = struct.pack(">HBBBL", 16385 >> 8, 16385 & 0xFF, 0, 0, 1)
    with pytest.raises(f.FrameTooLarge):
        reader.feed(head)  # before any of its payload
    assert f.FrameReader().feed(f.frame(0, 0, 1, bytes(16384)))[0][3] == bytes(16384)


NAMES = st.sampled_from([":method", ":path", ":authority", ":scheme", "content-type",
                         "authorization", "cookie", "accept", "x-custom", "content-length"])
VALUES = st.sampled_from(["GET", "POST", "/", "/index.html", "http", "https", "", "gzip, deflate",
                          "application/json"]) | st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200
) | st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(fields=st.lists(st.tuples(NAMES | st.text("abcxyz-", min_size=1, max_size=30), VALUES,
                                 st.booleans()), max_size=12),
       noise=st.lists(st.tuples(st.text("abc", min_size=1, max_size=5), st.text(max_size=5)),
                      max_size=5))
def test_request_blocks_decode_the_same_whatever_the_table_holds(
    fields: List[Tuple[str, str, bool]], noise: List[Tuple[str, str]]
) -> None:
    headers = [NeverIndexedHeaderTuple(n, v) if secret else (n, v) for n, v, secret in fields]
    try:
        block = f.encode_block(headers)
    except UnicodeEncodeError:
        return  # a lone surrogate has no UTF-8 form (h2 fails on it too)
    expected = [(n.encode(), v.encode()) for n, v, _ in fields]
    # A decoder whose dynamic table already holds entries (from earlier answers' encoders)
    # reads the block the same: it refers to the static table only.
    for prime in (False, True):
        decoder = hpack.Decoder()
        if prime:
            decoder.decode(hpack.Encoder().encode(noise or [("a", "b")]))
        before = list(decoder.header_table.dynamic_entries)
        decoded = decoder.decode(block, raw=True)
        assert [(n, v) for n, v in decoded] == expected
        assert [isinstance(h, hpack.NeverIndexedHeaderTuple) for h in decoded] == [
            secret for _, _, secret in fields
        ]
        assert list(decoder.header_table.dynamic_entries) == before  # nothing indexed
    assert [tuple(x[:2]) for x in decode_block(new_decoder(), block)] == expected
    # led by a table size update to 0, as the first block of a connection is
    assert [(n, v) for n, v in hpack.Decoder().decode(f.TABLE_SIZE_ZERO + block, raw=True)] \
        == expected


@pytest.mark.parametrize("size", [0, 7, 14, 15, 127, 128, 16383, 1 << 20])
def test_content_length_fields(size: int) -> None:
    assert hpack.Decoder().decode(f.length_field(size)) == [("content-length", str(size))]


def test_error_names() -> None:
    assert f.error_name(7) == "REFUSED_STREAM" and f.error_name(0x2A) == "0x2a"
