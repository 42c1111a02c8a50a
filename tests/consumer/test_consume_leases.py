"""The consumer reads what a nack says about the lease, and gives back what it holds when its
task is cancelled: no partition stays leased for ``lease_time`` (300 s here), no message lost.

On both brokers. A pop right after ``consume()`` returns proves the lease was released: with
the partition still leased it would come back empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any, AsyncIterator, List, Set

import pytest
from _brokers import BrokerHandle
from _proxy import FaultProxy

from queen import Queen

ROOT = Path(__file__).resolve().parents[2]


def _client(broker: BrokerHandle) -> Queen:
    return Queen(broker.url, handle_signals=False, retry_delay_millis=20)


async def _setup(queen: Queen, name: str, retry_limit: int, count: int = 3) -> None:
    await queen.queue(name).config({"retry_limit": retry_limit, "lease_time": 300}).create()
    await queen.queue(name).partition("p").push([{"data": i} for i in range(count)])


async def _dead(queen: Queen, name: str) -> List[Any]:
    entries = (await queen.queue(name).dlq().limit(50).get())["messages"]
    return sorted(e["data"] for e in entries)


async def _left(queen: Queen, name: str) -> List[Any]:
    return [m["data"] for m in await queen.queue(name).partition("p").batch(50).wait(False).pop()]


@pytest.mark.parametrize(
    ("retry_limit", "failing", "seen_expected", "dead_expected"),
    [
        # retry_limit 0: the nack of message 0 dead-letters it and answers dlq:true,
        # leaseReleased:false, the lease still covering 1 and 2. The reference dead-letters
        # all three; skipping them left the partition leased for lease_time.
        (0, {0, 1, 2}, [0, 1, 2], [0, 1, 2]),
        # retry_limit 1, message 0 always fails: the first nack releases the lease (the batch
        # comes back), the second dead-letters 0 and the consumer goes on with 1 and 2.
        (1, {0}, [0, 0, 1, 2], [0]),
    ],
)
async def test_each_acts_on_the_nack_answer(
    any_broker: BrokerHandle,
    retry_limit: int,
    failing: Set[int],
    seen_expected: List[int],
    dead_expected: List[int],
) -> None:
    name = any_broker.name("each-nack")
    seen: List[Any] = []

    async def handler(message: Any) -> None:
        seen.append(message["data"])
        if message["data"] in failing:
            raise RuntimeError("no")

    async with _client(any_broker) as queen:
        await _setup(queen, name, retry_limit=retry_limit)
        await queen.queue(name).batch(3).each().wait(False).idle_millis(1000).consume(handler)
        assert seen == seen_expected
        assert await _dead(queen, name) == dead_expected
        assert await _left(queen, name) == []


async def test_failing_batch_loses_no_message(any_broker: BrokerHandle) -> None:
    # retry_limit 1: a whole-batch nack on the first delivery spends the last retry on
    # message 0, dead-letters 1 and 2 past it and loses 0. All three must end in the DLQ.
    name = any_broker.name("batch-nack")
    deliveries: List[List[Any]] = []

    async def handler(messages: List[Any]) -> None:
        deliveries.append([m["data"] for m in messages])
        raise RuntimeError("batch")

    async with _client(any_broker) as queen:
        await _setup(queen, name, retry_limit=1)
        await queen.queue(name).batch(3).wait(False).idle_millis(1000).consume(handler)
        assert deliveries == [[0, 1, 2], [0, 1, 2]]
        assert await _dead(queen, name) == [0, 1, 2]
        assert await _left(queen, name) == []


async def test_unconfirmed_nack_gives_the_partition_back(any_broker: BrokerHandle) -> None:
    # The nack of message 0 gets no answer (every attempt fails with a 500 and never reaches
    # the broker): the lease may still be held, so the consumer must not ack 1 and 2 past it;
    # it gives the partition back at once with a retry ack.
    name = any_broker.name("each-lost-nack")
    seen: List[Any] = []

    async def handler(message: Any) -> None:
        seen.append(message["data"])
        if len(seen) == 1:
            raise RuntimeError("first time only")

    async with _client(any_broker) as setup:
        await _setup(setup, name, retry_limit=3)
    async with acks_refused(any_broker, times=3) as url, Queen(
        url, handle_signals=False, retry_delay_millis=20
    ) as queen:
        await queen.queue(name).batch(3).each().wait(False).idle_millis(1000).consume(handler)
        assert seen == [0, 0, 1, 2]  # given back, redelivered at once
        assert await _dead(queen, name) == []
        assert await _left(queen, name) == []


@contextlib.asynccontextmanager
async def acks_refused(broker: BrokerHandle, times: int) -> AsyncIterator[str]:
    """The URL to use: the next ``times`` ack requests fail with a 500 and change nothing."""
    if broker.server is not None:
        broker.server.nodes[0].faults.error(500, count=times, path="/api/v1/ack")
        yield broker.url
        return
    async with FaultProxy(broker.url) as proxy:
        proxy.error("/api/v1/ack", count=times)
        yield proxy.url
        assert len(proxy.refused) == times


@pytest.mark.parametrize("each", [False, True])
async def test_cancelled_consume_releases_what_it_held(
    any_broker: BrokerHandle, each: bool
) -> None:
    name = any_broker.name("cancel")
    handled: List[Any] = []
    stuck = asyncio.Event()

    async def handler(arg: Any) -> None:
        handled.append(arg["data"] if each else [m["data"] for m in arg])
        if not each or arg["data"] == 1:
            stuck.set()
            await asyncio.sleep(3600)

    async with _client(any_broker) as queen:
        await _setup(queen, name, retry_limit=3)
        builder = queen.queue(name).partition("p").batch(3)
        task = asyncio.ensure_future((builder.each() if each else builder).consume(handler))
        await asyncio.wait_for(stuck.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Message 0 was acked in each mode; the rest was given back and is poppable now.
        assert await _left(queen, name) == ([1, 2] if each else [0, 1, 2])


CTRL_C = """
    import asyncio, sys
    from queen import Queen

    async def main(url, name):
        queen = Queen(url, handle_signals=False)

        async def handler(messages):
            print("STUCK", flush=True)
            await asyncio.sleep(3600)

        await queen.queue(name).partition("p").batch(3).consume(handler)

    asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_ctrl_c_without_signal_handling_releases_the_batch(
    any_broker: BrokerHandle,
) -> None:
    name = any_broker.name("ctrl-c")
    async with _client(any_broker) as queen:
        await _setup(queen, name, retry_limit=3)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", textwrap.dedent(CTRL_C), any_broker.url, name,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
            assert line.strip() == b"STUCK"
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert b"KeyboardInterrupt" in err  # Ctrl-C does what it always does...
        assert await _left(queen, name) == [0, 1, 2]  # ...and the batch was given back


async def test_each_with_on_error_hands_over_every_message(any_broker: BrokerHandle) -> None:
    # Without auto-ack the on_error callback owns acknowledgement: a failure skips nothing.
    name = any_broker.name("each-on-error")
    failed: List[Any] = []

    async def handler(message: Any) -> None:
        if message["data"] == 0:
            raise RuntimeError("zero")

    async def on_error(message: Any, error: BaseException) -> None:
        failed.append(message["data"])

    async with _client(any_broker) as queen:
        await _setup(queen, name, retry_limit=3)
        done: List[Any] = []

        async def on_success(message: Any, result: Any) -> None:
            done.append(message["data"])
            await queen.ack(message)

        await (
            queen.queue(name).batch(3).each().wait(False).idle_millis(1000)
            .consume(handler).on_error(on_error).on_success(on_success)
        )
        assert (failed, done) == ([0], [1, 2])
