"""An HTTP/1.1 proxy with faults, for the real broker: what ``queen.testing``'s ``faults`` do.

``queen.testing`` can drop a connection after its engine handled a request, or answer an
error without calling the engine; a real broker cannot be told to. :class:`FaultProxy` stands
between a client and any broker and relays requests and answers unchanged, except for the
next ``count`` requests whose path starts with a prefix:

* :meth:`FaultProxy.drop_answer`: the request is relayed and the broker's whole answer read
  (so the broker did the work), then the client's connection is closed without it;
* :meth:`FaultProxy.error`: the request never reaches the broker; the client gets an error
  status at once;

and, for every request whose path starts with a prefix until cleared:

* :meth:`FaultProxy.hold`: the request waits in the proxy until :meth:`FaultProxy.release`
  (a request "in flight" for as long as a test needs); :attr:`FaultProxy.held` counts them;
* :meth:`FaultProxy.delay`: the request is relayed ``seconds`` late (a slow broker).

:attr:`FaultProxy.bodies` records the body of every request relayed to the broker, in order.

Bodies are framed by Content-Length, as both brokers frame them.
"""

from __future__ import annotations

import asyncio
from typing import List, Optional, Set, Tuple
from urllib.parse import urlsplit

__all__ = ["FaultProxy"]


async def _read_message(reader: asyncio.StreamReader) -> Optional[Tuple[bytes, bytes]]:
    """One HTTP/1.1 message: (head with its blank line, body), or None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head, body


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self._host = target.hostname or "127.0.0.1"
        self._port = target.port or 80
        self._server: Optional[asyncio.AbstractServer] = None
        self._rules: List[List[object]] = []  # [kind, path prefix, remaining count, status]
        self._tasks: Set[asyncio.Task] = set()
        self._writers: Set[asyncio.StreamWriter] = set()
        self._holds: List[str] = []  # path prefixes held until release()
        self._released = asyncio.Event()
        self._delays: List[Tuple[str, float]] = []
        self.held = 0  # requests waiting in the proxy right now
        self.bodies: List[Tuple[str, bytes]] = []  # (path, body) relayed, in order
        self.dropped: List[str] = []  # request lines whose answer was lost
        self.refused: List[str] = []  # request lines answered with an error instead
        self.url = ""

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Closing the sockets ends the relays (a cancelled relay task would be logged).
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def drop_answer(self, path: str, count: int = 1) -> None:
        """Lose the answers of the next ``count`` requests whose path starts with ``path``."""
        self._rules.append(["drop", path, count, 0])

    def error(self, path: str, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests whose path starts with ``path`` with ``status``,
        without relaying them."""
        self._rules.append(["error", path, count, status])

    def hold(self, path: str) -> None:
        """Keep requests whose path starts with ``path`` from the broker until release()."""
        self._holds.append(path)
        self._released.clear()

    def release(self) -> None:
        """Let held requests (and later ones) through."""
        self._holds.clear()
        self._released.set()

    def delay(self, path: str, seconds: float) -> None:
        """Relay requests whose path starts with ``path`` ``seconds`` late."""
        self._delays.append((path, seconds))

    def clear(self) -> None:
        """Relay everything unchanged from now on."""
        self._rules.clear()
        self._delays.clear()
        self.release()

    async def _wait_turn(self, path: str) -> None:
        while any(path.startswith(prefix) for prefix in self._holds):
            self.held += 1
            try:
                await self._released.wait()
            finally:
                self.held -= 1
        pause = sum(seconds for prefix, seconds in self._delays if path.startswith(prefix))
        if pause:
            await asyncio.sleep(pause)

    def _take(self, request_line: bytes) -> Optional[List[object]]:
        parts = request_line.split(b" ")
        path = parts[1].decode() if len(parts) > 1 else ""
        for rule in self._rules:
            _, prefix, remaining, _ = rule
            if path.startswith(str(prefix)) and int(str(remaining)) > 0:
                rule[2] = int(str(remaining)) - 1
                return rule
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        self._writers.update((writer, up_writer))
        try:
            while True:
                request = await _read_message(reader)
                if request is None:
                    return
                request_line = request[0].split(b"\r\n", 1)[0]
                rule = self._take(request_line)
                if rule is not None and rule[0] == "error":
                    self.refused.append(request_line.decode())
                    body = b'{"error":"injected by the test proxy"}'
                    writer.write(
                        b"HTTP/1.1 %d Injected\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (int(str(rule[3])), len(body), body)
                    )
                    await writer.drain()
                    continue
                path = request_line.split(b" ")[1].decode() if b" " in request_line else ""
                await self._wait_turn(path)
                self.bodies.append((path, request[1]))
                up_writer.write(request[0] + request[1])
                await up_writer.drain()
                answer = await _read_message(up_reader)
                if answer is None:
                    return
                if rule is not None:
                    self.dropped.append(request_line.decode())
                    return  # the broker answered; the client never hears it
                writer.write(answer[0] + answer[1])
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._tasks.discard(task)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()
