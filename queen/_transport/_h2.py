"""HTTP/2 connections and their pool, on the ``jh2`` state machine and asyncio streams.

``jh2`` is a maintained fork of ``h2`` (same API under another name) whose HPACK encoder and
decoder are compiled. Header lists are normalised and validated by h2's own functions, but
once per distinct list (see :class:`_HeaderPipeline`) instead of on every request and
response.

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
  ``keepalive_requests``, 1000 by default.)
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

import jh2.config
import jh2.connection
import jh2.errors
import jh2.events
import jh2.exceptions
import jh2.settings
import jh2.utilities

from ._base import RawResponse

__all__ = [
    "MAX_STREAMS_CAP",
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
HEADER_MEMO = 256  # distinct header lists whose normalised form a connection remembers

Origin = Tuple[str, str, int]  # scheme, host, port


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


class PriorKnowledgeRejected(H2TransportError):
    """The peer closed a cleartext connection on the HTTP/2 preface."""


class Http1Negotiated(Exception):
    """ALPN picked HTTP/1.1: send this origin's requests over HTTP/1.1."""


_OPEN = jh2.connection.ConnectionState.CLIENT_OPEN
_IDLE = jh2.connection.ConnectionState.IDLE
_RECV_GOAWAY = jh2.connection.ConnectionInputs.RECV_GOAWAY


class _DrainingStateMachine(jh2.connection.H2ConnectionStateMachine):
    """h2's connection state machine, except that a received ``GOAWAY`` leaves it open.

    h2 moves to ``CLOSED`` on ``GOAWAY`` and then rejects every later frame as a protocol
    error, although the peer goes on answering the streams up to its ``last_stream_id``:
    nginx, at its per-connection request limit, sends its ``GOAWAY`` followed by a
    ``WINDOW_UPDATE`` for the request body of its last stream. Failing the connection there
    loses answers the server has already produced (a pop's messages stay leased to nobody).
    New streams after a ``GOAWAY`` are refused by :class:`H2Connection` instead.
    """

    _transitions = {
        **jh2.connection.H2ConnectionStateMachine._transitions,
        (_IDLE, _RECV_GOAWAY): (None, _IDLE),
        (_OPEN, _RECV_GOAWAY): (None, _OPEN),
    }


class _ClientConnection(jh2.connection.H2Connection):
    """h2's connection, without a walk over every stream for each new one.

    h2 counts the open streams on each new stream (to refuse one beyond the peer's
    ``SETTINGS_MAX_CONCURRENT_STREAMS``) by walking all of them, and drops the closed ones
    during that walk; with 50 long polls parked on a connection, that walk dominated the
    cost of a new stream. While fewer streams than either side's limit are known at all,
    every count is below the limit too and the check passes whatever the exact count, so
    the number of known streams is returned (an upper bound); the full walk, with its
    clean-up, runs once the known streams reach the limit.
    """

    def _open_streams(self, remainder: int) -> int:
        known = len(self.streams)
        limit = min(
            self.local_settings.max_concurrent_streams,
            self.remote_settings.max_concurrent_streams,
        )
        if known < limit:
            return known
        return int(super()._open_streams(remainder))


