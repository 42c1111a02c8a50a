"""Mistakes ``mypy --strict`` must catch in a user's program: each line marked ``# error``
must be reported, and no other (tests/typing/test_mypy.py)."""

from __future__ import annotations

from typing import List

from queen import Message, Queen


async def misuse(queen: Queen, messages: List[Message]) -> None:
    queen.queue("q").batch("ten")  # error
    queen.queue("q").consume(lambda message, extra: None)  # error
    await queen.ack(42)  # error
    print(messages[0]["no_such_field"])  # error
    stats = queen.get_buffer_stats()
    print(stats["activeBuffers"] + "x")  # error
    renewed = await queen.renew(messages)
    print(renewed["success"])  # error
    committed = await queen.transaction().ack(messages).commit()
    print(committed["results"].upper())  # error
    dead = await queen.queue("q").dlq().get()
    dead["total"] = "many"  # error
