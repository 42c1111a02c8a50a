"""Raw-socket helpers for the server-layer tests."""

from __future__ import annotations

import asyncio
import re
from typing import Callable, Tuple

DATE_RE = re.compile(rb"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n")


class Raw:
    """A raw TCP connection to a node, for byte-level assertions."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, timeout: float = 5.0) -> Tuple[bytes, bytes]:
        """Read one response: (head including the blank line, body)."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        match = re.search(rb"Content-Length: (\d+)\r\n", head)
        assert match is not None, head
        body = await asyncio.wait_for(self.reader.readexactly(int(match.group(1))), timeout)
        return head, body

    async def eof(self, timeout: float = 5.0) -> bytes:
        """Everything until the server closes the connection."""
        return await asyncio.wait_for(self.reader.read(), timeout)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


def strip_date(head: bytes) -> bytes:
    """The head with its Date header checked and replaced by a fixed placeholder."""
    assert DATE_RE.search(head), head
    return DATE_RE.sub(b"Date: <date>\r\n", head)


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n".encode()


async def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


__all__ = ["DATE_RE", "Raw", "get", "strip_date", "wait_until"]
