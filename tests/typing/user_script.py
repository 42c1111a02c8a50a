"""A user's program, fully annotated: ``mypy --strict`` must accept it as it stands, and the
``assert_type`` lines pin what each call gives back (tests/typing/test_mypy.py runs it).

It runs too: ``python tests/typing/user_script.py http://localhost:6632``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any, Dict, List

import httpx

from queen import (
    AckResponse,
    BufferStats,
    DLQResponse,
    Message,
    Queen,
    QueenError,
    QueenHttpError,
    TransactionResponse,
)

if TYPE_CHECKING:
    from typing_extensions import assert_type


def log_failure(messages: Any, error: Exception) -> None:
    print("failed:", error, messages)


async def handle_one(message: Message) -> None:
    print("one:", message["data"], message.get("partition"))


def handle_many(messages: List[Message]) -> int:
    return len(messages)


def handle_plain_dict(message: Dict[str, Any]) -> None:
    print("dict:", message["transactionId"])


async def main(url: str) -> None:
    async with Queen(url, handle_signals=False, timeout_millis=10_000) as queen:
        await queen.queue("typed").config({"lease_time": 30}).create()
        await queen.queue("typed").partition("p").push([{"data": {"n": n}} for n in range(4)])

        messages = await queen.queue("typed").partition("p").batch(2).wait(False).pop()
        if TYPE_CHECKING:
            assert_type(messages, List[Message])
        for message in messages:
            traced = await message["trace"]({"data": {"step": "seen"}, "eventType": "info"})
            if TYPE_CHECKING:
                assert_type(traced, Dict[str, Any])

        acked = await queen.ack(messages)
        single = await queen.ack(messages[0], False, {"group": "g"}, error="boom")
        if TYPE_CHECKING:
            assert_type(acked, AckResponse)
            assert_type(single, AckResponse)
        print(acked.get("success"), acked.get("failed", []), single.get("leaseReleased"))

        more = await queen.queue("typed").partition("p").batch(2).wait(False).pop()
        if more:
            one = await queen.renew(more[0], seconds=30)
            many = await queen.renew(more)
            if TYPE_CHECKING:
                assert_type(one, Dict[str, Any])
                assert_type(many, List[Dict[str, Any]])
            committed = await (
                queen.transaction()
                .ack(more)
                .queue("typed-out")
                .partition("p")
                .push([{"data": {"moved": True}}])
                .commit()
            )
            if TYPE_CHECKING:
                assert_type(committed, TransactionResponse)
            print(committed.get("transactionId"))

        dead = await queen.queue("typed").dlq("g").limit(10).get()
        stats = queen.get_buffer_stats()
        if TYPE_CHECKING:
            assert_type(dead, DLQResponse)
            assert_type(stats, BufferStats)
        print(dead.get("total"), stats.get("totalBufferedMessages"))

        await queen.queue("typed").wait(False).limit(1).idle_millis(1000).consume(handle_one)
        await (
            queen.queue("typed").group("batch").batch(10).wait(False).idle_millis(1000)
            .consume(handle_many)
            .on_success(lambda batch, result: print("handled", result))
            .on_error(log_failure)
        )
        await queen.queue("typed").group("dicts").wait(False).idle_millis(1000).consume(
            handle_plain_dict
        )

        try:
            await queen.admin.seek_consumer_group("g", "typed")
        except httpx.HTTPStatusError as error:  # code written for queen-mq catches this
            print(error.response.status_code, error.request.url)
        except QueenHttpError as error:
            print(error.status, error.body)
        except QueenError as error:
            print(error.retriable)

        await queen.queue("typed").delete()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:6632"))