class _HeaderPipeline:
    """h2's header normalisation and validation, run once per distinct header list.

    The connection is configured not to normalise or validate headers itself; this runs the
    very same h2 functions (``normalize_outbound_headers`` + ``validate_outbound_headers``
    for requests, ``normalize_inbound_headers`` + ``validate_headers`` for responses) and
    remembers their result per (header list, validation flags): they are pure functions of
    those, and a client sends the same request headers and receives the same response
    headers over and over (only ``content-length`` and ``date`` vary, so the memo is
    bounded). A list h2 would reject raises the same ``ProtocolError`` each time.
    """

    __slots__ = ("_memo",)

    def __init__(self) -> None:
        self._memo: Dict[Tuple[Any, ...], List[Any]] = {}

    def _run(self, key: Tuple[Any, ...], make: Any) -> List[Any]:
        done = self._memo.get(key)
        if done is None:
            done = list(make())
            if len(self._memo) >= HEADER_MEMO:
                self._memo.clear()
            self._memo[key] = done
        return done

    def outbound(self, headers: Sequence[Tuple[str, str]]) -> List[Any]:
        key = ("out", *headers)
        u = jh2.utilities
        return self._run(key, lambda: u.validate_outbound_headers(
            u.normalize_outbound_headers(headers, _REQUEST_FLAGS, False), _REQUEST_FLAGS))

    def inbound(self, headers: Sequence[Tuple[bytes, bytes]], flags: Any) -> List[Any]:
        """``[status, {lower-case name: value}]`` of a received header list (repeated names
        joined with ``", "``); the status is 0 in trailers."""
        key = (flags, *headers)
        u = jh2.utilities

        def make() -> List[Any]:
            status = 0
            fields: Dict[str, str] = {}
            for name, value in u.validate_headers(
                u.normalize_inbound_headers(headers, flags), flags
            ):
                text = name.decode("latin-1")
                if text == ":status":
                    status = int(value)
                elif text in fields:
                    fields[text] += ", " + value.decode("latin-1")
                else:
                    fields[text] = value.decode("latin-1")
            return [status, fields]

        return self._run(key, make)


_Flags = jh2.utilities.HeaderValidationFlags
_REQUEST_FLAGS = _Flags(is_client=True, is_trailer=False, is_response_header=False,
                        is_push_promise=False)
_RESPONSE_FLAGS = _Flags(is_client=True, is_trailer=False, is_response_header=True,
                         is_push_promise=False)
_TRAILER_FLAGS = _Flags(is_client=True, is_trailer=True, is_response_header=True,
                        is_push_promise=False)


class _Stream:
    __slots__ = ("body", "done", "headers", "window")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.headers: Optional[List[Any]] = None  # [status, fields] (_HeaderPipeline.inbound)
        self.body: List[bytes] = []
        self.done: asyncio.Future[None] = loop.create_future()
        self.window = asyncio.Event()


class _Wire(asyncio.Protocol):
    """The socket of one HTTP/2 connection. Received bytes go straight to the connection's
    state machine from the event loop's callback (no reader task, no stream buffer); bytes
    that arrive before the connection is attached are kept for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.transport: Optional[asyncio.Transport] = None
        self._sink: Optional[H2Connection] = None
        self._early: List[bytes] = []  # b"" stands for the peer's end of stream
        self._lost: Optional[Tuple[Optional[Exception]]] = None
        self._paused = False
        self._drained: Optional[asyncio.Future[None]] = None
        self.closed: asyncio.Future[None] = loop.create_future()

    def attach(self, sink: H2Connection) -> None:
        self._sink = sink
        early, self._early = self._early, []
        for data in early:
            sink._on_data(data)
        if self._lost is not None:
            sink._on_lost(self._lost[0])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._sink is None:
            self._early.append(data)
        else:
            self._sink._on_data(data)

    def eof_received(self) -> Optional[bool]:
        self.data_received(b"")
        return False  # close the transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self._sink is None:
            self._lost = (exc,)
        else:
            self._sink._on_lost(exc)
        self.resume_writing()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark."""
        if self._paused and not self.closed.done():
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drained)


