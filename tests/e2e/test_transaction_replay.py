"""A transaction whose answer is lost is replayed without storing anything twice.

The broker commits, the connection drops before the answer, the client sends the request
again. On ``queen.testing`` the answer is lost with ``faults.drop(after_processing=True)``; on
the real broker with a proxy that reads the answer and closes the connection instead.
"""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

import pytest
from _brokers import BrokerHandle
from _proxy import FaultProxy

from queen import Queen, QueenConnectionError, QueenServerError

ROUTE = "/api/v1/transaction"


@contextlib.asynccontextmanager
async def next_answer_lost(broker: BrokerHandle) -> AsyncIterator[str]:
    """The URL to use: the next transaction's answer is lost after the broker committed."""
    if broker.server is not None:
        rule = broker.server.nodes[0].faults.drop(count=1, path=ROUTE, after_processing=True)
        yield broker.url
        assert rule.hits == 1
        return
    async with FaultProxy(broker.url) as proxy:
        proxy.drop_answer(ROUTE)
        yield proxy.url
        assert proxy.dropped == [f"POST {ROUTE} HTTP/1.1"]


def _client(url: str) -> Queen:
    return Queen(url, handle_signals=False, retry_delay_millis=10)


async def _drain(queen: Queen, name: str, partition: str = "p") -> list:
    popped = await queen.queue(name).partition(partition).batch(50).wait(False).pop()
    return [m["data"] for m in popped]


async def test_lost_answer_replay_is_deduplicated(any_broker: BrokerHandle) -> None:
    src, dst = any_broker.name("tx-src"), any_broker.name("tx-dst")
    async with _client(any_broker.url) as queen:
        await queen.queue(src).partition("p").push([{"data": "first"}, {"data": "second"}])
    async with next_answer_lost(any_broker) as url, _client(url) as queen:
        (message,) = await queen.queue(src).partition("p").wait(False).pop()
        result = await (
            queen.transaction()
            .ack(message)
            .queue(dst).partition("p").push([{"data": 1}, {"data": 2}])
            .queue(dst).partition("other").push({"data": 3})
            .commit()
        )
    assert result == {"success": True, "replayed": True, "results": [], "error": None}
    async with _client(any_broker.url) as queen:
        assert await _drain(queen, dst) == [1, 2]
        assert await _drain(queen, dst, "other") == [3]
        assert await _drain(queen, src) == ["second"]  # the ack was applied once


async def test_commit_called_again_after_an_error_is_a_replay(any_broker: BrokerHandle) -> None:
    # Every answer is lost until the retry policy gives up: commit() raises although the
    # broker committed on the first attempt. Calling commit() again must not fail (or store
    # anything twice): it finds the transaction committed.
    dst = any_broker.name("tx-again")
    async with contextlib.AsyncExitStack() as stack:
        if any_broker.server is not None:
            faults = any_broker.server.nodes[0].faults
            faults.drop(path=ROUTE, after_processing=True)
            url, clear = any_broker.url, faults.clear
        else:
            proxy = await stack.enter_async_context(FaultProxy(any_broker.url))
            proxy.drop_answer(ROUTE, count=100)
            url, clear = proxy.url, proxy.clear
        queen = await stack.enter_async_context(_client(url))
        tx = queen.transaction().queue(dst).partition("p").push([{"data": 1}, {"data": 2}])
        with pytest.raises(QueenConnectionError):
            await tx.commit()
        clear()
        assert await tx.commit() == {
            "success": True, "replayed": True, "results": [], "error": None
        }
        assert await _drain(queen, dst) == [1, 2]


async def test_replay_with_caller_ids_is_reported_not_guessed(any_broker: BrokerHandle) -> None:
    # With ids of the caller's own, "already stored" could predate this transaction: the
    # client says so instead of reporting success, and still nothing is stored twice.
    dst = any_broker.name("tx-ids")
    async with next_answer_lost(any_broker) as url, _client(url) as queen:
        with pytest.raises(QueenServerError, match="may have committed it") as info:
            await (
                queen.transaction()
                .queue(dst).partition("p")
                .push([{"data": 1, "transactionId": "mine-1"}, {"data": 2}])
                .commit()
            )
    assert "messages_partition_transaction_unique" in str(info.value)
    async with _client(any_broker.url) as queen:
        assert await _drain(queen, dst) == [1, 2]


async def test_a_real_duplicate_still_aborts(any_broker: BrokerHandle) -> None:
    dst = any_broker.name("tx-dup")
    async with _client(any_broker.url) as queen:
        await queen.queue(dst).partition("p").push({"data": 0, "transactionId": "taken"})
        with pytest.raises(QueenServerError, match="unique constraint") as info:
            await (
                queen.transaction()
                .queue(dst).partition("p")
                .push([{"data": 1}, {"data": 2, "transactionId": "taken"}])
                .commit()
            )
        assert "may have committed" not in str(info.value)
        assert await _drain(queen, dst) == [0]
