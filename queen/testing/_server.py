"""``QueenTestServer``: one engine behind one or more HTTP listeners ("nodes").

A node is what a broker instance is in a real deployment: a listener of its own on its own
port. Several nodes share one engine, like several broker instances on one PostgreSQL
(cluster mode). Each node can be stopped and started again on the same port, and has its
own fault injection and counters.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, List, Optional

from ._faults import Faults
from ._http1 import H1Protocol, ListenerContext

if TYPE_CHECKING:
    from ._engine import Broker, Clock

__all__ = ["Node", "QueenTestServer", "SyncNode", "SyncQueenTestServer"]


class Node:
    """One listener of a :class:`QueenTestServer`.

    Attributes:
        index: the node number, passed to the engine as ``node=``.
        host: the bind address.
        port: the TCP port (fixed after the first start, kept across stop/start).
        faults: this node's :class:`~queen.testing._faults.Faults`.
    """

    def __init__(
        self,
        broker: Broker,
        index: int,
        host: str,
        port: int,
        *,
        http2: bool = False,
        idle_timeout: float = 10.0,
        connect_timeout: Optional[float] = None,
    ) -> None:
        self.index = index
        self.host = host
        self.port = port
        self.faults = Faults()
        self._ctx = ListenerContext(
            broker,
            index,
            self.faults,
            http2=http2,
            idle_timeout=idle_timeout,
            connect_timeout=connect_timeout,
        )
        self._server: Optional[asyncio.AbstractServer] = None
        self._placeholder: Optional[socket.socket] = None

    @property
    def url(self) -> str:
        """``http://host:port`` of this node."""
        host = self.host
        if ":" in host:
            host = "[" + host + "]"
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the node is listening."""
        return self._server is not None

    @property
    def accepted_connections(self) -> int:
        """TCP connections accepted by this node since it was created."""
        return self._ctx.accepted_connections

    @property
    def requests_served(self) -> int:
        """Complete requests read by this node (HTTP/1.1 requests and HTTP/2 streams),
        whatever their answer, injected faults included."""
        return self._ctx.requests_served

    @property
    def open_connections(self) -> int:
        """Connections currently open on this node."""
        return len(self._ctx.connections)

    async def start(self) -> None:
        """Listen (again). After a :meth:`stop` the node comes back on the same port."""
        if self._server is not None:
            return
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        loop = asyncio.get_running_loop()
        ctx = self._ctx
        self._server = await loop.create_server(
            lambda: H1Protocol(ctx), self.host, self.port, reuse_address=True, backlog=1024
        )
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every connection; the port stays reserved for :meth:`start`.

        While stopped, connections to the port are refused.
        """
        server = self._server
        if server is None:
            return
        self._server = None
        server.close()
        for conn in list(self._ctx.connections):
            conn.shutdown()
        self._ctx.connections.clear()
        await server.wait_closed()
        self._placeholder = _reserve(self.host, self.port)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Node {self.index} {self.url} {state}>"


def _reserve(host: str, port: int) -> Optional[socket.socket]:
    """Keep the port bound (but not listening) so nobody else takes it while stopped.

    A bound socket that does not listen makes connection attempts fail with "connection
    refused", which is what a stopped broker looks like. Windows' address reuse semantics
    differ, so there the port is simply released.
    """
    if sys.platform == "win32":
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        return None
    return sock


