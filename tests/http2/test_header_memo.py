"""The HTTP/2 connection's HPACK decoder remembers header blocks only while that cannot change
what they decode to: it must agree with a plain decoder on any sequence of blocks."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import hpack

from queen._transport._h2 import HEADER_MEMO, _MemoDecoder

Headers = Sequence[Tuple[bytes, bytes]]

NGINX = [  # literals without indexing, as nginx sends them
    (b":status", b"200"),
    (b"server", b"nginx/1.22.1"),
    (b"date", b"Tue, 01 Dec 2026 19:24:48 GMT"),
    (b"content-type", b"application/json"),
    (b"content-length", b"471"),
    (b"uwebsockets", b"20"),
]


def _literal(headers: Headers) -> List[hpack.HeaderTuple]:
    return [hpack.NeverIndexedHeaderTuple(k, v) for k, v in headers]


def _pair() -> Tuple[hpack.Decoder, _MemoDecoder]:
    return hpack.Decoder(), _MemoDecoder(hpack.Decoder())


def _same(blocks: List[bytes]) -> None:
    plain, memo = _pair()
    for block in blocks:
        assert memo.decode(block, raw=True) == plain.decode(block, raw=True)
        assert list(memo.header_table.dynamic_entries) == list(plain.header_table.dynamic_entries)
        assert memo.header_table.maxsize == plain.header_table.maxsize


def test_repeated_literal_blocks_decode_once():
    encoder = hpack.Encoder()
    block = encoder.encode(_literal(NGINX))
    plain, memo = _pair()
    first = memo.decode(block, raw=True)
    assert first == plain.decode(block, raw=True)
    assert len(memo._memo) == 1
    again = memo.decode(block, raw=True)
    assert again == first and again is not first
    again.clear()  # the caller's list is its own
    assert memo.decode(block, raw=True) == first


def test_blocks_that_use_the_dynamic_table_are_always_decoded():
    encoder = hpack.Encoder()  # indexes by default: the decoder's table fills up
    inserting = encoder.encode(NGINX)
    blocks = [inserting, inserting, encoder.encode(NGINX), encoder.encode(_literal(NGINX))]
    blocks.append(encoder.encode(NGINX))  # refers to entries added by the first block
    _same(blocks)  # the second ``inserting`` adds its entries again
    memo = _MemoDecoder(hpack.Decoder())
    for block in blocks:
        memo.decode(block, raw=True)
    assert memo._memo == {}


def test_a_table_size_update_is_not_remembered():
    encoder = hpack.Encoder()
    literal = encoder.encode(_literal(NGINX))
    encoder.header_table_size = 0
    with_update = encoder.encode(_literal(NGINX))
    encoder.header_table_size = 4096
    back = encoder.encode(NGINX)
    _same([literal, with_update, literal, back, literal, with_update])


def test_a_literal_block_remembered_before_the_table_filled_is_decoded_again():
    encoder = hpack.Encoder()
    literal = encoder.encode(_literal(NGINX))
    indexed = encoder.encode([(b"x-extra", b"1"), *NGINX])
    _same([literal, indexed, literal, encoder.encode(NGINX), literal])


def test_the_memo_is_bounded():
    encoder = hpack.Encoder()
    _, memo = _pair()
    for n in range(HEADER_MEMO * 2 + 1):
        memo.decode(encoder.encode(_literal([(b"content-length", str(n).encode())])), raw=True)
        assert len(memo._memo) <= HEADER_MEMO