class H2Connection:
    """One HTTP/2 connection: frames dispatched to per-stream futures as they arrive."""

    def __init__(self, origin: Origin, wire: _Wire, conn: jh2.connection.H2Connection) -> None:
        self.origin = origin
        self._wire = wire
        self._conn = conn
        self._loop = asyncio.get_running_loop()
        self._streams: Dict[int, _Stream] = {}
        self.active = 0  # streams assigned by the pool, including ones not yet opened
        self.served = 0  # requests completed on this connection
        self.closed = False
        self.goaway = False
        self.idle_since = self._loop.time()
        self._error: Optional[H2TransportError] = None
        self._settings = asyncio.Event()
        self._pipeline = _HeaderPipeline()
        self._flush_pending = False

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, origin: Origin, ssl_context: Optional[ssl.SSLContext]) -> H2Connection:
        """Connect, negotiate, send the preface and wait for the peer's ``SETTINGS``."""
        scheme, host, port = origin
        tls = scheme == "https"
        loop = asyncio.get_running_loop()
        transport, wire = await loop.create_connection(
            lambda: _Wire(loop),
            host,
            port,
            ssl=ssl_context if tls else None,
            server_hostname=host if tls else None,
        )
        if tls:
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
                transport.close()
                raise Http1Negotiated()
        config = jh2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            # Done by _HeaderPipeline, with the same functions, once per distinct list.
            normalize_outbound_headers=False,
            validate_outbound_headers=False,
            normalize_inbound_headers=False,
            validate_inbound_headers=False,
        )
        conn = _ClientConnection(config=config)
        conn.state_machine = _DrainingStateMachine()
        conn.local_settings = jh2.settings.Settings(
            client=True,
            initial_values={
                jh2.settings.SettingCodes.ENABLE_PUSH: 0,
                jh2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
                jh2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS_CAP,
            },
        )
        conn.initiate_connection()
        conn.increment_flow_control_window(WINDOW - 65535)
        self = cls(origin, wire, conn)
        try:
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
        return max(1, min(self._conn.remote_settings.max_concurrent_streams, MAX_STREAMS_CAP))

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
        conn = self._conn
        reused = self.served > 0
        stream = _Stream(self._loop)
        try:
            stream_id = conn.get_next_available_stream_id()
        except jh2.exceptions.NoAvailableStreamIDError as exc:
            self.goaway = True
            raise H2TransportError("stream ids exhausted", not_processed=True) from exc
        request_headers = self._pipeline.outbound(
            (
                (":method", method),
                (":scheme", self.origin[0]),
                (":authority", authority),
                (":path", path),
                *headers,
            )
        )
        if body:
            request_headers = [*request_headers, ("content-length", str(len(body)))]
        self._streams[stream_id] = stream
        try:
            conn.send_headers(stream_id, request_headers, end_stream=not body)
            if body:
                await self._send_body(stream_id, stream, body)  # writes the headers with it
            else:
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
        except (OSError, jh2.exceptions.ProtocolError) as exc:
            self._fail(H2TransportError(f"HTTP/2 connection lost: {exc!r}"))
            raise H2TransportError(
                f"HTTP/2 connection lost: {exc!r}", no_response=reused and stream.headers is None
            ) from exc
        finally:
            self._streams.pop(stream_id, None)
        self.served += 1
        assert stream.headers is not None
        status, fields = stream.headers
        return RawResponse(status, "", dict(fields), b"".join(stream.body))

    async def _send_body(self, stream_id: int, stream: _Stream, body: bytes) -> None:
        conn = self._conn
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
            size = min(
                conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size, len(view)
            )
            if size <= 0:
                self._write_soon()  # what is pending (this request's headers) goes out meanwhile
                stream.window.clear()
                await stream.window.wait()
                continue
            chunk = body if size == len(body) else view[:size].tobytes()
            conn.send_data(stream_id, chunk, end_stream=size == len(view))
            view = view[size:]
            self._write_soon()
            if self._wire._paused:
                await self._wire.drain()

    def _reset(self, stream_id: int) -> None:
        if self.closed:
            return
        try:
            self._conn.reset_stream(stream_id, jh2.errors.ErrorCodes.CANCEL)
            self._write()
        except (jh2.exceptions.ProtocolError, OSError):
            pass

    # -- the reader ------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        """Bytes from the peer (``b""``: it ended its side of the connection)."""
        if self.closed:
            return
        try:
            if not data:
                raise H2TransportError("the server closed the HTTP/2 connection")
            self._handle(self._conn.receive_data(data))
            self._write_soon()
        except H2TransportError as exc:
            self._fail(exc)
        except jh2.exceptions.ProtocolError as exc:
            log.warning(
                "HTTP/2 protocol error on the connection to %s, %d request(s) in flight: %r",
                _origin_text(self.origin),
                len(self._streams),
                exc,
            )
            self._fail(H2TransportError(f"HTTP/2 connection lost: {exc!r}"))
        except OSError as exc:
            self._fail(H2TransportError(f"HTTP/2 connection lost: {exc!r}"))

    def _on_lost(self, exc: Optional[Exception]) -> None:
        if exc is None:
            self._fail(H2TransportError("the server closed the HTTP/2 connection"))
        else:
            self._fail(H2TransportError(f"HTTP/2 connection lost: {exc!r}"))

    def _handle(self, events: List[jh2.events.Event]) -> None:
        conn = self._conn
        for event in events:
            if isinstance(event, jh2.events.ResponseReceived):
                headers = self._checked(event.headers, _RESPONSE_FLAGS)
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.headers = headers
            elif isinstance(event, jh2.events.TrailersReceived):
                self._checked(event.headers, _TRAILER_FLAGS)
            elif isinstance(event, jh2.events.InformationalResponseReceived):
                self._checked(event.headers, _RESPONSE_FLAGS)
            elif isinstance(event, jh2.events.DataReceived):
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.body.append(event.data)
                if event.flow_controlled_length:
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, jh2.events.StreamEnded):
                stream = self._streams.get(event.stream_id)
                if stream is not None and not stream.done.done():
                    if stream.headers is None:
                        stream.done.set_exception(
                            H2TransportError("HTTP/2 stream ended without a response")
                        )
                    else:
                        stream.done.set_result(None)
            elif isinstance(event, jh2.events.StreamReset):
                stream = self._streams.get(event.stream_id)
                if stream is not None and not stream.done.done():
                    refused = event.error_code == jh2.errors.ErrorCodes.REFUSED_STREAM
                    stream.done.set_exception(
                        H2TransportError(
                            f"HTTP/2 stream reset by the server ({event.error_code!r})",
                            not_processed=refused,
                        )
                    )
                    stream.window.set()  # a body waiting for flow-control credit stops
            elif isinstance(event, jh2.events.WindowUpdated):
                if event.stream_id:
                    stream = self._streams.get(event.stream_id)
                    if stream is not None:
                        stream.window.set()
                else:
                    for stream in self._streams.values():
                        stream.window.set()
            elif isinstance(event, jh2.events.RemoteSettingsChanged):
                self._settings.set()
                for stream in self._streams.values():
                    stream.window.set()
            elif isinstance(event, jh2.events.ConnectionTerminated):
                self._on_goaway(event)

    def _checked(self, headers: Any, flags: Any) -> List[Any]:
        """Received headers through h2's normalisation and validation; a header list h2
        rejects ends the connection with ``PROTOCOL_ERROR``, as h2 itself would."""
        try:
            return self._pipeline.inbound(headers, flags)
        except jh2.exceptions.ProtocolError:
            try:
                self._conn.close_connection(error_code=jh2.errors.ErrorCodes.PROTOCOL_ERROR)
                self._write()
            except (jh2.exceptions.ProtocolError, OSError):
                pass
            raise

    def _on_goaway(self, event: jh2.events.ConnectionTerminated) -> None:
        self.goaway = True
        last = event.last_stream_id or 0
        log.debug(
            "GOAWAY from %s (last stream %s, %r)", _origin_text(self.origin), last, event.error_code
        )
        for stream_id, stream in self._streams.items():
            if stream_id > last and not stream.done.done():
                stream.done.set_exception(
                    H2TransportError("HTTP/2 GOAWAY: request not processed", not_processed=True)
                )
                stream.window.set()
        if not self._streams:
            _background(self.aclose())

    def _fail(self, error: H2TransportError) -> None:
        if self._error is None:
            self._error = error
        self.closed = True
        self._settings.set()
        for stream in self._streams.values():
            if not stream.done.done():
                stream.done.set_exception(error)
            stream.window.set()
        transport = self._wire.transport
        if transport is not None:
            transport.close()

    def _write_soon(self) -> None:
        """Send what the state machine has queued at the end of this loop turn: the frames of
        the requests and answers handled in one turn go out in one write (one TLS record
        and one system call instead of one per request)."""
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        self._write()

    def _write(self) -> None:
        data = self._conn.data_to_send()
        transport = self._wire.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(data)

    # -- closing ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        if not self.closed:
            try:
                self._conn.close_connection()
                self._write()
            except (jh2.exceptions.ProtocolError, OSError):
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
