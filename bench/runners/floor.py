"""The floor: what the scenarios cost a Python process that does only the unavoidable work.

``python bench/runners/floor.py SCENARIO '{"url": ..., "n": 20000}'``. One blocking socket,
requests written by hand, answers framed by their ``Content-Length``, orjson for exactly the
JSON that the client API has to produce and return (the push body and the push answer; the
pop answer, the batch ack body and the ack answer) -- no event loop, no library, no checks.
It measures how far below a real client's CPU the broker's answers and the kernel's share
let any Python client go. One request in flight, so only ``push1``, ``pop_ack`` and
``responder1``.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from typing import Any, Dict, List, Tuple

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Meter, args, emit, payload

BATCH = 100


def ack_batch_body(msgs: List[Dict[str, Any]]) -> bytes:
    """The batch ack of popped messages, with every field the client sends."""
    acks = [{"transactionId": m["transactionId"], "partitionId": m["partitionId"],
             "status": "completed", "error": None, "leaseId": m["leaseId"]} for m in msgs]
    return orjson.dumps({"acknowledgments": acks, "consumerGroup": None})


class Conn:
    def __init__(self, url: str) -> None:
        host, _, port = url[len("http://"):].partition(":")
        self.host = host
        self.sock = socket.create_connection((host, int(port.split("/")[0] or 80)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def request(self, method: str, path: str, body: bytes = b"") -> Tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if body or method == "POST":
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        head_bytes, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head_bytes.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._recv()
        self.buf = rest[length:]
        return status, rest[:length]

    def _recv(self) -> bytes:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("closed")
        return data


def push1(p: Dict[str, Any], c: Conn, q: str) -> Dict[str, Any]:
    starts = list(range(0, p["n"], BATCH))
    batches = [[payload(s + j) for j in range(BATCH)] for s in starts]
    meter = Meter()
    with meter:
        for batch in batches:
            t = time.perf_counter()
            items = [{"queue": q, "partition": "Default", "payload": m,
                      "transactionId": str(uuid.uuid4())} for m in batch]
            _, answer = c.request("POST", "/api/v1/push", orjson.dumps({"items": items}))
            orjson.loads(answer)
            meter.latencies.append(time.perf_counter() - t)
    return meter.result(len(starts) * BATCH, inflight=1)


def pop_ack(p: Dict[str, Any], c: Conn, q: str) -> Dict[str, Any]:
    n = p["n"]
    for s in range(0, n, BATCH):
        items = [{"queue": q, "partition": "Default", "payload": payload(s + j),
                  "transactionId": str(uuid.uuid4())} for j in range(BATCH)]
        c.request("POST", "/api/v1/push", orjson.dumps({"items": items}))
    pop = f"/api/v1/pop/queue/{q}?batch={BATCH}&wait=false"
    got = 0
    meter = Meter()
    with meter:
        while got < n:
            t = time.perf_counter()
            _, body = c.request("GET", pop)
            msgs: List[Dict[str, Any]] = orjson.loads(body)["messages"] if body else []
            if not msgs:
                break
            _, answer = c.request("POST", "/api/v1/ack/batch", ack_batch_body(msgs))
            orjson.loads(answer)
            meter.latencies.append(time.perf_counter() - t)
            got += len(msgs)
    return meter.result(got)


SCENARIOS = {"push1": push1, "responder1": push1, "pop_ack": pop_ack}


def main() -> None:
    p = args()
    run = SCENARIOS.get(p["scenario"])
    if run is None:
        emit({"skipped": f"the floor runner has no {p['scenario']} (one request in flight)"})
        return
    c = Conn(p["url"])
    q = f"bench-{p['scenario']}-floor-{os.getpid()}"
    on_broker = not p["scenario"].startswith("responder")
    if on_broker:
        c.request("POST", "/api/v1/configure", orjson.dumps({"queue": q, "options": {}}))
    result = run(p, c, q)
    if on_broker:
        c.request("DELETE", f"/api/v1/resources/queues/{q}")
    emit(result)


if __name__ == "__main__":
    main()
