"""JSON codec of the hot path: push bodies out, pop answers in, client transaction ids.

This is the documented twin of ``_codec_c.pyx``; both produce byte-identical push bodies and
equal decoded values.

Push item wire form (client contract §4.4), keys in this order::

    {"queue":Q,"partition":P,"payload":X,"transactionId":T[,"traceId":R]}

* payload ``X`` = ``item["data"]`` if the key exists (even when None), else
  ``item["payload"]`` if that key exists, else the whole item dict;
* ``T`` = ``item["transactionId"]`` when truthy (must be a str of at most 255 characters), else
  a fresh UUIDv7;
* ``R`` = ``item["traceId"]`` only when it is a canonical UUID string; anything else is dropped
  and reported through ``on_bad_trace``.

A payload holding a NUL character or a NaN/Infinity float raises :class:`QueenPayloadError`
naming the item's index and the value's path (``queen._payload``), right after the payload is
encoded: before the transaction id is encoded and the trace id looked at.

Payloads are encoded by orjson with non-string dict keys allowed (as the stdlib ``json`` the
reference client used); integers beyond 64 bits fall back to the stdlib encoder with the same
compact separators, so they are not rejected.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple, Type, TypeVar

import orjson

from .._errors import QueenPayloadError, QueenValidationError
from .._items import item_payload
from .._payload import NULL_TOKEN, check_encoded, has_nul_escape, maybe_non_finite

__all__ = ["PushEncoder", "ack_body", "decode_pop", "dumps_payload", "is_uuid", "uuid7"]

_HEX = frozenset("0123456789abcdefABCDEF")
_DASHES = (8, 13, 18, 23)
_MAX_NAME = 255  # the broker stores names and transaction ids as VARCHAR(255)
_OPTIONS = orjson.OPT_NON_STR_KEYS

M = TypeVar("M")


def is_uuid(value: object) -> bool:
    """True for a canonical 8-4-4-4-12 hex UUID string of any version and case."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    for i, ch in enumerate(value):
        if i in _DASHES:
            if ch != "-":
                return False
        elif ch not in _HEX:
            return False
    return True


_uuid_lock = threading.Lock()
_last_ms = 0
_counter = 0
_COUNTER_BITS = 74  # 12 bits of rand_a + 62 bits of rand_b
_COUNTER_MASK = (1 << _COUNTER_BITS) - 1


def uuid7() -> str:
    """A UUIDv7 string (RFC 9562), monotonic within the process.

    Layout: 48-bit Unix milliseconds, version 7, then a 74-bit counter split over ``rand_a``
    (12 bits) and ``rand_b`` (62 bits) around the variant bits. The counter starts at a random
    value with its top bit clear in each new millisecond and increments within one (RFC 9562
    §6.2 method 2); on overflow, or when the clock steps back, the timestamp is carried forward
    so ids never decrease. A process forked from this one continues one millisecond ahead with
    a fresh counter, so parent and child never emit the same id.
    """
    global _last_ms, _counter
    now = time.time_ns() // 1_000_000
    with _uuid_lock:
        if now > _last_ms:
            _last_ms = now
            _counter = int.from_bytes(os.urandom(10), "big") >> 7  # 73 random bits
        else:
            _counter += 1
            if _counter > _COUNTER_MASK:
                _last_ms += 1
                _counter = int.from_bytes(os.urandom(10), "big") >> 7
        ms, counter = _last_ms, _counter
    value = (
        (ms & 0xFFFFFFFFFFFF) << 80
        | 0x7 << 76
        | (counter >> 62) << 64
        | 0b10 << 62
        | (counter & 0x3FFFFFFFFFFFFFFF)
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _reseed_after_fork() -> None:
    # A child must not continue the parent's counter: both would emit the same ids in the same
    # millisecond. It moves one millisecond ahead with a fresh counter (still monotonic for the
    # child), and gets a lock of its own in case another thread held it at fork() time.
    global _uuid_lock, _last_ms, _counter
    _uuid_lock = threading.Lock()
    if _last_ms:
        _last_ms += 1
        _counter = int.from_bytes(os.urandom(10), "big") >> 7


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_after_fork)


