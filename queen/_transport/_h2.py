"""HTTP/2 connections and their pool: a client-side HTTP/2 protocol of our own on asyncio.

The connection speaks exactly what a client of the broker's ingress needs (RFC 9113): its
requests on odd streams, the answers' HEADERS/CONTINUATION/DATA, flow control both ways,
SETTINGS, PING, WINDOW_UPDATE, RST_STREAM and GOAWAY, and the protocol errors a server can
commit, each answered as the RFC says (a stream error resets that stream only; a connection
error sends ``GOAWAY`` and fails every stream). Frames are built and cut in ``_h2frames``;
header lists go through h2's own normalisation and validation functions once per distinct
list (``_h2headers``), and answers through jh2's HPACK decoder. A general-purpose state
machine (h2/jh2) spent most of a request's client CPU on frame objects, transition tables
and events that a client's common frames do not need.

Why not httpcore's HTTP/2: its pool counts an HTTP/2 connection as available whatever the
number of open streams, and a request beyond the peer's ``SETTINGS_MAX_CONCURRENT_STREAMS``
waits on that connection's semaphore. With long-polling consumers holding every stream for up
to 30 s, a push would wait behind them. Here a connection takes at most as many requests as
the peer allows (capped by :data:`MAX_STREAMS_CAP`); beyond that the pool opens another one.

* A connection joins the pool only after the peer's first ``SETTINGS`` frame (the server
  preface), so its stream budget is known before any request is assigned to it. While one
  connection to an origin is opening, other requests for that origin wait for it instead of
  opening their own.
* ``https`` connections offer ``h2`` and ``http/1.1`` by ALPN. When the server picks
  HTTP/1.1, :class:`Http1Negotiated` tells the caller to use its HTTP/1.1 client.
* Cleartext connections send the HTTP/2 preface at once (prior knowledge). A peer that closes
  the connection on the preface (the 0.15 broker itself does) gives
  :class:`PriorKnowledgeRejected`.
* ``GOAWAY``: the connection takes no new streams; streams above the peer's
  ``last_stream_id`` were never processed and fail with ``not_processed`` set, so they can be
  re-sent at once whatever the method. Streams up to it complete normally: the connection
  goes on reading (and sending their bodies) until they are answered, then closes. (nginx
  sends ``GOAWAY`` with requests in flight once a connection has carried
  ``keepalive_requests``, 1000 by default, followed by a ``WINDOW_UPDATE``.)
* A malformed answer (headers h2 rejects, a body that contradicts its ``content-length``,
  DATA before HEADERS, trailers without END_STREAM) fails its request and resets its stream;
  the other streams of the connection go on.
* A cancelled request (its deadline, a stopped consumer) resets its stream.
* An idle connection is closed after ``idle_expiry`` seconds.

Errors leave this module as :class:`H2TransportError` (or ``OSError``/``ssl.SSLError`` from
connecting); ``queen._transport._httpx`` translates them into the Queen error tree.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any, Coroutine, Dict, List, Optional, Sequence, Set, Tuple

from jh2.exceptions import ProtocolError

from . import _h2frames as f
from ._base import RawResponse
from ._h2headers import (
    RESPONSE_FLAGS,
    TRAILER_FLAGS,
    HeaderDecodeError,
    HeaderPipeline,
    decode_block,
    is_informational,
    new_decoder,
)
from ._h2wire import TlsWire, lean_tls
from ._h2wire import Wire as _Wire

__all__ = [
    "MAX_STREAMS_CAP",
    "H2ConnectError",
    "H2Connection",
    "H2Pool",
    "H2TransportError",
    "Http1Negotiated",
    "PriorKnowledgeRejected",
]

log = logging.getLogger("queen.client.transport")

MAX_STREAMS_CAP = 100  # streams per connection even when the peer allows more
WINDOW = 1 << 24  # receive window of the connection and of each stream
OPEN_TIMEOUT_SECONDS = 30.0  # connect, TLS, preface and the peer's SETTINGS
MAX_STREAM_ID = (1 << 31) - 1
_DEFAULT_WINDOW = 65535

Origin = Tuple[str, str, int]  # scheme, host, port

# What this client announces: no server push, its stream limit, large receive windows, and
# h2's header list limit.
_SETTINGS = f.settings([
    (0x2, 0),  # ENABLE_PUSH
    (0x3, MAX_STREAMS_CAP),  # MAX_CONCURRENT_STREAMS
    (0x4, WINDOW),  # INITIAL_WINDOW_SIZE
    (0x6, 1 << 16),  # MAX_HEADER_LIST_SIZE
])
_OPENING = f.PREFACE + _SETTINGS + f.frame(
    f.WINDOW_UPDATE, 0, 0, (WINDOW - _DEFAULT_WINDOW).to_bytes(4, "big")
)
_SETTINGS_ACK = f.frame(f.SETTINGS, f.ACK, 0)
_PROTOCOL_ERROR = 0x1
_FLOW_CONTROL_ERROR = 0x3
_FRAME_SIZE_ERROR = 0x6
_REFUSED_STREAM = 0x7
_CANCEL = 0x8
_COMPRESSION_ERROR = 0x9


class H2TransportError(Exception):
    """A request that got no complete answer over HTTP/2.

    Attributes:
        not_processed: the peer said it did not process the request (``GOAWAY`` above its
            ``last_stream_id``, ``REFUSED_STREAM``), so sending it again is always safe.
        no_response: the connection died before any response byte of this request, on a
            connection that had served requests before (the idle-close race).
    """

    def __init__(self, message: str, *, not_processed: bool = False, no_response: bool = False):
        super().__init__(message)
        self.not_processed = not_processed
        self.no_response = no_response


class H2ConnectError(H2TransportError):
    """The connection could not be opened (refused, unreachable, DNS, the TLS handshake);
    raised from the ``OSError`` that says why."""


class PriorKnowledgeRejected(H2TransportError):
    """The peer closed a cleartext connection on the HTTP/2 preface."""


class Http1Negotiated(Exception):
    """ALPN picked HTTP/1.1: send this origin's requests over HTTP/1.1."""


