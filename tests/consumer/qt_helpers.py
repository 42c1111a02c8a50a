"""Helpers shared by the consumer/producer tests."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List

from queen import Queen


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms until it holds; fail the test after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


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

