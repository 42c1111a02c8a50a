"""The test broker's HTTP/1.1 server: an asyncio ``Protocol`` around the httptools parser.

Parsing is httptools' job; writing is ours, because the point is to reproduce the bytes of
the real 0.15 broker (uWebSockets v20), quirks included:

* every response is ``status line, engine headers, Date, uWebSockets: 20, Content-Length``
  (also ``Content-Length: 0``), written with one ``transport.write``;
* the status line carries the engine's reason (``404 File Not Found``) and a 204 carries a
  body when the engine gives one (quirk Q4, byte-exact);
* keep-alive; no pipelining behind a database-backed ("deferred") request: a request that
  arrives while a deferred response is pending closes the connection at once and nothing is
  sent for either (§1.1, Q40). Pipelined requests behind immediate ones are answered in order;
* an idle keep-alive socket is closed ``idle_timeout`` seconds after its last response
  (about 12 s after connect for a socket that never sent a request); there is no timeout
  while a request is pending;
* an HTTP/2 prior-knowledge preface drops the connection, unless h2c is enabled on the
  listener, in which case the socket is handed to :mod:`queen.testing._h2c`;
  ``Upgrade: h2c`` is ignored;
* a client disconnect cancels the pending engine call.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import deque
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Coroutine, Deque, Dict, List, Optional, Set, Tuple
from urllib.parse import unquote_to_bytes

import httptools

from ._faults import FaultRule, Faults
from ._wire import Request, Response

if TYPE_CHECKING:
    from ._engine import Broker

__all__ = [
    "H2_PREFACE",
    "Connection",
    "H1Protocol",
    "ListenerContext",
    "dispatch",
    "http_date",
    "spawn",
]

log = logging.getLogger("queen.testing")

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_PREFACE_LEN = len(H2_PREFACE)
_MAX_REQUEST_LINE = 1 << 16  # a longer request line without its end closes the connection

_Handler = Coroutine[Any, Any, None]

if sys.version_info >= (3, 12):

    def spawn(loop: asyncio.AbstractEventLoop, coro: _Handler) -> asyncio.Task[None]:
        """Run a request handler as an eager task: an engine call that does not need to wait
        completes (and its response is written) without a trip through the event loop."""
        return asyncio.Task(coro, loop=loop, eager_start=True)

else:

    def spawn(loop: asyncio.AbstractEventLoop, coro: _Handler) -> asyncio.Task[None]:
        """Run a request handler as a task (eager tasks need Python 3.12)."""
        return loop.create_task(coro)


_date_second = -1
_date_value = ""


def http_date() -> str:
    """The ``Date`` header value, formatted once per second like uWebSockets does."""
    global _date_second, _date_value
    now = int(time.time())
    if now != _date_second:
        _date_value = formatdate(now, usegmt=True)
        _date_second = now
    return _date_value


class Connection:
    """What a listener needs from each of its connections (HTTP/1.1 or h2c)."""

    def shutdown(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ListenerContext:
    """Per-listener state shared by its connections: engine, faults, options and counters."""

    def __init__(
        self,
        broker: Broker,
        index: int,
        faults: Faults,
        *,
        http2: bool = False,
        idle_timeout: float = 10.0,
        connect_timeout: Optional[float] = None,
    ) -> None:
        self.broker = broker
        self.index = index
        self.faults = faults
        self.http2 = http2
        self.idle_timeout = idle_timeout
        # The real broker drops a socket that never sent a request about 12 s after connect,
        # a little later than an idle one after its last response.
        self.connect_timeout = idle_timeout * 1.2 if connect_timeout is None else connect_timeout
        self.connections: Set[Connection] = set()
        self.accepted_connections = 0
        self.requests_served = 0


_JSON = ("Content-Type", "application/json")
_DROP = None  # dispatch() result meaning "close without a response"
_BAD_REQUEST_LINE = (
    b"HTTP/1.1 505 HTTP Version Not Supported\r\nConnection: close\r\n\r\n"
    b"<h1>HTTP Version Not Supported</h1><p>This server does not support HTTP/1.0.</p>"
    b"<hr><i>uWebSockets/20 Server</i>"
)


async def dispatch(ctx: ListenerContext, request: Request) -> Tuple[Optional[Response], bool]:
    """Run one request through the node's faults and the engine.

    Returns ``(response, reset)``; a ``None`` response means "drop the connection" (``reset``
    then says whether to abort it rather than close it cleanly).
    """
    rule: Optional[FaultRule] = None
    if ctx.faults:
        delay, rule = ctx.faults.take(request)
        if delay:
            await asyncio.sleep(delay)
        if rule is not None and not rule.after_processing:
            if rule.response is not None:
                return rule.response, False
            return _DROP, rule.reset
    try:
        response = await ctx.broker.handle(request, node=ctx.index)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # an engine bug must not hang the client
        log.exception("engine failed on %s %s", request.method, request.path)
        body = ('{"error":' + _json_str(repr(exc)) + "}").encode()
        response = Response(500, body, [_JSON], "Internal Server Error")
    if rule is not None:  # drop after processing
        return _DROP, rule.reset
    return response, False


def _json_str(text: str) -> str:
    import json

    return json.dumps(text)


def serialize(response: Response, date: str) -> bytes:
    """The exact bytes uWebSockets v20 writes for this response."""
    body = response.body
    extra = "".join([f"{k}: {v}\r\n" for k, v in response.headers]) if response.headers else ""
    head = (
        f"HTTP/1.1 {response.status} {response.reason}\r\n{extra}Date: {date}\r\n"
        f"uWebSockets: 20\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body if body else head


class H1Protocol(asyncio.Protocol, Connection):
    """One HTTP/1.1 connection of a listener."""

    def __init__(self, ctx: ListenerContext) -> None:
        self._ctx = ctx
        self._loop = asyncio.get_running_loop()
        self._transport: Optional[asyncio.Transport] = None
        self._parser: Optional[httptools.HttpRequestParser] = None
        self._sniff = b""
        # The message being parsed.
        self._in_message = False
        self._line = b""  # the start of a request line still waiting for its end
        self._escaped = False  # its URL was percent-escaped for the parser (_escape_line)
        self._url: List[bytes] = []
        self._headers: Dict[str, str] = {}
        self._body: List[bytes] = []
        # Requests received but not answered: the first one is in flight.
        self._pending: Deque[Tuple[Request, bool]] = deque()
        self._task: Optional[asyncio.Task[None]] = None
        self._inflight_deferred: Optional[bool] = None
        self._closed = False
        self._idle_since = 0.0
        self._idle_limit = ctx.connect_timeout
        self._timer: Optional[asyncio.TimerHandle] = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        ctx = self._ctx
        ctx.accepted_connections += 1
        ctx.connections.add(self)
        self._idle_since = self._loop.time()
        self._timer = self._loop.call_later(self._idle_limit, self._on_timer)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._closed = True
        self._ctx.connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._pending.clear()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        if self._parser is None:
            data = self._sniff + data
            n = min(len(data), _PREFACE_LEN)
            if data[:n] == H2_PREFACE[:n]:
                if n < _PREFACE_LEN:
                    self._sniff = data
                    return
                self._switch_to_h2(data)
                return
            self._sniff = b""
            self._parser = httptools.HttpRequestParser(self)
        if not self._in_message:
            data = self._escape_line(data)
            if not data:
                return
        self._feed(data)

    def _escape_line(self, data: bytes) -> bytes:
        """``data`` with the request line it starts with made acceptable to llhttp.

        The real broker (uWebSockets) takes raw UTF-8 in a request target and never decodes
        it; llhttp refuses any byte above 0x7F there. Such a line goes to the parser with
        ``%`` and those bytes percent-escaped, and :meth:`on_message_complete` unescapes the
        URL back to its exact bytes. A request line that arrives in the same read as the end
        of the previous message (pipelining, which no Queen client does) is parsed as is.
        """
        data = self._line + data
        if not data[:1].isalpha():
            return data  # not a request line: the parser refuses it at once
        end = data.find(b"\n")
        if end < 0:
            if len(data) > _MAX_REQUEST_LINE:
                self._close()
                return b""
            self._line = data
            return b""
        self._line = b""
        line = data[:end]
        self._escaped = not line.isascii()
        if self._escaped:
            line = b"".join(b"%%%02X" % b if b >= 0x80 or b == 0x25 else bytes((b,)) for b in line)
        return line + data[end:]

    def _feed(self, data: bytes) -> None:
        parser = self._parser
        assert parser is not None
        while True:
            try:
                parser.feed_data(data)
                return
            except httptools.HttpParserUpgrade as exc:
                # An "Upgrade: h2c" request is served as plain HTTP/1.1; keep parsing what
                # follows it.
                offset = exc.args[0]
                if self._closed or offset >= len(data):
                    return
                data = data[offset:]
            except httptools.HttpParserError:
                if self._headers:
                    self._close()
                else:
                    self._refuse_request_line()
                return

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = True
        self._url = []
        self._headers = {}
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers = self._headers
        if key in headers:
            headers[key] = headers[key] + ", " + text
        else:
            headers[key] = text

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._closed:
            return
        parser = self._parser
        assert parser is not None
        self._in_message = False
        raw = self._url[0] if len(self._url) == 1 else b"".join(self._url)
        if self._escaped:
            raw = unquote_to_bytes(raw)
            self._escaped = False
        # Names travel as raw UTF-8, never percent-decoded (API §1.2).
        path, _, query = raw.decode("utf-8", "surrogateescape").partition("?")
        body = b"".join(self._body) if self._body else b""
        request = Request(parser.get_method().decode("ascii"), path, query, self._headers, body)
        self._headers = {}  # empty again until the next message's first header
        self._ctx.requests_served += 1
        keep_alive = parser.should_keep_alive()
        pending = self._pending
        if pending:
            if self._behind_deferred():
                # A request behind a pending database-backed one: the real broker closes the
                # connection and the pending response is lost too.
                self._close()
                return
            pending.append((request, keep_alive))
            return
        pending.append((request, keep_alive))
        self._start(request)

    # -- request lifecycle -----------------------------------------------------------------

    def _behind_deferred(self) -> bool:
        # Only the request in flight matters here. A deferred request still queued behind an
        # immediate one is checked when it comes up (in ``_run``): the real broker answers the
        # immediate one first, then closes once it parks the deferred one.
        if self._inflight_deferred is None:
            self._inflight_deferred = self._ctx.broker.is_deferred(self._pending[0][0])
        return self._inflight_deferred

    def _start(self, request: Request) -> None:
        self._inflight_deferred = None
        task = spawn(self._loop, self._run(request))
        if not task.done():  # an eager task may already have answered
            self._task = task

    async def _run(self, request: Request) -> None:
        response, reset = await dispatch(self._ctx, request)
        self._task = None
        if self._closed:
            return
        if response is None:
            if reset:
                self._abort()
            else:
                self._close()
            return
        transport = self._transport
        assert transport is not None
        transport.write(serialize(response, http_date()))
        _, keep_alive = self._pending.popleft()
        if not keep_alive:
            self._close()
            return
        if self._pending:
            if len(self._pending) > 1 and self._ctx.broker.is_deferred(self._pending[0][0]):
                # The next queued request is deferred and others were pipelined behind it.
                self._close()
                return
            self._start(self._pending[0][0])
            return
        now = self._loop.time()
        self._idle_since = now
        self._idle_limit = self._ctx.idle_timeout
        timer = self._timer
        if timer is None:
            self._timer = self._loop.call_later(self._idle_limit, self._on_timer)
        elif timer.when() > now + self._idle_limit:
            # Still the (longer) connect timer: bring it forward.
            timer.cancel()
            self._timer = self._loop.call_later(self._idle_limit, self._on_timer)

    def _on_timer(self) -> None:
        # One timer per idle period rather than one per request: it re-arms itself while the
        # connection keeps being used and closes it once it has been idle long enough.
        self._timer = None
        if self._closed or self._pending:
            return
        remaining = self._idle_since + self._idle_limit - self._loop.time()
        if remaining <= 0.001:
            self._close()
        else:
            self._timer = self._loop.call_later(remaining, self._on_timer)

    def _switch_to_h2(self, data: bytes) -> None:
        if not self._ctx.http2:
            self._close()
            return
        from ._h2c import H2Protocol

        transport = self._transport
        assert transport is not None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._closed = True
        self._ctx.connections.discard(self)
        protocol = H2Protocol(self._ctx)
        transport.set_protocol(protocol)
        protocol.take_over(transport, data)

    def _refuse_request_line(self) -> None:
        # What the broker answers a request line it cannot read (a TLS ClientHello from an
        # https:// client included, whose TLS layer then reports a record of the wrong
        # version): a 505, then the connection closes.
        if self._transport is not None:
            self._transport.write(_BAD_REQUEST_LINE)
        self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._task is not None:
                self._task.cancel()
                self._task = None
            if self._transport is not None:
                self._transport.close()

    def _abort(self) -> None:
        if not self._closed:
            self._closed = True
            if self._transport is not None:
                self._transport.abort()

    def shutdown(self) -> None:
        """Close the connection now (listener stop)."""
        if self._transport is not None and not self._transport.is_closing():
            self._closed = True
            if self._task is not None:
                self._task.cancel()
                self._task = None
            self._transport.abort()
