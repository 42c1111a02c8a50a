"""Throughput of the in-process test broker (``python -m queen.testing``) over HTTP/1.1.

Starts the broker in a subprocess and drives it with a minimal keep-alive HTTP/1.1 client
built on asyncio streams (several connections, one request in flight per connection, as the
broker allows no pipelining). Scenarios:

* ``health``   - ``GET /health``: the HTTP layer's own per-request cost;
* ``push100``  - ``POST /api/v1/push`` with 100 messages per request;
* ``pop+ack``  - one ``GET /api/v1/pop/queue/q/partition/pN?batch=1`` then one
  ``POST /api/v1/ack`` per cycle, each connection on its own pre-filled partition.

Usage::

    python bench/broker/bench_broker.py [--connections 8] [--seconds 5] [--url URL]

``--url`` measures an already running broker instead (a real one, for comparison).

Prints one line per scenario: requests/s (and messages/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import time
from typing import Any, Callable, Coroutine, List, Tuple

ROOT = pathlib.Path(__file__).resolve().parents[2]
_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


class Conn:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method: str, path: str, body: bytes = b"") -> Tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        match = _LENGTH.search(raw)
        length = int(match.group(1)) if match else 0
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    def close(self) -> None:
        self.writer.close()


async def _run_for(
    conns: List[Conn], seconds: float, step: Callable[[int, Conn], Coroutine[Any, Any, int]]
) -> Tuple[int, float]:
    """Run ``step`` in a loop on every connection for ``seconds``; total requests and time."""
    stop_at = time.perf_counter() + seconds
    counts = [0] * len(conns)

    async def worker(i: int, conn: Conn) -> None:
        while time.perf_counter() < stop_at:
            counts[i] += await step(i, conn)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i, c) for i, c in enumerate(conns)))
    return sum(counts), time.perf_counter() - started


async def bench(host: str, port: int, connections: int, seconds: float) -> List[str]:
    conns = [await Conn.open(host, port) for _ in range(connections)]
    lines = []

    async def health(_i: int, conn: Conn) -> int:
        status, _ = await conn.request("GET", "/health")
        assert status == 200
        return 1

    n, elapsed = await _run_for(conns, seconds, health)
    lines.append(f"health      {n / elapsed:10.0f} req/s")

    items = [{"queue": "bench-push", "partition": "P", "payload": {"i": i}} for i in range(100)]
    push_body = json.dumps({"items": items}).encode()

    async def push(_i: int, conn: Conn) -> int:
        status, body = await conn.request("POST", "/api/v1/push", push_body)
        assert status == 200 and body.startswith(b"["), body[:200]
        return 1

    n, elapsed = await _run_for(conns, seconds, push)
    lines.append(f"push100     {n / elapsed:10.0f} req/s  {100 * n / elapsed:10.0f} msg/s")

    # Pre-fill one partition per connection for the pop+ack cycles.
    per_partition = 20000
    for i, conn in enumerate(conns):
        for start in range(0, per_partition, 500):
            items = [
                {"queue": "bench-pa", "partition": f"p{i}", "payload": {"n": start + k}}
                for k in range(500)
            ]
            fill = json.dumps({"items": items}).encode()
            status, _ = await conn.request("POST", "/api/v1/push", fill)
            assert status == 200

    async def pop_ack(i: int, conn: Conn) -> int:
        path = f"/api/v1/pop/queue/bench-pa/partition/p{i}?batch=1"
        status, body = await conn.request("GET", path)
        assert status == 200
        messages = json.loads(body)["messages"]
        if not messages:
            raise RuntimeError("partition drained: raise per_partition")
        m = messages[0]
        ack = json.dumps(
            {
                "transactionId": m["transactionId"],
                "partitionId": m["partitionId"],
                "leaseId": m["leaseId"],
                "status": "completed",
            }
        ).encode()
        status, body = await conn.request("POST", "/api/v1/ack", ack)
        assert status == 200 and b'"success":true' in body, body
        return 1

    n, elapsed = await _run_for(conns, seconds, pop_ack)
    lines.append(f"pop+ack     {n / elapsed:10.0f} cycles/s ({2 * n / elapsed:.0f} req/s)")
    for conn in conns:
        conn.close()
    return lines


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--url", help="benchmark this running broker instead of spawning one")
    args = parser.parse_args()
    if args.url:
        host, port = args.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
        print(f"# {args.url}; {args.connections} connections, {args.seconds:g} s per scenario")
        for line in asyncio.run(bench(host, int(port), args.connections, args.seconds)):
            print(line)
        return 0
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "queen.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        host, port = url.removeprefix("http://").rsplit(":", 1)
        print(f"# {machine()}; {args.connections} connections, {args.seconds:g} s per scenario")
        for line in asyncio.run(bench(host, int(port), args.connections, args.seconds)):
            print(line)
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