def dumps_payload(payload: Any) -> bytes:
    """Compact JSON of a payload; raises :class:`QueenPayloadError` if it has no JSON form."""
    try:
        return orjson.dumps(payload, option=_OPTIONS)
    except TypeError as exc:
        if "Integer exceeds" not in str(exc):
            raise QueenPayloadError(f"Payload is not JSON serialisable: {exc}") from exc
    try:
        return json.dumps(
            payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError) as exc:
        raise QueenPayloadError(f"Payload is not JSON serialisable: {exc}") from exc


class PushEncoder:
    """Encodes push items for one (queue, partition); built once per builder.

    Args:
        queue: the queue name (the builder's; per-item ``queue`` keys are ignored).
        partition: the partition name (likewise).
        on_bad_trace: called with a dropped ``traceId`` value (the client logs a WARNING).
    """

    __slots__ = ("_on_bad_trace", "_prefix", "partition", "queue")

    def __init__(
        self,
        queue: str,
        partition: str,
        on_bad_trace: Optional[Callable[[object], None]] = None,
    ) -> None:
        self.queue = queue
        self.partition = partition
        self._on_bad_trace = on_bad_trace
        self._prefix = (
            b'{"queue":'
            + orjson.dumps(queue)
            + b',"partition":'
            + orjson.dumps(partition)
            + b',"payload":'
        )

    def item(self, item: Any, index: int = 0) -> bytes:
        """The wire JSON of one user item (see the module docstring); ``index`` is its
        position in the push, for error messages."""
        payload = item_payload(item)
        tx = item.get("transactionId")
        if not tx:
            tx = uuid7()
        elif not isinstance(tx, str) or len(tx) > _MAX_NAME:
            raise QueenValidationError(
                f"transactionId must be a string of at most {_MAX_NAME} characters: {tx!r}"
            )
        encoded = dumps_payload(payload)
        # Most payloads have neither "null" nor a backslash (found by memchr). find(), not
        # "in": bytes.__contains__ first tries the needle as an int, at the cost of an error.
        if (encoded.find(NULL_TOKEN) >= 0 and maybe_non_finite(payload)) or (
            encoded.find(b"\\") >= 0 and has_nul_escape(encoded)
        ):
            check_encoded(payload, encoded, index)
        out = self._prefix + encoded + b',"transactionId":' + orjson.dumps(tx)
        trace = item.get("traceId")
        if trace is not None:
            if is_uuid(trace):
                out += b',"traceId":' + orjson.dumps(trace)
            elif self._on_bad_trace is not None:
                self._on_bad_trace(trace)
        return out + b"}"

    def items(self, items: Sequence[Any]) -> List[bytes]:
        """:meth:`item` over a sequence."""
        return [self.item(item, i) for i, item in enumerate(items)]

    @staticmethod
    def body(encoded: Sequence[bytes]) -> bytes:
        """The ``POST /api/v1/push`` body for already encoded items."""
        return b'{"items":[' + b",".join(encoded) + b"]}"


def decode_pop(body: bytes, message_cls: Type[M]) -> Tuple[Any, List[M]]:
    """Decode a pop answer.

    Returns the decoded top-level value (None for an empty body) and its non-null
    ``messages`` entries, each converted by ``message_cls`` (a dict subclass). The converted
    messages replace the entries of the top-level ``messages`` list: the answer holds each
    message once. Raises ``ValueError`` (orjson.JSONDecodeError) on a body that is not JSON.
    """
    if not body:
        return None, []
    top = orjson.loads(body)
    messages = top.get("messages") if isinstance(top, dict) else None
    if not messages or not isinstance(messages, list):
        return top, []
    out: List[M] = []
    for i, m in enumerate(messages):
        if m is not None:
            messages[i] = message = message_cls(m)  # type: ignore[call-arg]
            out.append(message)
    return top, out


def ack_body(
    messages: Sequence[Any], status: Any, error: Optional[str], group: Optional[str]
) -> bytes:
    """The ``POST /api/v1/ack/batch`` body for ``messages`` (client contract §3.3).

    ``{"acknowledgments": [...], "consumerGroup": group}`` with the entries of
    :func:`queen._builders._ids.ack_entries`, serialised like :func:`dumps_payload`. Raises
    what those two raise (``ValueError`` for a message without an address).
    """
    from .._builders._ids import ack_entries

    acks = ack_entries(messages, status, error)
    return dumps_payload({"acknowledgments": acks, "consumerGroup": group})
