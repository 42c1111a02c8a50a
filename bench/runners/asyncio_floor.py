"""The asyncio floor of pop 100 + batch ack: the unavoidable work of any asyncio client.

``python bench/runners/asyncio_floor.py pop_ack '{"url": ..., "n": 20000}'``. One
``asyncio.Protocol`` on one keep-alive connection, requests written by hand, answers framed by
their ``Content-Length`` with ``bytes.find``, one future per request, and orjson for exactly
the JSON the client API has to produce and return (the pop answer decoded in full, the batch
ack body, the ack answer decoded in full) -- no library, no checks, no retries, no timers.
Beside ``floor.py`` (the same work on a blocking socket, no event loop) it shows what an
asyncio client cannot go below on this broker.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from typing import Any, Dict, List, Optional

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Meter, args, emit, payload, run
from floor import ack_batch_body

BATCH = 100


class Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = b""
        self.need = -1  # the answer's total length once its head is in
        self.head = 0
        self.waiter: Optional[asyncio.Future[bytes]] = None
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            at = head.find(b"content-length:") + 15
            stop = head.find(b"\r\n", at)
            self.need = end + 4 + int(head[at:stop if stop > 0 else None])
            self.head = end + 4
        if len(self.buf) >= self.need:
            body, self.buf = self.buf[self.head:self.need], self.buf[self.need:]
            self.need = -1
            assert self.waiter is not None
            self.waiter.set_result(body)

    async def request(self, data: bytes) -> bytes:
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(data)
        return await self.waiter


def post(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def pop_ack(p: Dict[str, Any], conn: Conn, q: str) -> Dict[str, Any]:
    n = p["n"]
    for s in range(0, n, BATCH):
        items = [{"queue": q, "partition": "Default", "payload": payload(s + j),
                  "transactionId": str(uuid.uuid4())} for j in range(BATCH)]
        await conn.request(post("/api/v1/push", orjson.dumps({"items": items})))
    pop = f"GET /api/v1/pop/queue/{q}?batch={BATCH}&wait=false HTTP/1.1\r\nHost: x\r\n\r\n"
    got = 0
    meter = Meter()
    with meter:
        while got < n:
            body = await conn.request(pop.encode())
            msgs: List[Dict[str, Any]] = orjson.loads(body)["messages"] if body else []
            if not msgs:
                break
            answer = await conn.request(post("/api/v1/ack/batch", ack_batch_body(msgs)))
            orjson.loads(answer)
            got += len(msgs)
    return meter.result(got)


async def main() -> None:
    p = args()
    if p["scenario"] != "pop_ack":
        emit({"skipped": f"the asyncio floor has no {p['scenario']} (pop_ack only)"})
        return
    host, _, port = p["url"][len("http://"):].partition(":")
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Conn, host, int(port.split("/")[0] or 80))
    q = f"bench-pop_ack-asyncio-floor-{os.getpid()}"
    await conn.request(post("/api/v1/configure", orjson.dumps({"queue": q, "options": {}})))
    result = await pop_ack(p, conn, q)
    await conn.request(f"DELETE /api/v1/resources/queues/{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    emit(result)


if __name__ == "__main__":
    run(main())
