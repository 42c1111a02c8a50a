"""How large should a buffered producer's requests grow? The sweep behind the request cap.

``QUEEN_URL=... python -m bench.buffer_cap [--rounds 3]`` against a real broker (started
without ``--fast`` for published figures) prints three markdown tables, sizes interleaved
within each round, medians over the rounds:

1. one push request of N ~200-byte messages at a time: latency and messages/s;
2. one push request of B bytes (2 KB messages) at a time: latency and MB/s;
3. the buffered producer of ``bench.run`` (one ``push()`` per message, ``message_count`` 100,
   ``time_millis`` 100) with the per-request cap set to each size
   (``queen._buffer.REQUEST_MESSAGES``): messages/s and client CPU per 1000 messages.

One request is in flight at a time in all three, as in a buffer (order per partition).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Dict, List, Tuple

import queen._buffer
from queen import Queen

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "runners"))
from _common import payload

MESSAGE_SIZES = [100, 250, 500, 1000, 2000, 4000]
BYTE_SIZES = [256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20]
CAPS = [250, 500, 1000, 2000, 4000]
BIG = "z" * 1900  # with its envelope, a ~2 KB item


async def _push_latency(queen: Queen, name: str, items: List[dict], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await queen.queue(name).push(items)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


async def _buffered(url: str, cap: int, n: int) -> Tuple[float, float]:
    queen._buffer.REQUEST_MESSAGES = cap
    messages = [{"data": payload(i)} for i in range(n)]
    options = {"message_count": 100, "time_millis": 100}
    async with Queen(url, handle_signals=False) as client:
        name = f"bench-cap-{cap}-{os.getpid()}-{time.monotonic_ns()}"
        await client.queue(name).create()
        cpu, wall = time.process_time(), time.perf_counter()
        for m in messages:
            await client.queue(name).buffer(options).push([m])
        await client.flush_all_buffers()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return n / wall, cpu * 1e6 / n


async def main(url: str, rounds: int, n: int) -> None:
    by_count: Dict[int, List[float]] = {s: [] for s in MESSAGE_SIZES}
    by_bytes: Dict[int, List[float]] = {s: [] for s in BYTE_SIZES}
    by_cap: Dict[int, List[Tuple[float, float]]] = {c: [] for c in CAPS}
    default_cap = queen._buffer.REQUEST_MESSAGES
    async with Queen(url, handle_signals=False) as client:
        name = f"bench-reqsize-{os.getpid()}"
        await client.queue(name).create()
        for _ in range(rounds):
            for size in MESSAGE_SIZES:
                items = [{"data": payload(i)} for i in range(size)]
                by_count[size].append(await _push_latency(client, name, items, 5))
            for size in BYTE_SIZES:
                items = [{"data": [i, BIG]} for i in range(size // 2000)]
                by_bytes[size].append(await _push_latency(client, name, items, 3))
            for cap in CAPS:
                by_cap[cap].append(await _buffered(url, cap, n))
    queen._buffer.REQUEST_MESSAGES = default_cap
    print("| messages per request | latency (ms) | messages/s |\n|---|---|---|")
    for size, values in by_count.items():
        lat = statistics.median(values)
        print(f"| {size} | {lat * 1000:.1f} | {size / lat:,.0f} |")
    print("\n| request body | latency (ms) | MB/s |\n|---|---|---|")
    for size, values in by_bytes.items():
        lat = statistics.median(values)
        print(f"| {size >> 10} KiB | {lat * 1000:.1f} | {size / lat / 1e6:.1f} |")
    print("\n| request cap (messages) | buffered producer msgs/s | CPU ms per 1000 msgs |"
          "\n|---|---|---|")
    for cap, results in by_cap.items():
        rate = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        mark = " (the default)" if cap == default_cap else ""
        print(f"| {cap}{mark} | {rate:,.0f} | {cpu:.2f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="python -m bench.buffer_cap", description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=50_000, help="per buffered-producer run")
    args = ap.parse_args()
    target = os.environ.get("QUEEN_URL")
    if not target:
        sys.exit("set QUEEN_URL to a broker (a real one, started without --fast)")
    asyncio.run(main(target, args.rounds, args.messages))
