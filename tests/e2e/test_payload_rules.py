"""Payloads the broker cannot take are refused before anything is sent, on both brokers.

A NUL character makes the 0.15 broker answer a push ``buffered`` and retry it from its disk
buffer forever (the request's valid items are never stored either; the stuck file also keeps
later failover pushes from draining), so no test here sends one in a push. A transaction
carrying one fails with a database error, which is harmless and is checked on both brokers.
NaN/Infinity have no JSON form (orjson would send ``null``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import httpx
import pytest
from _brokers import BrokerHandle

from queen import Queen, QueenPayloadError

BAD = [
    ({"note": "a\x00b"}, "$.note", "NUL character"),
    ({"k\x00": 1}, "$", "NUL character"),
    ({"t": [1.0, math.nan]}, "$.t[1]", "NaN"),
    ({"t": math.inf}, "$.t", "Infinity"),
    ({"t": -math.inf}, "$.t", "-Infinity"),
]


def _client(broker: BrokerHandle) -> Queen:
    return Queen(broker.url, handle_signals=False)


async def _stored(queen: Queen, name: str) -> list:
    popped = await queen.queue(name).partition("p").batch(10).wait(False).pop()
    return [m["data"] for m in popped]


def _plain(queen: Queen, name: str, items: list) -> Any:
    return queen.queue(name).partition("p").push(items)


def _buffered(queen: Queen, name: str, items: list) -> Any:
    return queen.queue(name).partition("p").buffer({"message_count": 10}).push(items)


def _transaction(queen: Queen, name: str, items: list) -> Any:
    return queen.transaction().queue(name).partition("p").push(items)


@pytest.mark.parametrize(("payload", "path", "what"), BAD)
@pytest.mark.parametrize("mode", [_plain, _buffered, _transaction])
async def test_refused_before_sending(
    any_broker: BrokerHandle, mode: Callable[..., Any], payload: Any, path: str, what: str
) -> None:
    name = any_broker.name("payload")
    async with _client(any_broker) as queen:
        with pytest.raises(QueenPayloadError, match=f"item 1: .*{what}") as info:
            mode(queen, name, [{"data": "fine"}, {"data": payload}, {"data": "also fine"}])
        assert (info.value.index, info.value.path) == (1, path)
        await queen.flush_all_buffers()
        assert await _stored(queen, name) == []  # the valid items were not sent either
        await _plain(queen, name, [{"data": "after"}])
        assert await _stored(queen, name) == ["after"]


async def test_lookalikes_are_delivered_intact(any_broker: BrokerHandle) -> None:
    name = any_broker.name("payload-ok")
    payloads = ["\\u0000", {"null": None, "s": "null"}, [0.0, -0.0, 1e308]]
    async with _client(any_broker) as queen:
        await _plain(queen, name, [{"data": p} for p in payloads])
        assert await _stored(queen, name) == payloads


async def test_the_broker_fails_a_transaction_holding_a_nul(any_broker: BrokerHandle) -> None:
    # What the client guards against, on the wire (a transaction is safe to send: it fails
    # as a whole with a database error and leaves nothing behind).
    name = any_broker.name("payload-tx")
    body = {"operations": [{"type": "push", "items": [
        {"queue": name, "partition": "p", "payload": {"a": "x\x00y"}},
        {"queue": name, "partition": "p", "payload": {"b": 1}},
    ]}]}
    async with httpx.AsyncClient() as http:
        answer = (await http.post(any_broker.url + "/api/v1/transaction", json=body)).json()
    assert answer["success"] is False
    assert answer["error"].startswith("ERROR:  unsupported Unicode escape sequence")
    assert set(answer) == {"error", "success"}
    async with _client(any_broker) as queen:
        assert await _stored(queen, name) == []
