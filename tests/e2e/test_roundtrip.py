"""The simplest end-to-end path on both brokers: push, pop, ack, and the queue is drained."""

from __future__ import annotations

from queen import Queen


async def test_push_pop_ack_roundtrip(any_broker) -> None:
    name = any_broker.name("roundtrip")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).create()
        await queen.queue(name).partition("p1").push([{"data": {"n": i}} for i in range(5)])

        messages = await queen.queue(name).partition("p1").batch(10).wait(False).pop()
        assert [m["data"]["n"] for m in messages] == [0, 1, 2, 3, 4]
        assert all(m["partition"] == "p1" for m in messages)

        answer = await queen.ack(messages)
        assert answer["success"] is True

        assert await queen.queue(name).partition("p1").batch(10).wait(False).pop() == []
