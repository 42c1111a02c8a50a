"""Header lists of the HTTP/2 route: h2's normalisation and validation, once per distinct list.

The very same h2 (jh2) functions that an ``h2`` connection runs on every request and answer
(``normalize_outbound_headers`` + ``validate_outbound_headers`` for requests,
``normalize_inbound_headers`` + ``validate_headers`` for answers) run here once per distinct
header list and validation flags, and their result is remembered: they are pure functions of
those, and a client sends the same request headers and receives the same answer headers over
and over (only ``content-length`` and ``date`` vary, so the memo stays small). A list h2
rejects raises the same ``ProtocolError`` each time. A request list is remembered as its
encoded HPACK block (``_h2frames.encode_block``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import jh2.connection
import jh2.utilities
from jh2.hpack import HeaderTuple, NeverIndexedHeaderTuple

from ._h2frames import encode_block

__all__ = [
    "REQUEST_FLAGS",
    "RESPONSE_FLAGS",
    "TRAILER_FLAGS",
    "HeaderDecodeError",
    "HeaderPipeline",
    "decode_block",
    "is_informational",
    "new_decoder",
]

HEADER_MEMO = 256  # distinct header lists whose checked form a connection remembers
MAX_HEADER_LIST_SIZE = 1 << 16  # what h2 advertises and enforces by default

_Flags = jh2.utilities.HeaderValidationFlags
REQUEST_FLAGS = _Flags(is_client=True, is_trailer=False, is_response_header=False,
                       is_push_promise=False)
RESPONSE_FLAGS = _Flags(is_client=True, is_trailer=False, is_response_header=True,
                        is_push_promise=False)
# h2 builds these for received trailers (a trailer block is not "response headers": with that
# flag set, the missing :status would reject every trailer block).
TRAILER_FLAGS = _Flags(is_client=True, is_trailer=True, is_response_header=False,
                       is_push_promise=False)

_HPACK_ERRORS = (
    jh2.connection.HPACKError,
    jh2.connection.OversizedHeaderListError,
    IndexError,
    TypeError,
    UnicodeDecodeError,
    ValueError,
)


class HeaderDecodeError(Exception):
    """An answer's header block that HPACK cannot decode (a COMPRESSION_ERROR)."""


def new_decoder() -> Any:
    """jh2's HPACK decoder (compiled when jh2 ships its extension), with h2's limits."""
    decoder = jh2.connection.Decoder()
    decoder.max_header_list_size = MAX_HEADER_LIST_SIZE
    decoder.max_allowed_table_size = 4096  # the default this client never changes
    return decoder


def decode_block(decoder: Any, block: bytes) -> List[Any]:
    """The fields of a header block as the decoder gives them (tuples of bytes)."""
    try:
        return list(decoder.decode(block, raw=True))
    except _HPACK_ERRORS as exc:
        raise HeaderDecodeError(f"Error decoding header block: {exc}") from exc
    except BaseException as exc:
        # jh2's compiled decoder reports some malformed blocks as a panic (h2 does the same).
        if "index out of bounds" in str(exc):
            raise HeaderDecodeError(f"Error decoding header block: {exc}") from exc
        raise


def is_informational(fields: Sequence[Any]) -> bool:
    """A 1xx answer: h2's test (the ``:status`` among the leading pseudo-header fields)."""
    for field in fields:
        name = field[0]
        if not name.startswith(b":"):
            return False
        if name == b":status":
            return bytes(field[1]).startswith(b"1")
    return False


def _tuples(fields: Sequence[Any]) -> List[Any]:
    # The compiled decoder gives (name, value, never-indexed) triples; h2's functions take
    # HeaderTuple / NeverIndexedHeaderTuple, as h2's own decoding makes them.
    return [
        (NeverIndexedHeaderTuple(f[0], f[1]) if f[2] else HeaderTuple(f[0], f[1]))
        if len(f) == 3
        else f
        for f in fields
    ]


class HeaderPipeline:
    """h2's header rules for one connection, remembered per distinct header list."""

    __slots__ = ("_memo",)

    def __init__(self) -> None:
        self._memo: Dict[Tuple[Any, ...], Any] = {}

    def _remember(self, key: Tuple[Any, ...], value: Any) -> Any:
        if len(self._memo) >= HEADER_MEMO:
            self._memo.clear()
        self._memo[key] = value
        return value

    def request_block(self, headers: Tuple[Tuple[str, str], ...]) -> bytes:
        """The HPACK block of a request header list, normalised and validated by h2."""
        done = self._memo.get(headers)
        if done is None:
            u = jh2.utilities
            checked = u.validate_outbound_headers(
                u.normalize_outbound_headers(headers, REQUEST_FLAGS, False), REQUEST_FLAGS
            )
            done = self._remember(headers, encode_block(list(checked)))
        return done

    def inbound(self, fields: Sequence[Any], flags: Any) -> List[Any]:
        """``[status, {lower-case name: value}]`` of a received header list (repeated names
        joined with ``", "``); the status is 0 in trailers. Raises h2's ``ProtocolError`` for
        a list h2 rejects."""
        key = (flags, *fields)
        done = self._memo.get(key)
        if done is None:
            u = jh2.utilities
            status = 0
            out: Dict[str, str] = {}
            for name, value in u.validate_headers(
                u.normalize_inbound_headers(_tuples(fields), flags), flags
            ):
                text = name.decode("latin-1")
                if text == ":status":
                    status = int(value)
                elif text in out:
                    out[text] += ", " + value.decode("latin-1")
                else:
                    out[text] = value.decode("latin-1")
            done = self._remember(key, [status, out])
        return done