class QueenTestServer:
    """An in-process Queen 0.15 broker on real sockets.

    Example::

        async with QueenTestServer() as server:
            async with httpx.AsyncClient(base_url=server.url) as http:
                await http.get("/health")

    Args:
        host: bind address.
        port: port of the first node (``0``: any free port). With several nodes and a
            non-zero port, node ``i`` listens on ``port + i``.
        nodes: number of listeners sharing the one engine (cluster mode).
        http2: also accept cleartext HTTP/2 with prior knowledge (the real broker does not).
        status_mode: ``"wire"`` (deferred responses are 200, as on the real broker) or
            ``"intended"`` (the status codes the routes mean to send).
        long_poll: ``"wire"`` (the default: parked pops find new messages on the real
            broker's retry ticks, up to about 1 s after a push, as a 0.15 broker without
            cluster sync does) or ``"prompt"`` (a push wakes parked pops at once).
        clock: the engine's clock (default: a fresh controllable clock).
        idle_timeout: seconds after the last response before an idle keep-alive connection is
            closed (the real broker: about 8-12 s).
        connect_timeout: seconds after connect before a socket that never sent a request is
            closed (default ``1.2 * idle_timeout``, about 12 s like the real broker).
        broker: use this engine instead of creating one (``status_mode``, ``long_poll`` and
            ``clock`` are then ignored).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        nodes: int = 1,
        http2: bool = False,
        status_mode: str = "wire",
        long_poll: str = "wire",
        clock: Optional[Clock] = None,
        idle_timeout: float = 10.0,
        *,
        connect_timeout: Optional[float] = None,
        broker: Optional[Broker] = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("nodes must be at least 1")
        if broker is None:
            from ._engine import Broker

            broker = Broker(clock, status_mode=status_mode, long_poll=long_poll)
        self.broker: Broker = broker
        self.host = host
        self.nodes: List[Node] = [
            Node(
                broker,
                i,
                host,
                port + i if port else 0,
                http2=http2,
                idle_timeout=idle_timeout,
                connect_timeout=connect_timeout,
            )
            for i in range(nodes)
        ]

    @property
    def clock(self) -> Clock:
        """The engine's clock (``server.clock.advance(seconds)``)."""
        return self.broker.clock

    @property
    def url(self) -> str:
        """URL of the first node."""
        return self.nodes[0].url

    @property
    def urls(self) -> List[str]:
        """URLs of all nodes, in node order."""
        return [node.url for node in self.nodes]

    @property
    def accepted_connections(self) -> int:
        """TCP connections accepted by all nodes."""
        return sum(node.accepted_connections for node in self.nodes)

    @property
    def requests_served(self) -> int:
        """Requests read by all nodes."""
        return sum(node.requests_served for node in self.nodes)

    async def start(self) -> QueenTestServer:
        """Start every node."""
        try:
            for node in self.nodes:
                await node.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Stop every node and release its port."""
        for node in self.nodes:
            await node.stop()
            if node._placeholder is not None:
                node._placeholder.close()
                node._placeholder = None

    async def __aenter__(self) -> QueenTestServer:
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<QueenTestServer {' '.join(self.urls)}>"


class SyncNode:
    """A :class:`Node` of a :class:`SyncQueenTestServer`, driven from the calling thread."""

    def __init__(self, server: SyncQueenTestServer, node: Node) -> None:
        self._server = server
        self.node = node

    @property
    def index(self) -> int:
        return self.node.index

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def port(self) -> int:
        return self.node.port

    @property
    def faults(self) -> Faults:
        """The node's fault injection (safe to use from any thread)."""
        return self.node.faults

    @property
    def running(self) -> bool:
        return self.node.running

    @property
    def accepted_connections(self) -> int:
        return self.node.accepted_connections

    @property
    def requests_served(self) -> int:
        return self.node.requests_served

    def stop(self) -> None:
        """Stop the node (blocks until its listener and connections are closed)."""
        self._server.call(self.node.stop)

    def start(self) -> None:
        """Start the node again on the same port."""
        self._server.call(self.node.start)

    def __repr__(self) -> str:
        return repr(self.node)


class SyncQueenTestServer:
    """:class:`QueenTestServer` with its own event loop in a daemon thread.

    For synchronous tests and for code that runs its own event loop in the test's thread::

        with SyncQueenTestServer() as server:
            httpx.get(server.url + "/health")
            server.advance(61)                    # move the engine's clock
            server.call(server.broker.reset)      # run anything on the server's loop
            server.nodes[0].stop()

    It takes the same arguments as :class:`QueenTestServer`. The engine is not thread-safe:
    touch ``server.broker`` only through :meth:`call`.
    """

    def __init__(self, *args: Any, start_timeout: float = 10.0, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs
        self._start_timeout = start_timeout
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._server: Optional[QueenTestServer] = None
        self.nodes: List[SyncNode] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SyncQueenTestServer:
        """Start the loop thread and every node."""
        if self._loop is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="queen-test-server", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread

        async def _start() -> QueenTestServer:
            server = QueenTestServer(*self._args, **self._kwargs)
            return await server.start()

        try:
            future = asyncio.run_coroutine_threadsafe(_start(), loop)
            self._server = future.result(self._start_timeout)
        except BaseException:
            self._shutdown_loop()
            raise
        self.nodes = [SyncNode(self, node) for node in self._server.nodes]
        return self

    def close(self) -> None:
        """Stop every node and the loop thread."""
        if self._loop is None:
            return
        if self._server is not None:
            try:
                self.call(self._server.close)
            finally:
                self._server = None
        self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return

        async def _cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(_cancel_rest(), loop).result(5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(5)
            loop.close()

    def __enter__(self) -> SyncQueenTestServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- running things on the loop --------------------------------------------------------

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the server's loop thread and return its result.

        If ``fn`` returns an awaitable (a coroutine function, say), it is awaited there.
        Exceptions propagate to the caller.
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError("the server is not running")

        async def _call() -> Any:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(_call(), loop).result()

    def advance(self, seconds: float) -> None:
        """Move the engine's clock forward (on the loop thread, so parked pops see it)."""
        self.call(self.server.clock.advance, seconds)

    # -- views -----------------------------------------------------------------------------

    @property
    def server(self) -> QueenTestServer:
        """The underlying asynchronous server."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return self._server

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs on."""
        if self._loop is None:
            raise RuntimeError("the server is not running")
        return self._loop

    @property
    def broker(self) -> Broker:
        """The shared engine (use it through :meth:`call`)."""
        return self.server.broker

    @property
    def clock(self) -> Clock:
        """The engine's clock (prefer :meth:`advance`, which runs on the loop thread)."""
        return self.server.clock

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def urls(self) -> List[str]:
        return self.server.urls

    @property
    def accepted_connections(self) -> int:
        return self.server.accepted_connections

    @property
    def requests_served(self) -> int:
        return self.server.requests_served

    def __repr__(self) -> str:
        if self._server is None:
            return "<SyncQueenTestServer stopped>"
        return f"<SyncQueenTestServer {' '.join(self.urls)}>"
