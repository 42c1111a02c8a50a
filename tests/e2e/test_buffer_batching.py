"""Buffered producers batch with load: what arrives during a flush goes out in the next request.

One request is in flight per buffer (order); items admitted meanwhile accumulate and leave
together in the next request, up to the per-request cap. Proven on both brokers through
:class:`FaultProxy`, which holds requests "in flight" as long as a test needs and records
every relayed body; faults come from ``queen.testing``'s own rules on the double and from
the proxy on the real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Callable, Dict, List, Tuple

import orjson
import pytest
from _brokers import BrokerHandle
from _proxy import FaultProxy

from queen import Queen
from queen._buffer import REQUEST_BYTES, REQUEST_MESSAGES

PUSH = "/api/v1/push"


def _client(url: str) -> Queen:
    return Queen(url, handle_signals=False, retry_delay_millis=10)


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def _pushed(proxy: FaultProxy) -> List[List[Any]]:
    """The payloads of every push request the broker received, one list per request."""
    return [
        [item["payload"] for item in orjson.loads(body)["items"]]
        for path, body in proxy.bodies
        if path == PUSH
    ]


def _item_bytes(body: bytes) -> int:
    """The summed size of a push body's encoded items (the body less ``{"items":[``, ``]}``
    and the commas)."""
    return len(body) - len(b'{"items":[]}') - (len(orjson.loads(body)["items"]) - 1)


async def _drain(url: str, queue: str, partition: str) -> List[Any]:
    """Every stored payload of ``queue/partition``, in delivery order."""
    got: List[Any] = []
    async with _client(url) as queen:
        while True:
            batch = await queen.queue(queue).partition(partition).batch(1000).wait(False).pop()
            if not batch:
                return got
            got.extend(m["data"] for m in batch)
            await queen.ack(batch)


@contextlib.asynccontextmanager
async def _proxied(broker: BrokerHandle) -> AsyncIterator[Tuple[FaultProxy, Queen]]:
    async with FaultProxy(broker.url) as proxy:
        queen = _client(proxy.url)
        try:
            yield proxy, queen
        finally:
            proxy.release()  # a failed test must not leave close() waiting on a held flush
            await queen.close()


async def _around_a_flight(proxy: FaultProxy, qb: Any, first: range, during: range) -> None:
    """Push ``first`` one by one, hold the request that takes them, push ``during`` while it
    is in flight, then let it through."""
    proxy.hold(PUSH)
    for i in first:
        await qb.push({"data": i})
    await _until(lambda: proxy.held == 1)
    for i in during:
        await qb.push({"data": i})
    proxy.release()


# -- accumulation ---------------------------------------------------------------------------


async def test_pushes_during_a_flush_go_out_together_in_the_next_request(
    any_broker: BrokerHandle,
) -> None:
    name = any_broker.name("bacc")
    async with _proxied(any_broker) as (proxy, queen):
        qb = queen.queue(name).partition("p").buffer(
            {"message_count": 10, "time_millis": None, "max_size": 100}
        )
        await _around_a_flight(proxy, qb, range(10), range(10, 45))
        await _until(lambda: queen.get_buffer_stats()["totalBufferedMessages"] == 0)
        assert _pushed(proxy) == [list(range(10)), list(range(10, 45))]
        assert queen.get_buffer_stats()["flushesPerformed"] == 2
    assert await _drain(any_broker.url, name, "p") == list(range(45))


async def test_fewer_than_message_count_after_a_flush_wait_for_the_time_trigger(
    any_broker: BrokerHandle,
) -> None:
    # A request takes all that is buffered when it leaves (13 here, not message_count), but
    # what accumulates below message_count during its flight is not sent the moment it lands:
    # its time_millis deadline (from its oldest item) still applies.
    name = any_broker.name("bacc-t")
    async with _proxied(any_broker) as (proxy, queen):
        qb = queen.queue(name).partition("p").buffer(
            {"message_count": 10, "time_millis": 300, "max_size": 100}
        )
        await _around_a_flight(proxy, qb, range(13), range(13, 16))
        await _until(lambda: len(_pushed(proxy)) == 1)
        assert _pushed(proxy) == [list(range(13))]
        await asyncio.sleep(0.05)
        assert len(_pushed(proxy)) == 1  # three messages, far from their deadline
        await _until(lambda: len(_pushed(proxy)) == 2)
        assert _pushed(proxy)[1] == [13, 14, 15]
    assert await _drain(any_broker.url, name, "p") == list(range(16))


async def test_a_request_carries_at_most_the_cap(any_broker: BrokerHandle) -> None:
    name = any_broker.name("bcap")
    total = 2 * REQUEST_MESSAGES + REQUEST_MESSAGES // 2
    async with _proxied(any_broker) as (proxy, queen):
        qb = queen.queue(name).partition("p").buffer(
            {"message_count": 10, "time_millis": None, "max_size": 10 + total}
        )
        proxy.hold(PUSH)
        await qb.push([{"data": i} for i in range(10)])
        await _until(lambda: proxy.held == 1)
        await qb.push([{"data": i} for i in range(10, 10 + total)])
        proxy.release()
        await _until(lambda: queen.get_buffer_stats()["totalBufferedMessages"] == 0)
        sizes = [len(request) for request in _pushed(proxy)]
        assert sizes == [10, REQUEST_MESSAGES, REQUEST_MESSAGES, REQUEST_MESSAGES // 2]
    assert await _drain(any_broker.url, name, "p") == list(range(10 + total))


async def test_a_request_body_stays_within_the_byte_cap(any_broker: BrokerHandle) -> None:
    name = any_broker.name("bcapb")
    text = "x" * 8000
    count = 3 * REQUEST_BYTES // len(text)
    async with _proxied(any_broker) as (proxy, queen):
        qb = queen.queue(name).partition("p").buffer(
            {"message_count": 2, "time_millis": None, "max_size": count + 2}
        )
        proxy.hold(PUSH)
        await qb.push([{"data": [0, text]}, {"data": [1, text]}])
        await _until(lambda: proxy.held == 1)
        await qb.push([{"data": [i, text]} for i in range(2, count + 2)])
        proxy.release()
        await _until(lambda: queen.get_buffer_stats()["totalBufferedMessages"] == 0)
        sizes = [_item_bytes(body) for path, body in proxy.bodies if path == PUSH]
        assert len(sizes) >= 4 and all(size <= REQUEST_BYTES for size in sizes)
        # each request but the first (held) and the last is full: one more item would not fit
        assert all(size + len(text) > REQUEST_BYTES for size in sizes[1:-1]), sizes
    got = await _drain(any_broker.url, name, "p")
    assert [g[0] for g in got] == list(range(count + 2))


async def test_message_count_above_the_cap_is_still_one_request(
    any_broker: BrokerHandle,
) -> None:
    name = any_broker.name("bfloor")
    count = REQUEST_MESSAGES + 200
    async with _proxied(any_broker) as (proxy, queen):
        qb = queen.queue(name).partition("p").buffer({"message_count": count, "time_millis": None})
        await qb.push([{"data": i} for i in range(2 * count)])
        await _until(lambda: queen.get_buffer_stats()["totalBufferedMessages"] == 0)
        assert [len(r) for r in _pushed(proxy)] == [count, count]


async def test_the_default_bound_holds_a_full_request_and_the_next(
    any_broker: BrokerHandle,
) -> None:
    # max_size defaults to room for one request of the cap in flight and the next one
    # accumulating, so a fast producer never waits for a round trip it could overlap.
    name = any_broker.name("bdef")
    async with _proxied(any_broker) as (proxy, queen):
        qb = queen.queue(name).partition("p").buffer({"message_count": 100, "time_millis": None})
        proxy.hold(PUSH)
        await asyncio.wait_for(qb.push([{"data": i} for i in range(REQUEST_MESSAGES)]), 5)
        await _until(lambda: proxy.held == 1)
        for i in range(REQUEST_MESSAGES, 2 * REQUEST_MESSAGES):
            await asyncio.wait_for(qb.push({"data": i}), 5)
        blocked = asyncio.ensure_future(qb.push({"data": 2 * REQUEST_MESSAGES}))
        await asyncio.sleep(0.05)
        assert not blocked.done()  # the bound is 2 x the cap: this one waits
        proxy.release()
        await asyncio.wait_for(blocked, 10)
        await queen.flush_all_buffers()
    assert await _drain(any_broker.url, name, "p") == list(range(2 * REQUEST_MESSAGES + 1))


# -- order, exactly once, bounds, under concurrency and faults --------------------------------


class _Faults:
    """Push faults on either broker: ``queen.testing``'s rules, or the proxy's."""

    def __init__(self, broker: BrokerHandle, proxy: FaultProxy) -> None:
        self._node = broker.server.nodes[0] if broker.server is not None else None
        self._proxy = proxy

    def lose_answer(self) -> None:
        if self._node is not None:
            self._node.faults.drop(count=1, path=PUSH, after_processing=True)
        else:
            self._proxy.drop_answer(PUSH)

    def error(self, count: int) -> None:
        if self._node is not None:
            self._node.faults.error(503, count=count, path=PUSH)
        else:
            self._proxy.error(PUSH, count=count, status=503)

    def slow(self, seconds: float) -> None:
        if self._node is not None:
            self._node.faults.latency(seconds * 1000, path=PUSH)
        else:
            self._proxy.delay(PUSH, seconds)

    def clear(self) -> None:
        if self._node is not None:
            self._node.faults.clear()
        self._proxy.clear()


async def test_order_and_exactly_once_under_concurrency_and_faults(
    any_broker: BrokerHandle,
) -> None:
    name = any_broker.name("bfault")
    partitions, producers, each = ["p0", "p1", "p2"], 2, 400
    options = {"message_count": 25, "time_millis": 5, "max_size": 150, "retry_delay_millis": 5}
    async with _proxied(any_broker) as (proxy, queen):
        faults = _Faults(any_broker, proxy)

        async def produce(partition: str, k: int) -> None:
            qb = queen.queue(name).partition(partition).buffer(options)
            for i in range(each):
                await qb.push({"data": [k, i]})
                if i % 10 == k:
                    await asyncio.sleep(0.005)  # a producer that has other work too

        async def inject() -> None:
            # A bounded number of rounds: the faults queue up until requests consume them, so
            # injecting until the producers finish could outpace a slow broker for ever.
            faults.slow(0.005)
            for _ in range(6):
                faults.error(12)  # outlasts the HTTP attempts of the flushers: flushes fail too
                await asyncio.sleep(0.05)
                faults.lose_answer()
                await asyncio.sleep(0.05)

        await asyncio.wait_for(asyncio.gather(
            inject(), *(produce(p, k) for p in partitions for k in range(producers))
        ), 120)
        faults.clear()
        await _until(lambda: queen.get_buffer_stats()["totalBufferedMessages"] == 0, 30)
        stats = queen.get_buffer_stats()
        assert stats["droppedMessages"] == 0 and stats["failedFlushes"] >= 1
        assert max(len(r) for r in _pushed(proxy)) > options["message_count"]  # it batched
    for partition in partitions:
        got = await _drain(any_broker.url, name, partition)
        assert sorted(map(tuple, got)) == [(k, i) for k in range(producers) for i in range(each)]
        for k in range(producers):
            assert [i for kk, i in got if kk == k] == list(range(each))


@pytest.mark.parametrize(
    "bound, options",
    [
        ("count", {"max_size": 40, "max_bytes": 10**6}),
        ("bytes", {"max_size": 10**4, "max_bytes": 6000}),
    ],
)
async def test_memory_stays_bounded_under_a_slow_broker(
    any_broker: BrokerHandle, bound: str, options: Dict[str, Any]
) -> None:
    name = any_broker.name("bmem")
    options = {"message_count": 10, "time_millis": 5, **options}
    seen: List[Tuple[int, int]] = []
    async with _proxied(any_broker) as (proxy, queen):
        proxy.delay(PUSH, 0.02)

        async def produce(k: int) -> None:
            qb = queen.queue(name).partition("p").buffer(options)
            for i in range(200):
                await qb.push({"data": [k, i, "y" * 40]})
                stats = queen.get_buffer_stats()
                seen.append((stats["totalBufferedMessages"], stats["totalBufferedBytes"]))

        await asyncio.gather(*(produce(k) for k in range(3)))
        await queen.flush_all_buffers()
        assert max(len(r) for r in _pushed(proxy)) > options["message_count"]  # it batched
    most_messages = max(m for m, _ in seen)
    most_bytes = max(b for _, b in seen)
    assert most_messages <= options["max_size"] and most_bytes <= options["max_bytes"]
    if bound == "count":
        assert most_messages == options["max_size"]  # the bound was reached, not passed
    else:
        assert most_bytes > options["max_bytes"] - 200
    got = await _drain(any_broker.url, name, "p")
    for k in range(3):
        assert [i for kk, i, _ in got if kk == k] == list(range(200))
