"""consume(): abort, fatal errors (D13), lease renewal (D7), each-mode D15, groups, close."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from qt_helpers import E2E, completed, pending_tasks, wait_for

from queen import Queen
from queen.testing import QueenTestServer


async def push_n(client: Queen, queue: str, n: int, partition: str = "Default",
                 start: int = 0) -> None:
    await client.queue(queue).partition(partition).push(
        [{"data": {"i": i}} for i in range(start, start + n)]
    )


async def parked_or_settled(e2e: E2E, n: int) -> None:
    """Wait until ``n`` long polls are parked (observable on queen.testing only; on the
    real broker, give them time to arrive)."""
    server = e2e.broker.server
    if server is not None:
        await wait_for(lambda: server.broker.parked() == n)
    else:
        await asyncio.sleep(0.3)


def consumer_row(server: QueenTestServer, queue: str, partition: str, group: str) -> Any:
    q = server.broker.state.queues[queue]
    return q.partitions[partition].consumers.get(group)


# -- abort ----------------------------------------------------------------------------------


async def test_abort_event_stops_a_parked_long_poll(server: QueenTestServer, client: Queen) -> None:
    await client.queue("abort").create()
    stop = asyncio.Event()
    run = asyncio.ensure_future(
        client.queue("abort").concurrency(3).timeout_millis(30000)
        .consume(lambda m: None, signal=stop)
    )
    await wait_for(lambda: server.broker.parked() == 3)
    stop.set()
    await asyncio.wait_for(run, 3)
    assert run.result() is None
    assert not pending_tasks()
    await wait_for(lambda: server.broker.parked() == 0)


async def test_abort_with_a_polling_only_signal(server: QueenTestServer, client: Queen) -> None:
    class Flag:
        def __init__(self) -> None:
            self.value = False

        def is_set(self) -> bool:
            return self.value

    await client.queue("abort2").create()
    flag = Flag()
    run = asyncio.ensure_future(client.queue("abort2").consume(lambda m: None, signal=flag))
    await wait_for(lambda: server.broker.parked() == 1)
    flag.value = True
    await asyncio.wait_for(run, 3)
    assert not pending_tasks()


async def test_abort_lets_the_running_handler_finish_and_ack(
    server: QueenTestServer, client: Queen
) -> None:
    await push_n(client, "abort3", 1)
    stop = asyncio.Event()
    entered = asyncio.Event()
    finished: List[int] = []

    async def handler(m: Dict[str, Any]) -> None:
        entered.set()
        await asyncio.sleep(0.2)
        finished.append(m["data"]["i"])

    run = asyncio.ensure_future(client.queue("abort3").consume(handler, signal=stop))
    await entered.wait()
    stop.set()
    await asyncio.wait_for(run, 3)
    assert finished == [0]
    assert server.broker.state.acked == 1


async def test_abort_already_set_pops_nothing(server: QueenTestServer, client: Queen) -> None:
    await push_n(client, "abort4", 1)
    stop = asyncio.Event()
    stop.set()
    seen: List[Any] = []
    await asyncio.wait_for(client.queue("abort4").consume(seen.append, signal=stop), 3)
    assert seen == []


# -- fatal errors (D13) -----------------------------------------------------------------------


async def test_fatal_error_cancels_siblings_and_is_raised(
    server: QueenTestServer, client: Queen
) -> None:
    await client.queue("fatal").create()
    cancelled: List[str] = []
    sibling_in = asyncio.Event()

    async def handler(m: Dict[str, Any]) -> None:
        if m["partition"] == "slow":
            sibling_in.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append(m["partition"])
                raise
        await sibling_in.wait()
        raise RuntimeError("poison message")

    run = asyncio.ensure_future(
        client.queue("fatal").concurrency(4).timeout_millis(30000).consume(handler)
        .on_success(lambda m, r: None)
    )
    await wait_for(lambda: server.broker.parked() == 4)
    await push_n(client, "fatal", 1, "slow")
    await sibling_in.wait()
    await push_n(client, "fatal", 1, "poison")
    with pytest.raises(RuntimeError, match="poison message"):
        await asyncio.wait_for(run, 3)
    assert cancelled == ["slow"]
    assert not pending_tasks()
    await wait_for(lambda: server.broker.parked() == 0)


async def test_non_retriable_pop_error_is_fatal(server: QueenTestServer, client: Queen) -> None:
    from queen import QueenHttpError

    await client.queue("fatal2").create()
    server.nodes[0].faults.error(403, path="/api/v1/pop", count=1)
    with pytest.raises(QueenHttpError) as info:
        await asyncio.wait_for(client.queue("fatal2").consume(lambda m: None), 3)
    assert info.value.code == 403


async def test_namespace_consume_is_unsupported(e2e: E2E) -> None:
    client = e2e.client
    from queen import QueenUnsupportedError

    with pytest.raises(QueenUnsupportedError):
        await client.queue().namespace("ns").consume(lambda m: None)


# -- lease renewal ----------------------------------------------------------------------------


async def test_renewal_keeps_the_lease_past_lease_time(e2e: E2E) -> None:
    client, other, q = e2e.client, e2e.make_client(), e2e.name("renew")
    await client.queue(q).config({"lease_time": 1}).create()
    await push_n(client, q, 2)
    stolen: List[Any] = []

    async def handler(ms: List[Dict[str, Any]]) -> None:
        await asyncio.sleep(1.5)  # past the 1 s lease; renewed every 100 ms (asking 60 s)
        stolen.extend(await other.queue(q).batch(5).wait(False).pop())

    await client.queue(q).batch(2).renew_lease(True, 100).wait(False).limit(2).consume(handler)
    assert stolen == []  # the lease was still held: nobody else got the messages
    assert await completed(client, q) == 2  # the lease-checked acks were accepted
    assert await other.queue(q).batch(5).wait(False).pop() == []


async def test_slow_handler_without_renewal_gets_redelivered(e2e: E2E) -> None:
    client, other, q = e2e.client, e2e.make_client(), e2e.name("norenew")
    await client.queue(q).config({"lease_time": 1}).create()
    await push_n(client, q, 2)
    stolen: List[Any] = []

    async def handler(ms: List[Dict[str, Any]]) -> None:
        await asyncio.sleep(1.3)  # the lease expires meanwhile
        stolen.extend(await other.queue(q).batch(5).wait(False).pop())

    await client.queue(q).batch(2).wait(False).limit(2).consume(handler)
    assert [m["data"]["i"] for m in stolen] == [0, 1]  # redelivered as the broker does
    assert await completed(client, q) == 0  # our late acks were refused (lease gone)


@pytest.mark.slow
async def test_renew_lease_without_interval_renews_every_ten_seconds(
    server: QueenTestServer, client: Queen
) -> None:
    await client.queue("renewd").config({"lease_time": 20}).create()
    await push_n(client, "renewd", 1)
    expiries: List[float] = []

    async def handler(m: Dict[str, Any]) -> None:
        row = consumer_row(server, "renewd", "Default", "__QUEUE_MODE__")
        expiries.append(row.expires - server.clock.now())
        await asyncio.sleep(10.4)
        expiries.append(row.expires - server.clock.now())

    await client.queue("renewd").renew_lease(True).wait(False).limit(1).consume(handler)
    assert 19 < expiries[0] <= 20
    assert 59 < expiries[1] <= 60  # renewed once by max(60, 2 x 10 s) seconds


async def test_renewal_stops_with_the_batch(server: QueenTestServer, client: Queen) -> None:
    await push_n(client, "renew2", 1)
    await client.queue("renew2").renew_lease(True, 50).wait(False).limit(1).consume(
        lambda m: None
    )
    assert not pending_tasks()


# -- each() and D15 ---------------------------------------------------------------------------


async def test_each_failure_skips_the_rest_of_that_partition(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("each1")
    await client.queue(q).config({"retry_limit": 5}).create()
    await push_n(client, q, 4, "p")
    calls: List[int] = []

    def handler(m: Dict[str, Any]) -> None:
        calls.append(m["data"]["i"])
        if m["data"]["i"] == 1 and calls.count(1) == 1:
            raise RuntimeError("once")

    await client.queue(q).batch(4).each().wait(False).limit(5).consume(handler)
    # 0 ok, 1 fails → 2 and 3 skipped in that batch; redelivery from 1, in order.
    assert calls == [0, 1, 1, 2, 3]
    assert await completed(client, q) == 4


async def test_each_failure_leaves_other_partitions_alone(e2e: E2E) -> None:
    client = e2e.client
    q_each2 = e2e.name("each2")
    await client.queue(q_each2).config({"retry_limit": 5}).create()
    await push_n(client, q_each2, 2, "a")
    await push_n(client, q_each2, 2, "b", start=10)
    calls: List[int] = []

    def handler(m: Dict[str, Any]) -> None:
        calls.append(m["data"]["i"])
        if m["data"]["i"] == 0 and calls.count(0) == 1:
            raise RuntimeError("once")

    await (
        client.queue(q_each2).batch(10).partitions(2).each().wait(False).limit(5)
        .consume(handler)
    )
    assert calls[:3] in ([0, 10, 11], [10, 11, 0])
    assert sorted(calls) == [0, 0, 1, 10, 11]


async def test_each_limit_releases_the_remainder_at_once(e2e: E2E) -> None:
    client, other, q = e2e.client, e2e.make_client(), e2e.name("each3")
    await push_n(client, q, 6)
    seen: List[int] = []
    await (
        client.queue(q).batch(6).each().wait(False).limit(2)
        .consume(lambda m: seen.append(m["data"]["i"]))
    )
    assert seen == [0, 1]
    # The remainder was released with a `retry` ack: no lease expiry needed.
    rest = await other.queue(q).batch(10).wait(False).pop()
    assert [m["data"]["i"] for m in rest] == [2, 3, 4, 5]
    if e2e.broker.server is not None:
        row = consumer_row(e2e.broker.server, q, "Default", "__QUEUE_MODE__")
        assert row.retry == 0  # no retry budget spent


async def test_each_abort_releases_the_remainder(e2e: E2E) -> None:
    client, other, q = e2e.client, e2e.make_client(), e2e.name("each4")
    await push_n(client, q, 2, "a")
    await push_n(client, q, 2, "b", start=10)
    stop = asyncio.Event()
    seen: List[int] = []

    def handler(m: Dict[str, Any]) -> None:
        seen.append(m["data"]["i"])
        stop.set()

    await asyncio.wait_for(
        client.queue(q).batch(10).partitions(2).each().consume(handler, signal=stop), 3
    )
    assert len(seen) == 1
    rest = await other.queue(q).batch(10).partitions(2).wait(False).pop()
    assert len(rest) == 3
    assert seen[0] not in [m["data"]["i"] for m in rest]


async def test_each_release_skips_partitions_a_nack_released(
    server: QueenTestServer, make_client: Any
) -> None:
    client = make_client()
    await client.queue("each5").config({"retry_limit": 5}).create()
    await push_n(client, "each5", 3, "a")
    calls: List[int] = []

    def handler(m: Dict[str, Any]) -> None:
        calls.append(m["data"]["i"])
        raise RuntimeError("always")

    await client.queue("each5").batch(3).each().wait(False).limit(1).consume(handler)
    assert calls == [0]
    row = consumer_row(server, "each5", "a", "__QUEUE_MODE__")
    assert row.retry == 1  # the nack, and no `retry` ack on top of it
    assert row.token is None


# -- groups and subscriptions ---------------------------------------------------------------


async def test_each_group_gets_every_message(e2e: E2E) -> None:
    client = e2e.client
    q_groups = e2e.name("groups")
    await push_n(client, q_groups, 5)
    a: List[int] = []
    b: List[int] = []
    await client.queue(q_groups).group("A").batch(3).wait(False).idle_millis(200).consume(
        lambda ms: a.extend(m["data"]["i"] for m in ms)
    )
    await client.queue(q_groups).group("B").wait(False).idle_millis(200).consume(
        lambda m: b.append(m["data"]["i"])
    )
    assert a == b == [0, 1, 2, 3, 4]


async def test_subscription_mode_new_skips_history(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("subnew")
    await push_n(client, q, 3)
    await asyncio.sleep(0.05)
    seen: List[int] = []
    run = asyncio.ensure_future(
        client.queue(q).group("late").subscription_mode("new").limit(1)
        .consume(lambda m: seen.append(m["data"]["i"]))
    )
    await parked_or_settled(e2e, 1)
    await push_n(client, q, 1, start=100)
    await asyncio.wait_for(run, 5)
    assert seen == [100]


async def test_subscription_from_timestamp(e2e: E2E) -> None:
    from datetime import datetime, timezone

    client, q = e2e.client, e2e.name("subts")
    await push_n(client, q, 2)
    await asyncio.sleep(0.2)  # wall clock: the real broker's database shares it
    cut = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    await asyncio.sleep(0.2)
    await push_n(client, q, 2, start=10)
    seen: List[int] = []
    await (
        client.queue(q).group("ts").subscription_from(cut).batch(10).wait(False)
        .idle_millis(200).consume(lambda ms: seen.extend(m["data"]["i"] for m in ms))
    )
    assert seen == [10, 11]


# -- close -----------------------------------------------------------------------------------


async def test_close_stops_consumers(e2e: E2E) -> None:
    client, q = e2e.make_client(), e2e.name("closing")
    await client.queue(q).create()
    run = asyncio.ensure_future(client.queue(q).concurrency(2).consume(lambda m: None))
    await parked_or_settled(e2e, 2)
    await asyncio.wait_for(client.close(), 3)
    assert run.done() and run.result() is None
    assert not pending_tasks()
    from queen import QueenError

    with pytest.raises(QueenError, match="Queen client is closed"):
        await client.queue(q).consume(lambda m: None)


async def test_close_waits_for_the_running_handler(
    server: QueenTestServer, make_client: Any
) -> None:
    client = make_client()
    await push_n(client, "closing2", 1)
    entered = asyncio.Event()

    async def handler(m: Any) -> None:
        entered.set()
        await asyncio.sleep(0.2)

    run = asyncio.ensure_future(client.queue("closing2").consume(handler))
    await entered.wait()
    await client.close()
    assert run.done()
    assert server.broker.state.acked == 1


async def test_abort_during_the_error_pause_is_prompt(
    server: QueenTestServer, make_client: Any
) -> None:
    client = make_client(retry_attempts=1)
    await client.queue("pause").create()
    await server.nodes[0].stop()
    stop = asyncio.Event()
    run = asyncio.ensure_future(client.queue("pause").consume(lambda m: None, signal=stop))
    await asyncio.sleep(0.2)  # the pop failed: the worker pauses 1 s before retrying
    assert not run.done()
    stop.set()
    await asyncio.wait_for(run, 0.8)
    assert not pending_tasks()


async def test_close_while_the_broker_is_down(server: QueenTestServer, make_client: Any) -> None:
    client = make_client(retry_attempts=1)
    await client.queue("down").create()
    run = asyncio.ensure_future(client.queue("down").concurrency(2).consume(lambda m: None))
    await wait_for(lambda: server.broker.parked() == 2)
    await server.nodes[0].stop()
    await asyncio.sleep(0.1)
    await asyncio.wait_for(client.close(), 2)
    assert run.done() and run.exception() is None
    assert not pending_tasks()


class _SlowAnswers:
    """A transport whose pop answers reach the client 20 ms after the broker sent them."""

    def __init__(self) -> None:
        from queen._transport._router import RouterTransport

        self._inner = RouterTransport({})
        self.answered_pops = 0

    async def send(self, method: str, url: str, body: Any, timeout: float) -> Any:
        response = await self._inner.send(method, url, body, timeout)
        if "/api/v1/pop/" in url:
            self.answered_pops += 1
            await asyncio.sleep(0.02)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_stop_while_an_answered_pop_is_in_flight_releases_its_partition(
    server: QueenTestServer, make_client: Any
) -> None:
    # The broker has claimed the partition and answered; the stop arrives before the answer
    # does. The messages must come back at once, not after the 300 s lease.
    producer = make_client()
    await push_n(producer, "inflight", 5)
    transport = _SlowAnswers()
    consumer = make_client(transport=transport)
    stop = asyncio.Event()
    seen: List[Any] = []
    run = asyncio.ensure_future(
        consumer.queue("inflight").batch(5).wait(False).consume(seen.append, signal=stop)
    )
    await wait_for(lambda: transport.answered_pops == 1)
    stop.set()
    await asyncio.wait_for(run, 3)
    assert seen == []
    again = await producer.queue("inflight").batch(5).wait(False).pop()
    assert [m["data"]["i"] for m in again] == [0, 1, 2, 3, 4]
    assert consumer_row(server, "inflight", "Default", "__QUEUE_MODE__").retry == 0
