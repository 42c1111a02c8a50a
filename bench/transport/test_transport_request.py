"""The client cost of one request through each transport, by request body size.

``pytest bench/transport --benchmark-only --benchmark-timer=time.process_time`` gives the
client CPU (without the timer option: wall time, which includes the responder's turn and the
scheduler). Add ``--benchmark-json out.json`` to keep the numbers. Every round sends
``REQUESTS`` sequential POSTs on one warm keep-alive connection to ``bench/responder.py``
(its own process) and the figure is per round; divide by ``REQUESTS`` for one request. Tags
in ``extra_info``: ``transport``, ``size``, ``requests``.

Transports: ``lean`` (queen's LeanTransport), ``httpx`` (queen's HttpxTransport), ``aiohttp``
(a ClientSession, when installed), ``streams`` (a minimal HTTP/1.1 exchange on asyncio
streams: about the floor of an asyncio client).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Tuple

import pytest

from queen._transport import HttpxTransport, LeanTransport

REQUESTS = 50
SIZES = [2**k for k in (6, 8, 10, 12, 14, 16)]
TRANSPORTS = ["lean", "httpx", "aiohttp", "streams"]

Send = Callable[[bytes], Awaitable[Any]]


async def _streams(url: str) -> Tuple[Send, Callable[[], Awaitable[None]]]:
    host, port = url[7:].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"POST /api/v1/push HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()

    async def send(body: bytes) -> bytes:
        writer.write(head + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % len(body) + body)
        status_and_headers = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in status_and_headers.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return await reader.readexactly(length)

    async def close() -> None:
        writer.close()

    return send, close


async def _open(name: str, url: str) -> Tuple[Send, Callable[[], Awaitable[None]]]:
    target = url + "/api/v1/push"
    if name == "lean":
        lean = LeanTransport()
        return (lambda body: lean.send("POST", target, body, 30.0)), lean.aclose
    if name == "httpx":
        hx = HttpxTransport()
        return (lambda body: hx.send("POST", target, body, 30.0)), hx.aclose
    if name == "aiohttp":
        aiohttp = pytest.importorskip("aiohttp")
        session = aiohttp.ClientSession()

        async def send(body: bytes) -> bytes:
            async with session.post(target, data=body,
                                    headers={"Content-Type": "application/json"}) as r:
                return await r.read()

        return send, session.close
    return await _streams(url)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_request(benchmark: Any, responder_url: str, transport: str, size: int) -> None:
    loop = asyncio.new_event_loop()
    send, close = loop.run_until_complete(_open(transport, responder_url))
    body = b'{"items":[' + b"x" * max(0, size - 12) + b"]}"

    async def burst() -> None:
        for _ in range(REQUESTS):
            await send(body)

    loop.run_until_complete(burst())  # connect and warm up
    try:
        benchmark.extra_info.update(transport=transport, size=size, requests=REQUESTS)
        benchmark.pedantic(lambda: loop.run_until_complete(burst()), rounds=20, iterations=1,
                           warmup_rounds=2)
    finally:
        loop.run_until_complete(close())
        loop.close()
