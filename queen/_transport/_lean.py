"""The lean HTTP/1.1 transport: plain ``http://`` on an asyncio ``Protocol``.

The hot path of the client (push, pop, ack) is a small JSON request and a small JSON answer
on a keep-alive connection. httpx spends most of a request's client CPU on per-request model
objects; this transport keeps only what the exchange needs:

* a pool per origin (scheme, host, port) with at most one in-flight request per connection
  (the broker kills a connection that pipelines behind a pending request, API §1.1);
* the request header block of each origin (``Host``, ``Authorization``, custom headers) is
  built once; a request is one ``bytes`` join and one ``transport.write``;
* the answer is parsed by ``httptools`` (llhttp) straight into a dict of lower-case headers
  and a list of body chunks, then handed back as :class:`RawResponse`;
* while an answer is incomplete, the socket's receive low-water mark (``SO_RCVLOWAT``, where
  the platform has it) asks for the rest of its known-length body, or for the shortest head
  seen from the origin, before the next wake-up: the broker writes some heads in dozens of
  small pieces, and each wake-up is a loop turn, a ``recv`` and a copy;
* one deadline timer per connection serves its successive requests;
* idle connections expire after :data:`KEEPALIVE_EXPIRY_SECONDS` (the broker closes them
  8.4-12 s after the last response); a request that dies on a reused connection before any
  response byte arrived is re-sent once at once on a fresh connection (Q40);
* a ``204`` may carry a body (pop-maintenance mode, Q4): the connection it came on is closed,
  never reused, so stray bytes cannot be read as the start of the next answer;
* ``timeout`` is one total deadline covering the wait for a pool slot, connect, send and read
  (contract D22).

Only :class:`queen.QueenConnectionError` and :class:`queen.QueenTimeoutError` leave this
module. HTTP/2 is not handled here (see ``_router.py``); ``https://`` only when the transport
is given TLS options, which :class:`HttpxTransport` does for the requests httpx cannot send
(a name outside printable ASCII in the request target: h11 refuses it, the broker needs it
raw).
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
from typing import Deque, Dict, List, Mapping, Optional, Set, Tuple

import httptools

from .._errors import QueenConnectionError, QueenTimeoutError
from ._base import RawResponse
from ._tls import TlsOptions, connection_error, ssl_context

__all__ = ["KEEPALIVE_EXPIRY_SECONDS", "LeanTransport"]

KEEPALIVE_EXPIRY_SECONDS = 4.0
_LARGE_BODY = 1 << 16
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_USER_AGENT = "queen-turbo"
# Wake-up thresholds (SO_RCVLOWAT): at most this many bytes are awaited in one wake-up, and a
# head shorter than the one predicted unblocks after LOWAT_FALLBACK seconds at the latest.
_LOWAT_CAP = 1 << 20
_LOWAT_FALLBACK = 0.002
_SO_RCVLOWAT = getattr(socket, "SO_RCVLOWAT", None)
# Header names as received -> their lower-case text: a server sends the same few names in
# every answer.
_NAMES: Dict[bytes, str] = {}
_NAMES_KEPT = 256


class _Stale(Exception):
    """The connection closed before any response byte arrived."""

    def __init__(self, reused: bool = False) -> None:
        super().__init__()
        self.reused = reused


class _Timeout(Exception):
    """The deadline fired while the exchange was in progress."""


def _malformed(data: bytes, exc: Exception) -> QueenConnectionError:
    if data[:1] in (b"\x15", b"\x16") and data[1:2] == b"\x03":
        # A TLS record (alert or handshake) where an HTTP status line belongs: the port
        # speaks TLS. No retry can change that.
        return QueenConnectionError(
            "the server answered with TLS: use an https:// URL for it", retriable=False
        )
    return QueenConnectionError(f"malformed HTTP answer: {exc}")


class _Connection(asyncio.Protocol):
    """One TCP connection; also the httptools callback target of its answers."""

    __slots__ = (
        "_body",
        "_body_size",
        "_chunked_or_length",
        "_deadline",
        "_head_done",
        "_headers",
        "_lowat",
        "_lowat_timer",
        "_parser",
        "_reason",
        "_received",
        "_sock",
        "_timer",
        "_timer_when",
        "_waiter",
        "got_bytes",
        "idle_since",
        "lost",
        "pool",
        "reusable",
        "transport",
    )

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: Optional[asyncio.Transport] = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: Optional[asyncio.Future[RawResponse]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._deadline = 0.0
        self._timer_when = 0.0
        self._headers: Dict[str, str] = {}
        self._body: List[bytes] = []
        self._reason = ""
        self._chunked_or_length = False
        self._head_done = False
        self._received = 0
        self._body_size = 0
        self._sock: Optional[socket.socket] = None
        self._lowat = 1
        self._lowat_timer: Optional[asyncio.TimerHandle] = None
        self.got_bytes = False
        self.lost = False
        self.reusable = False
        self.idle_since = 0.0

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # The receive low-water mark counts socket bytes: under TLS they are records, not
        # the answer's bytes, so a mark set from the answer's length could wait for bytes
        # that never come. Plain connections only.
        if _SO_RCVLOWAT is not None and transport.get_extra_info("sslcontext") is None:
            self._sock = transport.get_extra_info("socket")

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            # Bytes nobody asked for (a late body after a 204, a stray answer): this
            # connection can no longer be trusted to frame the next answer.
            self.abort()
            return
        self.got_bytes = True
        head_done = self._head_done
        self._received += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.reusable = False
            if not waiter.done():
                waiter.set_exception(_malformed(data, exc))
            self.abort()
            return
        if waiter.done() or self._sock is None:
            return
        # The answer is incomplete: wake up again only when (most of) the rest is there.
        # The broker writes some answers' heads in many small pieces, and a large body
        # arrives in several segments; each wake-up costs a loop turn and a copy.
        pool = self.pool
        if self._head_done:
            if not head_done:
                pool.learn_head(self._received - self._body_size)
            length = self._headers.get("content-length")
            if length is not None and length.isdigit():
                self._set_lowat(min(int(length) - self._body_size, _LOWAT_CAP))
        elif pool.head_hint:
            self._set_lowat(pool.head_hint - self._received)
            if self._lowat > 1 and self._lowat_timer is None:
                # The head may be shorter than the shortest seen so far.
                self._lowat_timer = pool.loop.call_later(  # type: ignore[union-attr]
                    _LOWAT_FALLBACK, self._reset_lowat
                )

    def _set_lowat(self, size: int) -> None:
        if size < 1:
            size = 1
        if size != self._lowat and self._sock is not None:
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, _SO_RCVLOWAT, size)  # type: ignore[arg-type]
            except OSError:
                self._sock = None  # not supported here: plain wake-ups
                return
            self._lowat = size

    def _reset_lowat(self) -> None:
        self._lowat_timer = None
        self._set_lowat(1)

    def eof_received(self) -> Optional[bool]:
        self.reusable = False
        return False  # close the transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.lost = True
        self.reusable = False
        if self._timer is not None and self._waiter is None:
            self._timer.cancel()
            self._timer = None
        self.pool.forget(self)
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if not self.got_bytes:
            waiter.set_exception(_Stale())
        elif self._headers_done_until_eof():
            self._complete()
        else:
            detail = str(exc) if exc else "connection closed before the answer was complete"
            waiter.set_exception(QueenConnectionError(detail))

    # -- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._headers = {}
        self._body = []
        self._body_size = 0
        self._chunked_or_length = False
        self._head_done = False

    def on_status(self, reason: bytes) -> None:
        self._reason = reason.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        key = _NAMES.get(name)
        if key is None:
            key = name.decode("latin-1").lower()
            if len(_NAMES) < _NAMES_KEPT:
                _NAMES[name] = key
        text = value.decode("latin-1")
        headers = self._headers
        if key in headers:
            headers[key] += ", " + text
        else:
            headers[key] = text
        if key == "content-length" or key == "transfer-encoding":
            self._chunked_or_length = True

    def on_headers_complete(self) -> None:
        self._head_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._body_size += len(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        # A 204 may be followed by a body the parser does not expect (Q4); 1xx are not used.
        self.reusable = status != 204 and self._parser.should_keep_alive()
        self._complete()

    # -- the exchange -------------------------------------------------------------------

    def _headers_done_until_eof(self) -> bool:
        # An answer framed by the end of the connection (no length, not chunked).
        return self._head_done and not self._chunked_or_length

    def _complete(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._lowat_timer is not None:
            self._lowat_timer.cancel()
            self._lowat_timer = None
        if self._lowat != 1:
            self._set_lowat(1)
        body = self._body
        waiter.set_result(
            RawResponse(
                self._parser.get_status_code(),
                self._reason,
                self._headers,
                body[0] if len(body) == 1 else b"".join(body),
            )
        )

    def _on_timer(self) -> None:
        # One timer per connection, re-armed only when it would fire too late: a request's
        # deadline is usually later than the previous one's, so the timer armed for an earlier
        # request fires first and then moves itself to the current deadline.
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._deadline > self._timer_when:  # armed for an earlier request
            loop = self.pool.loop
            assert loop is not None
            self._timer_when = self._deadline
            self._timer = loop.call_at(self._deadline, self._on_timer)
            return
        waiter.set_exception(_Timeout())
        self.abort()

    async def exchange(self, loop: asyncio.AbstractEventLoop, data: bytes, tail: bytes,
                       deadline: float) -> RawResponse:
        """Write one request and wait for its whole answer (the connection is not released)."""
        waiter: asyncio.Future[RawResponse] = loop.create_future()
        self._waiter = waiter
        self.got_bytes = False
        self._received = 0
        self.reusable = False
        self._deadline = deadline
        timer = self._timer
        if timer is None or self._timer_when > deadline:
            if timer is not None:
                timer.cancel()
            self._timer_when = deadline
            self._timer = loop.call_at(deadline, self._on_timer)
        transport = self.transport
        assert transport is not None
        try:
            if self.lost or transport.is_closing():
                # Closed after it was picked (an accept-and-close, a FIN racing us): a write
                # would vanish and the answer never come.
                raise _Stale()
            transport.write(data)
            if tail:
                transport.write(tail)
            return await waiter
        finally:
            self._waiter = None
            if self._lowat != 1:  # an exchange that ended without its answer
                self._reset_lowat()
            if self._lowat_timer is not None:
                self._lowat_timer.cancel()
                self._lowat_timer = None

    def abort(self) -> None:
        self.reusable = False
        if self.transport is not None and not self.lost:
            try:
                self.transport.abort()
            except RuntimeError:  # its event loop is closed: the socket went with it
                self.lost = True


class _Pool:
    """The keep-alive connections of one origin."""

    __slots__ = ("_all", "_idle", "_waiters", "closed", "head", "head_hint", "host", "loop",
                 "max_connections", "max_keepalive", "port", "ssl")

    def __init__(self, host: str, port: int, head: bytes, max_connections: int,
                 max_keepalive: int, context: Optional[ssl.SSLContext] = None) -> None:
        self.host = host
        self.port = port
        self.ssl = context
        self.head = head
        self.max_connections = max_connections
        self.max_keepalive = max_keepalive
        self._idle: Deque[_Connection] = collections.deque()
        self._all: Set[_Connection] = set()
        self._waiters: Deque[asyncio.Future[None]] = collections.deque()
        self.closed = False
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.head_hint = 0  # the shortest answer head seen from this origin (bytes)

    def learn_head(self, size: int) -> None:
        if size > 0 and (not self.head_hint or size < self.head_hint):
            self.head_hint = size

    def idle(self, loop: asyncio.AbstractEventLoop) -> Optional[_Connection]:
        """A usable idle connection, without waiting (None when there is none)."""
        if loop is not self.loop:
            # The client outlived its event loop (asyncio.run twice): the old connections
            # belong to the old loop and cannot be used from this one.
            self.loop = loop
            for conn in list(self._all):
                conn.abort()
            self._idle.clear()
            self._all.clear()
            self._waiters.clear()
        idle = self._idle
        if not idle:
            return None
        now = loop.time()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to be closed
            if conn.lost or not conn.reusable or now - conn.idle_since > KEEPALIVE_EXPIRY_SECONDS:
                conn.abort()
                self.forget(conn)
                continue
            return conn
        return None

    async def acquire(self, loop: asyncio.AbstractEventLoop, deadline: float,
                      fresh: bool) -> Tuple[_Connection, bool]:
        """A connection for one exchange and whether it was reused."""
        while True:
            if not fresh:
                conn = self.idle(loop)
                if conn is not None:
                    return conn, True
            elif loop is not self.loop:
                self.idle(loop)  # adopt the running loop
            if len(self._all) < self.max_connections:
                return await self._connect(loop, deadline), False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise _Timeout() from None
            finally:
                if not waiter.done():
                    waiter.cancel()
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass

    async def _connect(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        conn = _Connection(self)
        self._all.add(conn)
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: conn,
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl is not None else None,
                ),
                max(0.0, deadline - loop.time()),
            )
        except asyncio.TimeoutError:
            self.forget(conn)
            raise _Timeout() from None
        except OSError as exc:  # refused, unreachable, DNS, the TLS handshake
            self.forget(conn)
            raise connection_error(exc, connecting=True) from exc
        except BaseException:
            self.forget(conn)
            raise
        return conn

    def release(self, conn: _Connection, loop: asyncio.AbstractEventLoop) -> None:
        if conn.reusable and not conn.lost and not self.closed and (
            len(self._idle) < self.max_keepalive
        ):
            conn.idle_since = loop.time()
            self._idle.append(conn)
            self._wake()
        else:
            if conn.reusable and conn.transport is not None:
                conn.transport.close()
            else:
                conn.abort()
            self.forget(conn)

    def forget(self, conn: _Connection) -> None:
        if conn in self._all:
            self._all.discard(conn)
            try:
                self._idle.remove(conn)
            except ValueError:
                pass
            self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        self.closed = True
        for conn in list(self._all):
            conn.abort()
        self._idle.clear()


def _split(url: str) -> Tuple[str, str]:
    """``("http://host:port", "/path?query")`` of a URL."""
    slash = url.find("/", 8 if url.startswith("https:") else 7)
    if slash < 0:
        return url, "/"
    return url[:slash], url[slash:]


class LeanTransport:
    """HTTP/1.1 keep-alive pools, one per origin.

    Args:
        headers: headers for every request (``Authorization``, the user's custom headers).
        max_connections: open connections per origin, busy or idle.
        max_keepalive: idle connections kept per origin (they expire after 4 s anyway).
        tls: serve ``https://`` origins too, with these TLS settings (``http://`` only
            without them).
    """

    def __init__(
        self,
        headers: Optional[Mapping[str, str]] = None,
        *,
        max_connections: int = 100,
        max_keepalive: int = 100,
        tls: Optional[TlsOptions] = None,
    ) -> None:
        self._tls = tls
        self._ssl: Optional[ssl.SSLContext] = None
        self._headers = dict(headers or {})
        self._max_connections = max(1, int(max_connections))
        self._max_keepalive = max(0, int(max_keepalive))
        names = {k.lower() for k in self._headers}
        # A custom Content-Type wins over ours, as on the httpx route.
        self._body_head = (
            b"Content-Length: %d\r\n\r\n"
            if "content-type" in names
            else b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        )
        self._pools: Dict[str, _Pool] = {}
        # (method, url) -> (pool, request line + header block, with body?)
        self._heads: Dict[Tuple[str, str], Tuple[_Pool, bytes]] = {}
        self._closed = False

    def protocols(self) -> Dict[str, str]:
        """``{origin: "HTTP/1.1"}`` for every origin this transport has served."""
        return {origin: "HTTP/1.1" for origin in self._pools}

    def _pool(self, origin: str) -> _Pool:
        pool = self._pools.get(origin)
        if pool is None:
            secure = origin.startswith("https://")
            if not origin.startswith("http://") and not (secure and self._tls is not None):
                raise QueenConnectionError(
                    f"this lean transport does not serve {origin}", retriable=False
                )
            context = None
            if secure:
                if self._ssl is None:
                    self._ssl = ssl_context(self._tls or TlsOptions(), ["http/1.1"])
                context = self._ssl
            netloc = origin[8 if secure else 7:].rpartition("@")[2]
            if netloc.startswith("["):
                host, _, rest = netloc[1:].partition("]")
                port_text = rest[1:] if rest.startswith(":") else ""
            else:
                host, _, port_text = netloc.partition(":")
            try:
                port = int(port_text) if port_text else (443 if secure else 80)
            except ValueError:
                raise QueenConnectionError(
                    f"invalid port in {origin}", retriable=False
                ) from None
            names = {k.lower() for k in self._headers}
            lines = [f"Host: {netloc}\r\n"]
            if "user-agent" not in names:
                lines.append(f"User-Agent: {_USER_AGENT}\r\n")
            if "accept" not in names:
                lines.append("Accept: */*\r\n")
            for name, value in self._headers.items():
                if name.lower() in ("host", "content-length", "transfer-encoding"):
                    continue
                if "\r" in name or "\n" in name or "\r" in str(value) or "\n" in str(value):
                    raise QueenConnectionError(f"invalid header {name!r}", retriable=False)
                lines.append(f"{name}: {value}\r\n")
            head = "".join(lines).encode("latin-1")
            pool = _Pool(
                host, port, head, self._max_connections, self._max_keepalive, context
            )
            self._pools[origin] = pool
        return pool

    def _request_head(self, method: str, url: str) -> Tuple[_Pool, bytes]:
        key = (method, url)
        cached = self._heads.get(key)
        if cached is not None:
            return cached
        origin, target = _split(url)
        pool = self._pool(origin)
        if " " in target or "\r" in target or "\n" in target:
            raise QueenConnectionError(f"invalid request target {target!r}", retriable=False)
        # Names travel as raw UTF-8: the broker never percent-decodes a path segment.
        head = f"{method} {target} HTTP/1.1\r\n".encode() + pool.head
        if len(self._heads) < 4096:  # pop/ack URLs are few; ad-hoc URLs are not kept forever
            self._heads[key] = (pool, head)
        return pool, head

    async def send(
        self, method: str, url: str, body: Optional[bytes], timeout: float
    ) -> RawResponse:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            pool, head = self._request_head(method, url)
            if body is not None:
                size = len(body)
                head += self._body_head % size
                if size <= _LARGE_BODY:
                    data, tail = head + body, b""
                else:
                    data, tail = head, body
            else:
                data = head + (
                    b"Content-Length: 0\r\n\r\n" if method in _BODY_METHODS else b"\r\n"
                )
                tail = b""
            try:
                return await self._once(loop, pool, data, tail, deadline, False)
            except _Stale as stale:
                if not stale.reused:
                    raise
                # The broker's idle close raced this request on a reused connection (or the
                # connection died after the request was handled: the answer says resent).
                response = await self._once(loop, pool, data, tail, deadline, True)
                return response._replace(resent=True)
        except _Stale:
            raise QueenConnectionError(
                "the server closed the connection without an answer", method=method, url=url
            ) from None
        except _Timeout:
            raise QueenTimeoutError(int(timeout * 1000), method=method, url=url) from None
        except QueenConnectionError as exc:
            exc.method, exc.url = method, url
            raise
        except OSError as exc:
            raise connection_error(exc, method, url) from exc

    async def _once(self, loop: asyncio.AbstractEventLoop, pool: _Pool, data: bytes,
                    tail: bytes, deadline: float, fresh: bool) -> RawResponse:
        if self._closed:
            raise QueenConnectionError("the transport is closed")
        conn = None if fresh else pool.idle(loop)
        if conn is None:
            conn, reused = await pool.acquire(loop, deadline, fresh)
        else:
            reused = True
        try:
            return await conn.exchange(loop, data, tail, deadline)
        except _Stale as stale:
            stale.reused = reused
            raise
        except BaseException:
            conn.reusable = False  # cancelled or failed mid-exchange: the framing is unknown
            raise
        finally:
            pool.release(conn, loop)

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._heads.clear()
        await asyncio.sleep(0)  # let the aborted transports run their connection_lost

