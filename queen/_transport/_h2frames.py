"""HTTP/2 on the wire for a client (RFC 9113 §4, §6; RFC 7541): frames out, frames in.

What the connection (``_h2.py``) writes is built here as bytes, and what it reads is cut
into ``(type, flags, stream id, payload)`` tuples; the protocol rules live in the
connection. Request header blocks are HPACK-encoded without ever touching the dynamic table
(static-table entries by index, everything else as literals), so a block means the same to
the server whatever its decoder has seen before: one encoding serves every request with the
same header list, and the connection keeps them. Answers are decoded by jh2's HPACK decoder
(compiled where jh2 ships its extension), whose dynamic table follows the server's encoder.
"""

from __future__ import annotations

import struct
from typing import Any, Dict, List, Sequence, Tuple

from jh2.hpack import NeverIndexedHeaderTuple
from jh2.hpack.table import HeaderTable

__all__ = [
    "ACK",
    "CONTINUATION",
    "DATA",
    "END_HEADERS",
    "END_STREAM",
    "GOAWAY",
    "HEADERS",
    "MAX_WINDOW",
    "PADDED",
    "PING",
    "PREFACE",
    "PRIORITY",
    "PRIORITY_FLAG",
    "PUSH_PROMISE",
    "RST_STREAM",
    "SETTINGS",
    "TABLE_SIZE_ZERO",
    "WINDOW_UPDATE",
    "FrameReader",
    "FrameTooLarge",
    "encode_block",
    "error_name",
    "frame",
    "frame_head",
    "length_field",
    "settings",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (§6).
DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9

# Flags.
END_STREAM = 0x1
ACK = 0x1  # SETTINGS, PING
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

DEFAULT_MAX_FRAME_SIZE = 1 << 14
MAX_WINDOW = (1 << 31) - 1

_ERRORS = (
    "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
    "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
    "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
)


def error_name(code: int) -> str:
    """``REFUSED_STREAM`` for 7, ``0x2a`` for a code RFC 9113 does not name."""
    return _ERRORS[code] if 0 <= code < len(_ERRORS) else hex(code)


_HEAD = struct.Struct(">HBBBL")  # length (24 bits, as 16 + 8), type, flags, stream id
_SETTING = struct.Struct(">HL")


def frame_head(kind: int, flags: int, stream_id: int, length: int) -> bytes:
    """The 9-byte header of a frame whose payload is ``length`` bytes."""
    return _HEAD.pack(length >> 8, length & 0xFF, kind, flags, stream_id)


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return _HEAD.pack(len(payload) >> 8, len(payload) & 0xFF, kind, flags, stream_id) + payload


def settings(values: Sequence[Tuple[int, int]]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(_SETTING.pack(k, v) for k, v in values))


class FrameTooLarge(Exception):
    """A frame longer than the largest this side accepts (a FRAME_SIZE_ERROR)."""


class FrameReader:
    """Cuts the bytes of a connection into frames, keeping an incomplete one for later."""

    __slots__ = ("_rest", "max_size")

    def __init__(self, max_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._rest = b""
        self.max_size = max_size

    def feed(self, data: bytes) -> List[Tuple[int, int, int, bytes]]:
        """The frames completed by ``data``: ``(type, flags, stream id, payload)``.

        Raises:
            FrameTooLarge: a frame header announced more than ``max_size`` bytes (as soon as
                the header is in, before its payload).
        """
        buf = self._rest + data if self._rest else data
        end = len(buf)
        pos = 0
        frames = []
        unpack = _HEAD.unpack_from
        while end - pos >= 9:
            high, low, kind, flags, stream_id = unpack(buf, pos)
            length = high << 8 | low
            if length > self.max_size:
                raise FrameTooLarge(f"a frame of {length} bytes (at most {self.max_size})")
            start = pos + 9
            if end - start < length:
                break
            pos = start + length
            frames.append((kind, flags, stream_id & 0x7FFFFFFF, buf[start:pos]))
        self._rest = buf[pos:] if pos < end else b""
        return frames


# -- HPACK for request header blocks (RFC 7541) ------------------------------------------------

_STATIC_FIELD: Dict[Tuple[bytes, bytes], int] = {}
_STATIC_NAME: Dict[bytes, int] = {}
for _index, (_name, _value) in enumerate(HeaderTable.STATIC_TABLE, start=1):
    _STATIC_FIELD.setdefault((_name, _value), _index)
    _STATIC_NAME.setdefault(_name, _index)

#: A dynamic table size update to 0 (§6.3): this encoder never uses the dynamic table, and
#: says so at the start of the first block and after the server changes its table size.
TABLE_SIZE_ZERO = b"\x20"


def _integer(value: int, prefix_bits: int, pattern: int) -> bytes:
    """An HPACK integer (§5.1) whose first byte carries ``pattern`` above its prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((pattern | value,))
    out = bytearray((pattern | limit,))
    value -= limit
    while value >= 128:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(data: bytes) -> bytes:
    return _integer(len(data), 7, 0x00) + data  # not Huffman-coded


def _bytes(text: Any) -> bytes:
    return text if isinstance(text, bytes) else str(text).encode("utf-8")


def encode_block(headers: Sequence[Any]) -> bytes:
    """An HPACK header block for ``headers`` that leaves the dynamic table alone.

    A field that is a static-table entry is sent as its index (§6.1); any other as a literal
    without indexing (§6.2.2), or never indexed (§6.2.3) when h2's normalisation made it a
    ``NeverIndexedHeaderTuple`` (credentials, short cookies), with the static index of its
    name when there is one. Names and values are UTF-8, as h2 sends ``str`` headers.
    """
    out = []
    for field in headers:
        name = _bytes(field[0])
        value = _bytes(field[1])
        sensitive = isinstance(field, NeverIndexedHeaderTuple)
        if not sensitive:
            index = _STATIC_FIELD.get((name, value))
            if index is not None:
                out.append(_integer(index, 7, 0x80))
                continue
        name_index = _STATIC_NAME.get(name, 0)
        out.append(_integer(name_index, 4, 0x10 if sensitive else 0x00))
        if not name_index:
            out.append(_string(name))
        out.append(_string(value))
    return b"".join(out)


_CONTENT_LENGTH = _integer(_STATIC_NAME[b"content-length"], 4, 0x00)


def length_field(size: int) -> bytes:
    """``content-length: size`` as a literal without indexing (it changes per request)."""
    return _CONTENT_LENGTH + _string(str(size).encode())
