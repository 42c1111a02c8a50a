"""An HTTP/1.1 proxy that loses answers: the real broker's ``faults.drop(after_processing=True)``.

``queen.testing`` can drop a connection after its engine handled a request; a real broker
cannot be told to. :class:`AnswerDropper` stands between a client and any broker: it relays
requests and answers unchanged, except that for the next ``count`` requests whose path starts
with ``path`` it waits for the broker's whole answer (so the broker did the work) and then
closes the client's connection without relaying it. Bodies are framed by Content-Length, as
both brokers frame them.
"""

from __future__ import annotations

import asyncio
from typing import List, Optional, Set, Tuple
from urllib.parse import urlsplit

__all__ = ["AnswerDropper"]


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


class AnswerDropper:
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self._host = target.hostname or "127.0.0.1"
        self._port = target.port or 80
        self._server: Optional[asyncio.AbstractServer] = None
        self._rules: List[List[object]] = []  # [path prefix, remaining count]
        self._tasks: Set[asyncio.Task] = set()
        self._writers: Set[asyncio.StreamWriter] = set()
        self.dropped: List[str] = []  # request lines whose answer was lost
        self.url = ""

    async def __aenter__(self) -> AnswerDropper:
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

    def drop(self, path: str, count: int = 1) -> None:
        """Lose the answers of the next ``count`` requests whose path starts with ``path``."""
        self._rules.append([path, count])

    def _take(self, request_line: bytes) -> bool:
        parts = request_line.split(b" ")
        path = parts[1].decode() if len(parts) > 1 else ""
        for rule in self._rules:
            prefix, remaining = rule
            if path.startswith(str(prefix)) and int(str(remaining)) > 0:
                rule[1] = int(str(remaining)) - 1
                return True
        return False

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
                up_writer.write(request[0] + request[1])
                await up_writer.drain()
                answer = await _read_message(up_reader)
                if answer is None:
                    return
                request_line = request[0].split(b"\r\n", 1)[0]
                if self._take(request_line):
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
