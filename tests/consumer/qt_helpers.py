"""Helpers shared by the consumer/producer tests."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable, List

from _brokers import BrokerHandle

from queen import Queen


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms until it holds; fail the test after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Await ``check()`` every 50 ms until it is true; fail the test after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def stored(client: Queen, queue: str, partition: str = "Default") -> List[Any]:
    """Payloads stored in a partition, oldest first, read through a consumer group of its
    own (so queue-mode consumption is untouched) on either broker."""
    inspector = "inspect-" + uuid.uuid4().hex[:8]
    msgs = await (client.queue(queue).partition(partition).group(inspector).batch(10000)
                  .wait(False).auto_ack(True).pop())
    return [m["data"] for m in msgs]


async def completed(client: Queen, queue: str) -> int:
    """Messages of ``queue`` the broker lists as completed (acknowledged past)."""
    return len((await client.admin.list_messages(queue=queue, status="completed"))["messages"])


async def create_queue(client: Queen, name: str, **options: Any) -> None:
    await client.queue(name).config(options).create()


def _is_broker_task(task: asyncio.Task) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and "queen/testing/" in code.co_filename.replace("\\", "/")


def pending_tasks() -> List[asyncio.Task]:
    """Unfinished tasks of the client side (the in-process broker's own tasks excluded)."""
    current = asyncio.current_task()
    return [
        t for t in asyncio.all_tasks()
        if t is not current and not t.done() and not _is_broker_task(t)
    ]


class E2E:
    """A test's broker (either kind) with client factory and unique names.

    Attributes:
        broker: the :class:`BrokerHandle` (``broker.real`` tells which kind).
        client: a client of the broker, closed after the test.
    """

    def __init__(self, broker: BrokerHandle) -> None:
        self.broker = broker
        self._clients: List[Queen] = []
        self.client = self.make_client()

    @property
    def real(self) -> bool:
        return self.broker.real

    def name(self, prefix: str = "q") -> str:
        """A queue (or group) name unique to this call."""
        return self.broker.name(prefix)

    def make_client(self, urls: Any = None, **options: Any) -> Queen:
        options.setdefault("handle_signals", False)
        options.setdefault("retry_delay_millis", 20)
        client = Queen(urls if urls is not None else self.broker.url, **options)
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.close(timeout_millis=2000)
