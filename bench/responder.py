"""A minimal HTTP/1.1 responder standing in for the broker: every request gets a canned answer.

With the broker's own work taken out, the client's cost per message is all that is left, so
"messages per client CPU-second" compares clients alone. Push answers carry one ``queued``
entry per item (the count is read from the body without decoding it, by counting
``"transactionId"``); anything else gets ``{}``. Keep-alive, never pipelined by the clients.
``python -m bench.responder --port N`` prints its URL and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Dict, List, Optional

import httptools

_ENTRY = (b'{"index":0,"message_id":"01a232f0-958f-7000-9fdc-8e681959876e","partition_id":'
          b'"4f08089c-6d41-43ef-a0fe-dfa2a1516926","queueName":"q","status":"queued",'
          b'"trace_id":null,"transaction_id":"01a232f0-958f-70e6-b2cf-6d2f5e9cb3af"}')
_CACHE: Dict[int, bytes] = {}


def _answer(body: bytes) -> bytes:
    n = body.count(b'"transactionId"')
    out = _CACHE.get(n)
    if out is None:
        payload = b"[" + b",".join([_ENTRY] * n) + b"]" if n else b"{}"
        out = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(payload)) + payload
        _CACHE[n] = out
    return out


class _Responder(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: Optional[asyncio.Transport] = None
        self.parser = httptools.HttpRequestParser(self)
        self.body: List[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_message_begin(self) -> None:
        self.body = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.transport.write(_answer(b"".join(self.body)))


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Responder, host, port)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"http://{host}:{bound}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.responder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
