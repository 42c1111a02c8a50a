"""Helpers of the end-to-end streams tests: push a workload, read a sink, kill a runner.

The expected window totals are computed from the source messages as the broker stored them
(their ``createdAt``), read back through a separate consumer group, so a processing-time
window check does not depend on when the runner happened to see a message.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import httpx

from queen import Queen
from queen.streams._time import parse_iso_ms

__all__ = ["Killer", "drain", "expected_windows", "kill", "push_values", "wait_for"]


async def push_values(queen: Queen, queue: str, partitions: List[str], per_partition: int,
                      value: Callable[[str, int], Dict[str, Any]], chunk: int = 100) -> None:
    for p in partitions:
        for start in range(0, per_partition, chunk):
            items = [{"data": value(p, i)} for i in range(start, min(per_partition,
                                                                      start + chunk))]
            await queen.queue(queue).partition(p).push(items)


async def drain(queen: Queen, queue: str, group: str) -> List[Dict[str, Any]]:
    """Every message of ``queue`` not yet seen by ``group`` (acked at delivery)."""
    out: List[Dict[str, Any]] = []
    while True:
        got = await (queen.queue(queue).group(group).batch(1000).partitions(100).wait(False)
                     .commit_on_delivery().pop())
        if not got:
            return out
        out.extend(got)


def expected_windows(messages: List[Dict[str, Any]], size_ms: int, field: str = "v"
                     ) -> Dict[Tuple[str, int], Tuple[int, int]]:
    """``{(partition id, window start): (count, sum of data[field])}`` by ``createdAt``."""
    out: Dict[Tuple[str, int], Tuple[int, int]] = {}
    for m in messages:
        ts = parse_iso_ms(m["createdAt"])
        assert ts is not None
        key = (m["partitionId"], ts // size_ms * size_ms)
        count, total = out.get(key, (0, 0))
        out[key] = (count + 1, total + m["data"][field])
    return out


def emitted_windows(sink_messages: List[Dict[str, Any]]) -> Dict[Tuple[str, int], Tuple[int, int]]:
    """Per (key, windowStart), the summed count and sum of every emission of that window
    (a processing-time window may be emitted in parts; parts must add up)."""
    out: Dict[Tuple[str, int], Tuple[int, int]] = {}
    for m in sink_messages:
        d = m["data"]
        key = (d["key"], d["windowStart"])
        count, total = out.get(key, (0, 0))
        out[key] = (count + d["count"], total + d["sum"])
    return out


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 30.0,
                   interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


class Killer(httpx.AsyncBaseTransport):
    """Wraps a runner's ``/streams/v1/*`` transport and kills the runner at a chosen point.

    ``point`` is ``"before:<path>"`` (the request is never sent) or ``"after:<path>"`` (the
    broker processed it, the runner never sees the answer), where ``<path>`` may also be
    ``flush`` (an idle-flush cycle); the ``nth`` such request is the one. Killing cancels the
    runner's tasks, as the death of its process would; every later request through this
    transport fails.
    """

    def __init__(self, runner: Any, point: str, nth: int = 1) -> None:
        self.runner = runner
        self.inner = runner.http._client._transport
        self.when, _, self.path = point.partition(":")
        self.nth = nth
        self.seen = 0
        self.dead = False
        self.fired = asyncio.get_running_loop().create_future()

    def _kill(self) -> None:
        self.dead = True
        kill(self.runner)
        if not self.fired.done():
            self.fired.set_result(None)

    def _matches(self, request: httpx.Request) -> bool:
        if self.path == "flush":  # an idle-flush cycle: no source ack
            return request.url.path == "/streams/v1/cycle" and b'"ack":null' in request.content
        return request.url.path == self.path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.dead:
            raise httpx.ConnectError("runner is dead", request=request)
        await request.aread()
        hit = self._matches(request)
        if hit:
            self.seen += 1
            hit = self.seen == self.nth
        if hit and self.when == "before":
            self._kill()
            raise httpx.ConnectError("runner killed", request=request)
        response = await self.inner.handle_async_request(request)
        if hit:
            self._kill()
            raise httpx.ReadError("runner killed", request=request)
        return response


def kill(runner: Any) -> None:
    """Cancel the runner's tasks without any clean-up, like a killed process."""
    runner._stopped = True
    for task in (runner._loop_task, runner._flush_task, runner._pop_task):
        if task is not None and not task.done():
            task.cancel()


def arm(runner: Any, point: str, nth: int = 1) -> Killer:
    killer = Killer(runner, point, nth)
    runner.http._client = httpx.AsyncClient(transport=killer)
    return killer


async def close_dead(runner: Any, killer: Optional[Killer] = None) -> None:
    for task in (runner._loop_task, runner._flush_task):
        if task is not None:
            try:
                await task
            except BaseException:  # the task was cancelled on purpose
                pass
    if killer is not None:
        await killer.inner.aclose()
    await runner.http.close()
