"""A windowed stream job demo: ``python -m queen.demo_streams``.

With ``QUEEN_URL`` set it talks to that broker; without it, it starts the embedded test broker
of :mod:`queen.testing` (``pip install 'queen-turbo[testing]'``). It pushes ``--messages``
clicks ``{"user", "amount"}`` over ``--partitions`` partitions, runs

    Stream.from_(clicks).key_by(user).window_tumbling(seconds=1)
          .aggregate({"clicks": 1, "amount": amount}).map(add the window).to(per_user)

and reads the per-user, per-second totals from the sink. It checks that the totals add up to
exactly what was pushed (no click lost or counted twice) and exits non-zero otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from contextlib import AsyncExitStack
from typing import Any, Dict, List, Optional

from . import Message, Queen, Stream
from .demo import broker_url

__all__ = ["main", "run_streams_demo"]

USERS = ("ada", "bob", "cyd", "dee")


async def _drain(queen: Queen, queue: str) -> List[Message]:
    out: List[Message] = []
    while True:
        got = await (queen.queue(queue).group("demo-reader").batch(1000).partitions(64)
                     .wait(False).commit_on_delivery().pop())
        if not got:
            return out
        out.extend(got)


async def run_streams_demo(
    url: Optional[str] = None,
    *,
    messages: int = 2000,
    partitions: int = 8,
    timeout: float = 60.0,
    out: Any = sys.stdout,
) -> Dict[str, Any]:
    """Run the demo and return its report (``ok`` tells whether every check passed)."""
    async with AsyncExitStack() as stack:
        url = await broker_url(stack, url, out)
        queen = await stack.enter_async_context(Queen(url, handle_signals=False))
        tag = int(time.time() * 1000)
        clicks, per_user = f"demo-clicks-{tag}", f"demo-clicks-per-user-{tag}"
        await queen.queue(clicks).create()
        await queen.queue(per_user).create()

        runner = await (
            Stream.from_(queen.queue(clicks))
            .key_by(lambda m: m["data"]["user"])
            .window_tumbling(seconds=1, idle_flush_ms=250)
            .aggregate({"clicks": lambda v: 1, "amount": lambda v: v["amount"]})
            .map(lambda v, ctx: {**v, "user": ctx["key"], "window": ctx["windowKey"]})
            .to(queen.queue(per_user))
            .run(query_id=f"demo-clicks-per-user-{tag}", url=url)
        )
        expected = {u: [0, 0] for u in USERS}
        started = time.perf_counter()
        for start in range(0, messages, 100):
            items = []
            for i in range(start, min(messages, start + 100)):
                user, amount = USERS[i % len(USERS)], i % 7 + 1
                expected[user][0] += 1
                expected[user][1] += amount
                items.append({"data": {"user": user, "amount": amount}})
            await queen.queue(clicks).partition(f"p{(start // 100) % partitions}").push(items)
        print(f"pushed {messages} clicks over {partitions} partitions", file=out)

        totals = {u: [0, 0] for u in USERS}
        windows = 0
        deadline = time.monotonic() + timeout
        while sum(c for c, _ in totals.values()) < messages and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            for m in await _drain(queen, per_user):
                row = m["data"]
                totals[row["user"]][0] += row["clicks"]
                totals[row["user"]][1] += row["amount"]
                windows += 1
        elapsed = time.perf_counter() - started
        metrics = runner.metrics()
        await runner.stop()
        for user in USERS:
            print(f"  {user}: {totals[user][0]} clicks, amount {totals[user][1]}", file=out)
    ok = totals == expected
    print(f"{windows} window totals in {elapsed:.2f}s, {metrics['cyclesTotal']} cycles, "
          f"{metrics['flushCyclesTotal']} idle flushes; exactly once: {ok}", file=out)
    return {"ok": ok, "messages": messages, "windows": windows, "totals": totals,
            "expected": expected, "seconds": round(elapsed, 3), "metrics": metrics}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queen.demo_streams",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("QUEEN_URL"))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args(argv)
    report = asyncio.run(run_streams_demo(args.url, messages=args.messages,
                                          partitions=args.partitions))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
