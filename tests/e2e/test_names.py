"""Queue, partition and consumer-group names: one rule, checked at the first call.

What a live 0.15 broker accepts (raw UTF-8 in a path segment, which it never decodes): every
printable character except ``/`` and ``?``, non-ASCII text included; a space or a control
character breaks the request line; more than 255 characters overflow ``VARCHAR(255)``. A
name the client accepts must work in every position — configure and push bodies, the pop
paths of ``pop()`` and ``consume()``, acks, the DLQ query, the admin and delete paths — on
the real broker and on ``queen.testing`` alike; every other name fails at the first call
that takes it, before anything is sent.
"""

from __future__ import annotations

from typing import Any, Callable, List

import pytest

from queen import Queen, QueenTypeError, QueenValidationError

ADDRESSABLE = [
    "ümlaut",
    "日本-😀",
    "a#b",
    "100%",
    "a%20b",
    'q"\\x',
    "x+y&z=1;@:!$'()*,~[]{}|^`<>",
]

UNADDRESSABLE = [
    "has space",
    "a/b",
    "q?x=1",
    "tab\there",
    "nul\x00",
    "del\x7f",
    "x" * 256,
    "lone\ud800surrogate",
]


@pytest.mark.parametrize("transport", ["lean", "httpx"])
@pytest.mark.parametrize("name", ADDRESSABLE)
async def test_an_accepted_name_works_in_every_position(
    any_broker: Any, name: str, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both HTTP/1.1 routes must send the raw name: the lean one and httpx (https:// URLs).
    monkeypatch.setenv("QUEEN_TRANSPORT", transport)
    queue = f"{any_broker.name('nm')}-{name}"
    partition = f"p-{name}"
    group = f"{any_broker.name('g')}-{name}"
    async with Queen(any_broker.url, handle_signals=False) as queen:
        created = await queen.queue(queue).config({"retry_limit": 0}).create()
        assert created["configured"] is True
        await queen.queue(queue).partition(partition).push(
            [{"data": {"n": n}} for n in (1, 2, 3)]
        )

        # The partition route of pop(), in a consumer group (a long poll: a loaded broker
        # can take a moment to show a push to pops).
        popped = await (
            queen.queue(queue).partition(partition).group(group).timeout_millis(10000).pop()
        )
        assert [(m["data"]["n"], m["partition"]) for m in popped] == [(1, partition)]
        assert (await queen.ack(popped[0], True, {"group": group}))["success"] is True

        # The queue route consume() takes.
        seen: List[int] = []
        await (
            queen.queue(queue).group(group).wait(False).limit(1).idle_millis(10000)
            .consume(lambda m: seen.append(m["data"]["n"]))
        )
        assert seen == [2]

        # The DLQ query and the admin path.
        last = await (
            queen.queue(queue).partition(partition).group(group).timeout_millis(10000).pop()
        )
        assert (await queen.ack(last[0], "dlq", {"group": group}))["success"] is True
        dead = await queen.queue(queue).dlq(group).get()
        assert [entry["data"]["n"] for entry in dead["messages"]] == [3]
        assert (await queen.admin.get_queue(queue))["name"] == queue

        await queen.delete_consumer_group(group)
        deleted = await queen.queue(queue).delete()
        assert (deleted["queue"], deleted["existed"]) == (queue, True)


def _first_calls(queen: Queen) -> List[Callable[[str], Any]]:
    return [
        lambda n: queen.queue(n),
        lambda n: queen.queue("ok").partition(n),
        lambda n: queen.queue("ok").group(n),
        lambda n: queen.queue("ok").namespace(n),
        lambda n: queen.queue("ok").task(n),
        lambda n: queen.queue("ok").dlq(n),
        lambda n: queen.transaction().queue(n),
        lambda n: queen.transaction().queue("ok").partition(n),
    ]


@pytest.mark.parametrize("name", UNADDRESSABLE)
async def test_any_other_name_fails_at_the_first_call(any_broker: Any, name: str) -> None:
    async with Queen(any_broker.url, handle_signals=False) as queen:
        for call in _first_calls(queen):
            with pytest.raises(QueenValidationError) as info:
                call(name)
            text = str(info.value)
            assert repr(name) in text or (len(name) > 255 and "longer than 255" in text)
        with pytest.raises(QueenValidationError):
            await queen.delete_consumer_group(name)
        with pytest.raises(QueenValidationError):
            await queen.admin.get_queue(name)
        with pytest.raises(QueenValidationError):
            await queen.update_consumer_group_timestamp(name, "now")


async def test_names_must_be_strings(any_broker: Any) -> None:
    async with Queen(any_broker.url, handle_signals=False) as queen:
        for call in _first_calls(queen):
            with pytest.raises(QueenTypeError, match="must be a string, got 42"):
                call(42)  # type: ignore[arg-type]


async def test_transaction_ids_are_not_names(any_broker: Any) -> None:
    # Ids travel in bodies only: any string of up to 255 characters, as in a plain push.
    queue = any_broker.name("ids")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(queue).push({"data": 1, "transactionId": "order/1 ?a"})
        committed = await (
            queen.transaction().queue(queue).push({"data": 2, "transactionId": "order/2 ?b"})
            .commit()
        )
        assert committed["success"] is True
        ids: List[str] = []
        while len(ids) < 2:
            got = await queen.queue(queue).batch(2).timeout_millis(10000).pop()
            assert got, ids
            ids += [m["transactionId"] for m in got]
            assert (await queen.ack(got))["success"] is True
        assert sorted(ids) == ["order/1 ?a", "order/2 ?b"]
        with pytest.raises(QueenValidationError, match="255"):
            queen.transaction().queue(queue).push({"data": 3, "transactionId": "x" * 256})
