"""A producer/consumer demo: ``python -m queen.demo``.

With ``QUEEN_URL`` set it talks to that broker; without it, it starts the embedded test broker
of :mod:`queen.testing` (``pip install 'queen-turbo[testing]'``). A buffered producer pushes
``--messages`` messages across ``--partitions`` partitions; a consumer group with
``--concurrency`` workers consumes them in batches and acknowledges them. The demo checks
that every message arrived exactly once and in order within its partition, and exits
non-zero otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from contextlib import AsyncExitStack
from typing import Any, Dict, List, Optional

from . import Queen

__all__ = ["broker_url", "main", "run_demo"]


async def broker_url(stack: AsyncExitStack, url: Optional[str], out: Any) -> str:
    """``url``, or the URL of an embedded test broker started on ``stack`` when it is None."""
    if url is not None:
        return url
    from .testing import QueenTestServer

    server = await stack.enter_async_context(QueenTestServer())
    print(f"embedded test broker at {server.url} (set QUEEN_URL to use a real one)", file=out)
    return str(server.url)


async def run_demo(
    url: Optional[str] = None,
    *,
    messages: int = 10000,
    partitions: int = 16,
    concurrency: int = 4,
    batch: int = 100,
    out: Any = sys.stdout,
) -> Dict[str, Any]:
    """Run the demo and return its report (``ok`` tells whether every check passed)."""
    async with AsyncExitStack() as stack:
        url = await broker_url(stack, url, out)
        queen = await stack.enter_async_context(Queen(url, handle_signals=False))
        queue = f"demo-{int(time.time() * 1000)}"
        await queen.queue(queue).create()

        started = time.perf_counter()
        for i in range(messages):
            await (
                queen.queue(queue)
                .partition(f"p{i % partitions}")
                .buffer({"message_count": 500, "time_millis": 50})
                .push({"data": {"seq": i // partitions, "n": i}})
            )
        await queen.flush_all_buffers()
        pushed_in = time.perf_counter() - started
        print(f"pushed {messages} messages in {pushed_in:.2f}s", file=out)

        seen: Dict[str, List[int]] = {}
        done = asyncio.Event()
        count = 0

        def handle(batch_of: Any) -> None:
            nonlocal count
            for message in batch_of if isinstance(batch_of, list) else [batch_of]:
                seen.setdefault(message["partition"], []).append(message["data"]["seq"])
                count += 1
            if count >= messages:
                done.set()

        started = time.perf_counter()
        await (
            queen.queue(queue)
            .group("demo")
            .concurrency(concurrency)
            .batch(batch)
            .timeout_millis(1000)
            .idle_millis(5000)
            .consume(handle, signal=done)
        )
        consumed_in = time.perf_counter() - started
        print(f"consumed {count} messages in {consumed_in:.2f}s", file=out)

        in_order = all(seqs == sorted(seqs) for seqs in seen.values())
        exactly_once = count == messages and all(
            len(seqs) == len(set(seqs)) for seqs in seen.values()
        )
        await queen.queue(queue).delete()
    report = {
        "ok": in_order and exactly_once,
        "pushed": messages,
        "consumed": count,
        "partitions": len(seen),
        "in_order": in_order,
        "exactly_once": exactly_once,
        "push_seconds": round(pushed_in, 3),
        "consume_seconds": round(consumed_in, 3),
    }
    print(
        "exactly once: {exactly_once}, ordered per partition: {in_order}".format(**report),
        file=out,
    )
    return report


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queen.demo", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("QUEEN_URL"))
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args(argv)
    report = asyncio.run(
        run_demo(
            args.url,
            messages=args.messages,
            partitions=args.partitions,
            concurrency=args.concurrency,
            batch=args.batch,
        )
    )
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