class _ConnectionError(Exception):
    """The peer broke the protocol: the connection ends with ``GOAWAY`` (RFC 9113 §5.4.1)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} ({f.error_name(code)})")
        self.code = code


class _StreamError(Exception):
    """One stream's answer broke the protocol: that stream is reset (RFC 9113 §5.4.2)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Stream:
    __slots__ = ("body", "done", "end_sent", "expected", "headers", "received", "send_window",
                 "unacked", "window")

    def __init__(self, loop: asyncio.AbstractEventLoop, send_window: int) -> None:
        self.headers: Optional[List[Any]] = None  # [status, fields] (HeaderPipeline.inbound)
        self.body: List[bytes] = []
        self.done: asyncio.Future[None] = loop.create_future()
        self.window: Optional[asyncio.Event] = None  # made when a body waits for credit
        self.send_window = send_window
        self.unacked = 0  # body bytes received and not yet given back by WINDOW_UPDATE
        self.received = 0  # body bytes, against ``expected`` (the answer's content-length)
        self.expected: Optional[int] = None
        self.end_sent = False

    def wake(self) -> None:
        if self.window is not None:
            self.window.set()


class H2Connection:
    """One HTTP/2 connection: frames dispatched to per-stream futures as they arrive."""

    def __init__(self, origin: Origin, wire: _Wire) -> None:
        self.origin = origin
        self._wire = wire
        self._loop = asyncio.get_running_loop()
        self._streams: Dict[int, _Stream] = {}  # open streams, by id
        self.active = 0  # streams assigned by the pool, including ones not yet opened
        self.served = 0  # requests completed on this connection
        self.closed = False
        self.goaway = False
        self.idle_since = self._loop.time()
        self._error: Optional[H2TransportError] = None
        self._settings = asyncio.Event()
        self._pipeline = HeaderPipeline()
        self._decoder = new_decoder()
        self._reader = f.FrameReader()
        self._out: List[bytes] = []  # frames for the next write
        self._flush_pending = False
        self._next_stream_id = 1
        self._send_window = _DEFAULT_WINDOW  # connection credit for our DATA
        self._unacked = 0  # DATA bytes received and not yet given back by WINDOW_UPDATE
        self._peer_streams = MAX_STREAM_ID  # the peer's MAX_CONCURRENT_STREAMS
        self._peer_window = _DEFAULT_WINDOW  # its INITIAL_WINDOW_SIZE
        self._peer_frame = f.DEFAULT_MAX_FRAME_SIZE  # its MAX_FRAME_SIZE
        self._table_update = True  # a table size update starts the next header block
        self._header_block: Optional[Tuple[int, int, List[bytes]]] = None  # CONTINUATIONs due

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, origin: Origin, ssl_context: Optional[ssl.SSLContext]) -> H2Connection:
        """Connect, negotiate, send the preface and wait for the peer's ``SETTINGS``."""
        scheme, host, port = origin
        tls = scheme == "https"
        loop = asyncio.get_running_loop()
        wire: _Wire
        try:
            if tls and ssl_context is not None and lean_tls(loop):
                _, wire = await loop.create_connection(
                    lambda: TlsWire(loop, ssl_context, host), host, port
                )
                try:
                    await wire.handshake  # type: ignore[attr-defined]
                except BaseException:
                    wire.close()
                    raise
            else:
                _, wire = await loop.create_connection(
                    lambda: _Wire(loop),
                    host,
                    port,
                    ssl=ssl_context if tls else None,
                    server_hostname=host if tls else None,
                )
        except OSError as exc:
            raise H2ConnectError(str(exc) or type(exc).__name__) from exc
        if tls and wire.alpn() != "h2":
            wire.close()
            raise Http1Negotiated()
        self = cls(origin, wire)
        try:
            self._out.append(_OPENING)
            self._write()
            wire.attach(self)
            await self._settings.wait()
        except BaseException:
            await self.aclose()
            raise
        if self._error is not None:
            if not tls and self.served == 0:
                raise PriorKnowledgeRejected(str(self._error))
            raise self._error
        return self

    @property
    def capacity(self) -> int:
        """Streams this connection may carry at once."""
        return max(1, min(self._peer_streams, MAX_STREAMS_CAP))

    @property
    def usable(self) -> bool:
        return not (self.closed or self.goaway)

    # -- requests --------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        authority: str,
        path: str,
        headers: Sequence[Tuple[str, str]],
        body: Optional[bytes],
    ) -> RawResponse:
        """One exchange on a new stream. The caller has reserved it (``active``)."""
        if self._error is not None:
            raise self._error
        if self.goaway:
            raise H2TransportError("HTTP/2 connection is going away", not_processed=True)
        stream_id = self._next_stream_id
        if stream_id > MAX_STREAM_ID:
            self.goaway = True
            raise H2TransportError("stream ids exhausted", not_processed=True)
        block = self._pipeline.request_block(
            ((":method", method), (":scheme", self.origin[0]), (":authority", authority),
             (":path", path), *headers)
        )
        self._next_stream_id = stream_id + 2
        reused = self.served > 0
        if body:
            block += f.length_field(len(body))
        if self._table_update:
            self._table_update = False
            block = f.TABLE_SIZE_ZERO + block
        stream = _Stream(self._loop, self._peer_window)
        self._streams[stream_id] = stream
        try:
            self._send_headers(stream_id, block, not body)
            if body:
                await self._send_body(stream_id, stream, body)  # writes the headers with it
            else:
                stream.end_sent = True
                self._write_soon()
            if self._wire._paused:
                await self._wire.drain()
            await stream.done
        except asyncio.CancelledError:
            self._reset(stream_id)
            raise
        except H2TransportError as exc:
            if reused and stream.headers is None and not exc.not_processed:
                exc = H2TransportError(str(exc), no_response=True)
            raise exc from None
        except OSError as exc:
            self._fail(H2TransportError(f"HTTP/2 connection lost: {exc!r}"))
            raise H2TransportError(
                f"HTTP/2 connection lost: {exc!r}", no_response=reused and stream.headers is None
            ) from exc
        finally:
            self._streams.pop(stream_id, None)
        self.served += 1
        assert stream.headers is not None
        status, fields = stream.headers
        parts = stream.body
        content = parts[0] if len(parts) == 1 else b"".join(parts)
        return RawResponse(status, "", dict(fields), content)

    def _send_headers(self, stream_id: int, block: bytes, end_stream: bool) -> None:
        size = self._peer_frame
        flags = f.END_STREAM if end_stream else 0
        if len(block) <= size:
            self._out.append(f.frame(f.HEADERS, flags | f.END_HEADERS, stream_id, block))
            return
        self._out.append(f.frame(f.HEADERS, flags, stream_id, block[:size]))
        for at in range(size, len(block), size):
            flags = f.END_HEADERS if at + size >= len(block) else 0
            self._out.append(f.frame(f.CONTINUATION, flags, stream_id, block[at:at + size]))

    async def _send_body(self, stream_id: int, stream: _Stream, body: bytes) -> None:
        view = memoryview(body)
        while view:
            if stream.done.done():
                # Answered (early) or failed: ``await stream.done`` tells which; the rest of
                # the body is not sent.
                if stream.done.exception() is None:
                    self._reset(stream_id)
                return
            if self._error is not None:
                raise self._error
            size = min(self._send_window, stream.send_window, self._peer_frame, len(view))
            if size <= 0:
                self._write_soon()  # what is pending (this request's headers) goes out meanwhile
                if stream.window is None:
                    stream.window = asyncio.Event()
                stream.window.clear()
                await stream.window.wait()
                continue
            last = size == len(view)
            chunk = body if size == len(body) else view[:size].tobytes()
            self._send_window -= size
            stream.send_window -= size
            self._out.append(f.frame_head(f.DATA, f.END_STREAM if last else 0, stream_id, size))
            self._out.append(chunk)
            stream.end_sent = last
            view = view[size:]
            self._write_soon()
            if self._wire._paused:
                await self._wire.drain()

    def _reset(self, stream_id: int, code: int = _CANCEL) -> None:
        self._streams.pop(stream_id, None)
        if self.closed:
            return
        self._out.append(f.frame(f.RST_STREAM, 0, stream_id, code.to_bytes(4, "big")))
        try:
            self._write()
        except OSError:
            pass

    # -- the reader ------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        """Bytes from the peer (``b""``: it ended its side of the connection)."""
        if self.closed:
            return
        try:
            if not data:
                raise H2TransportError("the server closed the HTTP/2 connection")
            try:
                frames = self._reader.feed(data)
            except f.FrameTooLarge as exc:
                raise _ConnectionError(_FRAME_SIZE_ERROR, str(exc)) from None
            for kind, flags, stream_id, payload in frames:
                try:
                    self._frame(kind, flags, stream_id, payload)
                except _StreamError as exc:
                    self._stream_error(stream_id, exc)
            if self._out:
                self._write_soon()
        except H2TransportError as exc:
            self._fail(exc)
        except _ConnectionError as exc:
            log.warning(
                "HTTP/2 protocol error on the connection to %s, %d request(s) in flight: %s",
                _origin_text(self.origin),
                len(self._streams),
                exc,
            )
            self._abort(exc)
        except OSError as exc:
            self._fail(H2TransportError(f"HTTP/2 connection lost: {exc!r}"))

    def _on_lost(self, exc: Optional[Exception]) -> None:
        if exc is None:
            self._fail(H2TransportError("the server closed the HTTP/2 connection"))
        else:
            self._fail(H2TransportError(f"HTTP/2 connection lost: {exc!r}"))

    def _frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._header_block is not None and kind != f.CONTINUATION:
            raise _ConnectionError(_PROTOCOL_ERROR, "a header block was interrupted")
        if not self._settings.is_set() and kind != f.SETTINGS and not self.closed:
            raise _ConnectionError(_PROTOCOL_ERROR, "the server preface is not SETTINGS")
        if kind == f.DATA:
            self._on_data_frame(flags, stream_id, payload)
        elif kind == f.HEADERS:
            self._on_headers(flags, stream_id, payload)
        elif kind == f.WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif kind == f.CONTINUATION:
            self._on_continuation(flags, stream_id, payload)
        elif kind == f.RST_STREAM:
            self._on_rst_stream(stream_id, payload)
        elif kind == f.SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif kind == f.PING:
            if stream_id:
                raise _ConnectionError(_PROTOCOL_ERROR, "PING on a stream")
            if len(payload) != 8:
                raise _ConnectionError(_FRAME_SIZE_ERROR, "PING of other than 8 bytes")
            if not flags & f.ACK:
                self._out.append(f.frame(f.PING, f.ACK, 0, payload))
        elif kind == f.GOAWAY:
            self._on_goaway(stream_id, payload)
        elif kind == f.PRIORITY:
            if not stream_id:
                raise _ConnectionError(_PROTOCOL_ERROR, "PRIORITY on stream 0")
            if len(payload) != 5:
                raise _StreamError(_FRAME_SIZE_ERROR, "PRIORITY of other than 5 bytes")
        elif kind == f.PUSH_PROMISE:
            raise _ConnectionError(_PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled")
        # Frames of other types are ignored (§5.5).

    def _closed_stream(self, stream_id: int, what: str) -> None:
        """A frame for a stream that is not open: one this client opened and has closed (or
        reset) is ignored (its frames may still be in flight); any other is an error."""
        if not stream_id:
            raise _ConnectionError(_PROTOCOL_ERROR, f"{what} on stream 0")
        if stream_id % 2 == 0 or stream_id >= self._next_stream_id:
            raise _ConnectionError(_PROTOCOL_ERROR, f"{what} on idle stream {stream_id}")

    @staticmethod
    def _unpad(payload: bytes, flags: int, extra: int = 0) -> bytes:
        """The payload without its padding (and ``extra`` leading bytes of priority)."""
        if flags & f.PADDED:
            if not payload or payload[0] + 1 + extra > len(payload):
                raise _ConnectionError(_PROTOCOL_ERROR, "padding longer than the frame")
            return payload[1 + extra:len(payload) - payload[0]]
        if extra:
            if len(payload) < extra:
                raise _ConnectionError(_FRAME_SIZE_ERROR, "a frame too short for its priority")
            return payload[extra:]
        return payload

    def _on_data_frame(self, flags: int, stream_id: int, payload: bytes) -> None:
        # Received bytes (padding included) are consumed at once and their credit goes back
        # in half-window steps, so the windows never drop below half of WINDOW: a frame
        # (16 KiB at most) cannot overrun them, and there is no overrun to check for.
        size = len(payload)
        if stream_id and size:
            self._unacked += size
            if self._unacked >= WINDOW // 2:
                self._out.append(f.frame(f.WINDOW_UPDATE, 0, 0, self._unacked.to_bytes(4, "big")))
                self._unacked = 0
        data = self._unpad(payload, flags) if flags & f.PADDED else payload
        stream = self._streams.get(stream_id)
        if stream is None:
            self._closed_stream(stream_id, "DATA")
            return
        if stream.headers is None:
            raise _StreamError(_PROTOCOL_ERROR, "DATA before the response headers")
        end = flags & f.END_STREAM
        stream.unacked += size
        if stream.unacked >= WINDOW // 2 and not end:
            self._out.append(
                f.frame(f.WINDOW_UPDATE, 0, stream_id, stream.unacked.to_bytes(4, "big"))
            )
            stream.unacked = 0
        if data:
            stream.body.append(data)
            stream.received += len(data)
            if stream.expected is not None and stream.received > stream.expected:
                raise _StreamError(_PROTOCOL_ERROR, "a body longer than its content-length")
        if end:
            self._end_stream(stream_id, stream)

    def _on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if not stream_id:
            raise _ConnectionError(_PROTOCOL_ERROR, "HEADERS on stream 0")
        block = self._unpad(payload, flags, 5 if flags & f.PRIORITY_FLAG else 0)
        if flags & f.END_HEADERS:
            self._on_header_block(stream_id, flags, block)
        else:
            self._header_block = (stream_id, flags, [block])

    def _on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        pending = self._header_block
        if pending is None or pending[0] != stream_id:
            raise _ConnectionError(_PROTOCOL_ERROR, "CONTINUATION without its HEADERS")
        pending[2].append(payload)
        if flags & f.END_HEADERS:
            self._header_block = None
            self._on_header_block(stream_id, pending[1], b"".join(pending[2]))

    def _on_header_block(self, stream_id: int, flags: int, block: bytes) -> None:
        try:
            fields = decode_block(self._decoder, block)  # always: the table follows the peer
        except HeaderDecodeError as exc:
            raise _ConnectionError(_COMPRESSION_ERROR, str(exc)) from None
        stream = self._streams.get(stream_id)
        if stream is None:
            self._closed_stream(stream_id, "HEADERS")
            return
        end = flags & f.END_STREAM
        if stream.headers is None:
            if is_informational(fields):
                if end:
                    raise _StreamError(_PROTOCOL_ERROR, "END_STREAM on an informational answer")
                self._checked(fields, RESPONSE_FLAGS)
                return
            stream.headers = self._checked(fields, RESPONSE_FLAGS)
            length = stream.headers[1].get("content-length")
            if length is not None:
                try:
                    stream.expected = int(length, 10)
                except ValueError:
                    raise _StreamError(
                        _PROTOCOL_ERROR, f"Invalid content-length header: {length}"
                    ) from None
        elif not end:
            raise _StreamError(_PROTOCOL_ERROR, "trailers without END_STREAM")
        else:
            self._checked(fields, TRAILER_FLAGS)
        if end:
            self._end_stream(stream_id, stream)

    def _checked(self, fields: List[Any], flags: Any) -> List[Any]:
        try:
            return self._pipeline.inbound(fields, flags)
        except ProtocolError as exc:
            raise _StreamError(_PROTOCOL_ERROR, str(exc)) from None

    def _end_stream(self, stream_id: int, stream: _Stream) -> None:
        if stream.expected is not None and stream.received != stream.expected:
            raise _StreamError(_PROTOCOL_ERROR, "a body shorter than its content-length")
        del self._streams[stream_id]
        if not stream.done.done():
            stream.done.set_result(None)

    def _stream_error(self, stream_id: int, exc: _StreamError) -> None:
        stream = self._streams.get(stream_id)
        if stream_id % 2 and stream_id < self._next_stream_id:  # never reset an idle stream
            self._reset(stream_id, exc.code)
        if stream is not None and not stream.done.done():
            stream.done.set_exception(H2TransportError(f"HTTP/2 malformed answer: {exc}"))
            stream.wake()  # a body waiting for flow-control credit stops

    def _on_rst_stream(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise _ConnectionError(_FRAME_SIZE_ERROR, "RST_STREAM of other than 4 bytes")
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            self._closed_stream(stream_id, "RST_STREAM")
            return
        code = int.from_bytes(payload, "big")
        if not stream.done.done():
            stream.done.set_exception(
                H2TransportError(
                    f"HTTP/2 stream reset by the server ({f.error_name(code)})",
                    not_processed=code == _REFUSED_STREAM,
                )
            )
        stream.wake()

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise _ConnectionError(_FRAME_SIZE_ERROR, "WINDOW_UPDATE of other than 4 bytes")
        increment = int.from_bytes(payload, "big") & 0x7FFFFFFF
        if not stream_id:
            if not increment:
                raise _ConnectionError(_PROTOCOL_ERROR, "a connection WINDOW_UPDATE of 0")
            self._send_window += increment
            if self._send_window > f.MAX_WINDOW:
                raise _ConnectionError(_FLOW_CONTROL_ERROR, "the connection window overflowed")
            for open_stream in self._streams.values():
                open_stream.wake()
            return
        stream = self._streams.get(stream_id)
        if stream is None:
            self._closed_stream(stream_id, "WINDOW_UPDATE")
            return
        if not increment:
            raise _StreamError(_PROTOCOL_ERROR, "a stream WINDOW_UPDATE of 0")
        stream.send_window += increment
        if stream.send_window > f.MAX_WINDOW:
            raise _StreamError(_FLOW_CONTROL_ERROR, "the stream window overflowed")
        stream.wake()

    def _on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise _ConnectionError(_PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & f.ACK:
            if payload:
                raise _ConnectionError(_FRAME_SIZE_ERROR, "a SETTINGS acknowledgement with data")
            return
        if len(payload) % 6:
            raise _ConnectionError(_FRAME_SIZE_ERROR, "SETTINGS of a length not a multiple of 6")
        for at in range(0, len(payload), 6):
            code = payload[at] << 8 | payload[at + 1]
            value = int.from_bytes(payload[at + 2:at + 6], "big")
            if code == 0x1:  # HEADER_TABLE_SIZE: our blocks say "no dynamic table" again
                self._table_update = True
            elif code == 0x2 and value > 1:
                raise _ConnectionError(_PROTOCOL_ERROR, "ENABLE_PUSH other than 0 or 1")
            elif code == 0x3:
                self._peer_streams = value
            elif code == 0x4:
                if value > f.MAX_WINDOW:
                    raise _ConnectionError(_FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large")
                delta = value - self._peer_window
                self._peer_window = value
                for stream in self._streams.values():
                    stream.send_window += delta
                    if stream.send_window > f.MAX_WINDOW:
                        raise _ConnectionError(_FLOW_CONTROL_ERROR, "a stream window overflowed")
            elif code == 0x5:
                if not f.DEFAULT_MAX_FRAME_SIZE <= value < 1 << 24:
                    raise _ConnectionError(_PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range")
                self._peer_frame = value
        self._out.append(_SETTINGS_ACK)
        self._settings.set()
        for stream in self._streams.values():
            stream.wake()

    def _on_goaway(self, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise _ConnectionError(_PROTOCOL_ERROR, "GOAWAY on a stream")
        if len(payload) < 8:
            raise _ConnectionError(_FRAME_SIZE_ERROR, "GOAWAY shorter than 8 bytes")
        self.goaway = True
        last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        code = int.from_bytes(payload[4:8], "big")
        log.debug(
            "GOAWAY from %s (last stream %s, %s)", _origin_text(self.origin), last,
            f.error_name(code),
        )
        for sid, stream in list(self._streams.items()):
            if sid > last and not stream.done.done():
                del self._streams[sid]
                stream.done.set_exception(
                    H2TransportError("HTTP/2 GOAWAY: request not processed", not_processed=True)
                )
                stream.wake()
        if not self._streams:
            _background(self.aclose())

    def _abort(self, exc: _ConnectionError) -> None:
        """A connection error: ``GOAWAY`` with its code, then every stream fails."""
        if not self.closed:
            self._out.append(f.frame(
                f.GOAWAY, 0, 0, (0).to_bytes(4, "big") + exc.code.to_bytes(4, "big")
            ))
            try:
                self._write()
            except OSError:
                pass
        self._fail(H2TransportError(f"HTTP/2 connection lost: {exc}"))

    def _fail(self, error: H2TransportError) -> None:
        if self._error is None:
            self._error = error
        self.closed = True
        self._settings.set()
        for stream in self._streams.values():
            if not stream.done.done():
                stream.done.set_exception(error)
            stream.wake()
        self._wire.close()

    def _write_soon(self) -> None:
        """Send what is queued at the end of this loop turn: the frames of the requests and
        answers handled in one turn go out in one write (one TLS record and one system call
        instead of one per request)."""
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        self._write()

    def _write(self) -> None:
        out = self._out
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self._wire.write(data)

    # -- closing ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        if not self.closed:
            self._out.append(f.frame(f.GOAWAY, 0, 0, bytes(8)))  # NO_ERROR
            try:
                self._write()
            except OSError:
                pass
        self._fail(H2TransportError("HTTP/2 connection closed"))
        await asyncio.shield(self._wire.closed)


_closing: Set[asyncio.Task[None]] = set()


def _background(coro: Coroutine[Any, Any, None]) -> None:
    """Close a connection without waiting for it (keeping a reference until it is done)."""
    task = asyncio.get_running_loop().create_task(coro)
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _origin_text(origin: Origin) -> str:
    return f"{origin[0]}://{origin[1]}:{origin[2]}"


class H2Pool:
    """HTTP/2 connections per origin, each within its peer's stream budget.

    Args:
        ssl_context: for ``https`` origins (its ALPN list offers ``h2`` and ``http/1.1``).
        max_connections: HTTP/2 connections per origin at most; beyond that requests wait.
        idle_expiry: seconds after which a connection without streams is closed.
    """

    def __init__(
        self,
        ssl_context: Optional[ssl.SSLContext],
        *,
        max_connections: int = 100,
        idle_expiry: float = 4.0,
    ) -> None:
        self._ssl = ssl_context
        self._max = max(1, max_connections)
        self._idle_expiry = idle_expiry
        self._connections: Dict[Origin, List[H2Connection]] = {}
        self._opening: Dict[Origin, asyncio.Task[H2Connection]] = {}
        self._freed: Dict[Origin, asyncio.Event] = {}
        self._timer: Optional[asyncio.TimerHandle] = None
        self._closed = False

    def connection_count(self, origin: Origin) -> int:
        """Open HTTP/2 connections to ``origin``."""
        return sum(1 for c in self._connections.get(origin, ()) if not c.closed)

    def stream_count(self, origin: Origin) -> int:
        """Requests in flight to ``origin``."""
        return sum(c.active for c in self._connections.get(origin, ()) if not c.closed)

    async def request(
        self,
        origin: Origin,
        method: str,
        authority: str,
        path: str,
        headers: Sequence[Tuple[str, str]],
        body: Optional[bytes],
    ) -> RawResponse:
        """Send one request on a connection with a free stream (opening one if needed)."""
        connection = await self._acquire(origin)
        try:
            return await connection.request(method, authority, path, headers, body)
        finally:
            self._release(connection)

    async def _acquire(self, origin: Origin) -> H2Connection:
        while True:
            if self._closed:
                raise H2TransportError("the client is closed")
            connections = self._connections.setdefault(origin, [])
            best: Optional[H2Connection] = None
            for connection in connections:
                if (
                    connection.usable
                    and connection.active < connection.capacity
                    and (best is None or connection.active > best.active)
                ):
                    best = connection  # fill the busiest one: fewer sockets
            if best is not None:
                best.active += 1
                return best
            connections[:] = [c for c in connections if not c.closed]
            opening = self._opening.get(origin)
            if opening is None and len(connections) < self._max:
                opening = asyncio.get_running_loop().create_task(self._open(origin))
                self._opening[origin] = opening
            if opening is not None:
                await asyncio.shield(opening)  # its error is every waiter's error
                continue
            freed = self._freed.setdefault(origin, asyncio.Event())
            freed.clear()
            await freed.wait()

    async def _open(self, origin: Origin) -> H2Connection:
        try:
            connection = await asyncio.wait_for(
                H2Connection.open(origin, self._ssl), OPEN_TIMEOUT_SECONDS
            )
        except asyncio.TimeoutError as exc:
            raise H2TransportError(
                f"no HTTP/2 connection to {_origin_text(origin)} within {OPEN_TIMEOUT_SECONDS} s"
            ) from exc
        finally:
            self._opening.pop(origin, None)
        self._connections.setdefault(origin, []).append(connection)
        log.debug(
            "HTTP/2 connection %d to %s (max %d concurrent streams)",
            len(self._connections[origin]),
            _origin_text(origin),
            connection.capacity,
        )
        return connection

    def _release(self, connection: H2Connection) -> None:
        connection.active -= 1
        freed = self._freed.get(connection.origin)
        if freed is not None:
            freed.set()
        if connection.active == 0:
            connection.idle_since = asyncio.get_running_loop().time()
            if connection.goaway and not connection.closed:
                _background(connection.aclose())
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self._idle_expiry, self._expire)

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiting = False
        for connections in self._connections.values():
            for connection in connections:
                if connection.active or connection.closed:
                    continue
                if now - connection.idle_since >= self._idle_expiry:
                    connection.goaway = True  # no new streams from here on
                    _background(connection.aclose())
                else:
                    waiting = True
        if waiting:
            self._timer = loop.call_later(self._idle_expiry / 4, self._expire)

    async def aclose(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._opening.values()):
            task.cancel()
        connections = [c for cs in self._connections.values() for c in cs]
        self._connections.clear()
        for event in self._freed.values():
            event.set()
        await asyncio.gather(*(c.aclose() for c in connections), return_exceptions=True)
