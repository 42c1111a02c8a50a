"""The socket under an HTTP/2 connection: plain, or TLS done with an ``ssl.SSLObject``.

Received bytes go straight to the connection (``_on_data``) from the event loop's callback
(no reader task, no stream buffer); bytes that arrive before the connection is attached are
kept for it.

On asyncio's own event loops TLS is done here, over memory buffers: asyncio's TLS layer
(``asyncio.sslproto``) is pure Python in CPython (an application transport in front of the
socket's, a read buffer and a write backlog, flow-control states) and cost an HTTP/2
connection about as much as its frames. A read here is one ``MemoryBIO.write`` and one
``SSLObject.read`` per TLS record; a write one ``SSLObject.write`` (records of up to 16 KiB)
and one socket write. Other event loops (uvloop) bring their own compiled TLS and get the
plain wire on their TLS transport.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING, List, Optional, Tuple

if TYPE_CHECKING:
    from ._h2 import H2Connection

__all__ = ["TlsWire", "Wire", "lean_tls"]

_READ_SIZE = 1 << 17  # more than a TLS record holds
# How long a closing TLS connection waits for the peer's close_notify (asyncio's
# ssl_shutdown_timeout): the peer reads everything written before it first.
SHUTDOWN_TIMEOUT = 30.0


def lean_tls(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether TLS is done by :class:`TlsWire` on ``loop``: asyncio's own loops, whose TLS
    layer is Python; any other loop's (uvloop's) is compiled and used as it is."""
    return isinstance(loop, asyncio.BaseEventLoop)


class Wire(asyncio.Protocol):
    """The socket of one HTTP/2 connection."""

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

    # -- what the connection calls -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def alpn(self) -> Optional[str]:
        """The protocol the TLS handshake selected (None without TLS)."""
        if self.transport is None:
            return None
        ssl_object = self.transport.get_extra_info("ssl_object")
        return None if ssl_object is None else ssl_object.selected_alpn_protocol()

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark."""
        if self._paused and not self.closed.done():
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drained)

    # -- asyncio.Protocol ----------------------------------------------------------------------

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


class TlsWire(Wire):
    """A :class:`Wire` that does TLS itself on a plain TCP transport.

    ``handshake`` completes when the TLS handshake did (with its error when it failed: the
    same ``ssl`` exceptions asyncio's TLS transport raises, certificate verification
    included); the connection writes only after it.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, context: ssl.SSLContext,
                 server_hostname: str) -> None:
        super().__init__(loop)
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_hostname=server_hostname
        )
        self.handshake: asyncio.Future[None] = loop.create_future()
        self._blocked: List[bytes] = []  # written while the TLS layer waited for the peer
        self._loop = loop
        self._closing = False
        self._shutdown: Optional[asyncio.TimerHandle] = None

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self._closing:
            return
        if self._blocked:
            self._blocked.append(data)
            return
        view = memoryview(data)
        try:
            while view:
                view = view[self._tls.write(view):]
        except ssl.SSLWantReadError:  # a renegotiation: goes on once the peer has answered
            self._blocked.append(view.tobytes())
        except ssl.SSLError as exc:
            self._send_outgoing()
            transport.close()
            self._failed(exc)
            return
        self._send_outgoing()

    def close(self) -> None:
        """Send our close_notify and close the socket once the peer answered with its own
        (or closed, or :data:`SHUTDOWN_TIMEOUT` passed), as asyncio's TLS transport does:
        the peer has read all we wrote by then."""
        transport = self.transport
        if transport is None or transport.is_closing() or self._closing:
            return
        self._closing = True
        if not (self.handshake.done() and self.handshake.exception() is None):
            transport.close()
            return
        self._unwrap()
        if not transport.is_closing():
            self._shutdown = self._loop.call_later(SHUTDOWN_TIMEOUT, transport.abort)

    def _unwrap(self) -> None:
        try:
            self._tls.unwrap()
        except ssl.SSLWantReadError:  # ours is out, the peer's not in yet
            self._send_outgoing()
            return
        except (ssl.SSLError, OSError):
            pass
        self._send_outgoing()
        if self.transport is not None:
            self.transport.close()

    def alpn(self) -> Optional[str]:
        return self._tls.selected_alpn_protocol()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._shake()

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if self._closing:  # only the peer's close_notify matters now
            self._unwrap()
            return
        if not self.handshake.done():
            self._shake()
            if not self.handshake.done() or self.handshake.exception() is not None:
                return
        chunks = []
        closing = False
        tls = self._tls
        incoming = self._incoming
        try:
            # Until the buffered records are used up; the last read of a partial record
            # raises SSLWantReadError, a read at a record boundary does not happen at all.
            while incoming.pending or tls.pending():
                chunk = tls.read(_READ_SIZE)
                if not chunk:  # the peer's close_notify: its end of the connection
                    closing = True
                    break
                chunks.append(chunk)
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            self._send_outgoing()
            if self.transport is not None:
                self.transport.close()
            self._failed(exc)
            return
        if self._outgoing.pending:  # what reading produced (alerts, key updates)
            self._send_outgoing()
        if self._blocked:
            blocked, self._blocked = self._blocked, []
            for data in blocked:
                self.write(data)
        if chunks:
            super().data_received(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if closing:
            super().data_received(b"")

    def eof_received(self) -> Optional[bool]:
        if not self.handshake.done():
            self._incoming.write_eof()
            self._shake()
            return False
        if self._closing:
            return False
        return super().eof_received()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self._shutdown is not None:
            self._shutdown.cancel()
            self._shutdown = None
        if not self.handshake.done():
            self.handshake.set_exception(
                exc or ConnectionResetError("the connection closed during the TLS handshake")
            )
        super().connection_lost(exc)

    def _shake(self) -> None:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self._send_outgoing()
            return
        except (ssl.SSLError, ssl.CertificateError) as exc:
            self._send_outgoing()  # the alert telling the server why
            if self.transport is not None:
                self.transport.close()
            if not self.handshake.done():
                self.handshake.set_exception(exc)
            return
        self._send_outgoing()
        if not self.handshake.done():
            self.handshake.set_result(None)

    def _send_outgoing(self) -> None:
        data = self._outgoing.read()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _failed(self, exc: Exception) -> None:
        if self._sink is not None:
            self._sink._on_lost(exc)
        else:
            self._lost = (exc,)
