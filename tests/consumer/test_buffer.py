"""Client-side buffering (§5.7, D11): triggers, stats, bounds, retries, drops, close."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

import pytest
from qt_helpers import E2E, eventually, pending_tasks, stored, wait_for

from queen import BUFFER_DEFAULTS, Queen, QueenHttpError
from queen.testing import QueenTestServer

STATS_KEYS = {
    "activeBuffers", "totalBufferedMessages", "oldestBufferAge", "flushesPerformed",
    "totalBufferedBytes", "failedFlushes", "droppedMessages",
}


def in_engine(server: QueenTestServer, queue: str, partition: str = "Default") -> List[Any]:
    q = server.broker.state.queues.get(queue)
    if q is None or partition not in q.partitions:
        return []
    return [m.data for m in q.partitions[partition].msgs]


async def count_is(client: Queen, queue: str, n: int) -> bool:
    return len(await stored(client, queue)) == n


async def test_flush_on_count(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("bc")
    qb = client.queue(q).buffer({"message_count": 5, "time_millis": 60000})
    for i in range(4):
        assert await qb.push({"data": {"i": i}}) == {"buffered": True, "count": 1}
    await asyncio.sleep(0.05)
    assert await stored(client, q) == []
    await qb.push({"data": {"i": 4}})
    await eventually(lambda: count_is(client, q, 5))
    assert [d["i"] for d in await stored(client, q)] == [0, 1, 2, 3, 4]
    assert client.get_buffer_stats()["flushesPerformed"] == 1


async def test_flush_on_time(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("bt")
    await client.queue(q).buffer({"message_count": 100, "time_millis": 100}).push(
        [{"data": {"i": i}} for i in range(3)]
    )
    assert await stored(client, q) == []
    await eventually(lambda: count_is(client, q, 3), timeout=3)


async def test_a_flush_sends_what_is_buffered_up_to_the_request_cap(e2e: E2E) -> None:
    from queen._buffer import REQUEST_MESSAGES

    client, q = e2e.client, e2e.name("bchunk")
    total = 2 * REQUEST_MESSAGES + 7
    await client.queue(q).buffer(
        {"message_count": 4, "time_millis": 60000, "max_size": total}
    ).push([{"data": {"i": i}} for i in range(total)])
    await client.queue(q).flush_buffer()
    assert [d["i"] for d in await stored(client, q)] == list(range(total))
    assert client.get_buffer_stats()["flushesPerformed"] == 3  # 1000, 1000, 7


async def test_stats_and_manual_flushes(e2e: E2E) -> None:
    client, bs, bs2 = e2e.client, e2e.name("bs"), e2e.name("bs2")
    stats = client.get_buffer_stats()
    assert set(stats) == STATS_KEYS
    assert stats == {k: 0 for k in STATS_KEYS}
    opts = {"message_count": 100, "time_millis": 60000}
    await client.queue(bs).partition("p1").buffer(opts).push([{"data": 1}, {"data": 2}])
    await client.queue(bs).partition("p2").buffer(opts).push({"data": 3})
    await client.queue(bs2).buffer(opts).push({"data": 4})
    await asyncio.sleep(0.02)
    stats = client.get_buffer_stats()
    assert stats["activeBuffers"] == 3
    assert stats["totalBufferedMessages"] == 4
    assert stats["totalBufferedBytes"] > 0
    assert stats["oldestBufferAge"] >= 10
    assert stats["flushesPerformed"] == 0
    await client.queue(bs).partition("p1").flush_buffer()
    assert await stored(client, bs, "p1") == [1, 2]
    assert await stored(client, bs, "p2") == []
    stats = client.get_buffer_stats()
    assert (stats["activeBuffers"], stats["totalBufferedMessages"]) == (2, 2)
    await client.flush_all_buffers()
    assert await stored(client, bs, "p2") == [3] and await stored(client, bs2) == [4]
    stats = client.get_buffer_stats()
    assert stats["activeBuffers"] == 0
    assert stats["totalBufferedMessages"] == 0 and stats["totalBufferedBytes"] == 0
    assert stats["oldestBufferAge"] == 0
    assert stats["flushesPerformed"] == 3
    assert stats["failedFlushes"] == 0 and stats["droppedMessages"] == 0


async def test_flush_buffer_without_buffer_or_name(e2e: E2E) -> None:
    client = e2e.client
    q_none = e2e.name("none")
    await client.queue(q_none).flush_buffer()  # nothing buffered: no error
    with pytest.raises(ValueError, match="Queue name is required for buffer flush"):
        await client.queue().flush_buffer()


async def test_latest_options_win(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("bl")
    await client.queue(q).buffer({"message_count": 100, "time_millis": 60000}).push({"data": 1})
    await client.queue(q).buffer({"message_count": 100, "time_millis": 50}).push({"data": 2})
    await eventually(lambda: count_is(client, q, 2), timeout=3)
    await client.queue(q).buffer({"message_count": 2, "time_millis": 60000}).push(
        [{"data": 3}, {"data": 4}]
    )
    await eventually(lambda: count_is(client, q, 4), timeout=3)
    assert await stored(client, q) == [1, 2, 3, 4]


async def test_push_callbacks_in_buffered_mode(e2e: E2E) -> None:
    client = e2e.client
    q_bcb = e2e.name("bcb")
    got: List[Any] = []
    result = await (
        client.queue(q_bcb).buffer({"message_count": 10, "time_millis": 60000})
        .push([{"data": {"i": 1}}, {"data": {"i": 2}}]).on_success(got.append)
    )
    assert result == {"buffered": True, "count": 2}
    assert [[item["payload"] for item in items] for items in got] == [[{"i": 1}, {"i": 2}]]
    assert all(item["transactionId"] for item in got[0])


# -- bounds and backpressure --------------------------------------------------------------------


async def test_full_buffer_makes_push_wait(server: QueenTestServer, client: Queen) -> None:
    node = server.nodes[0]
    node.faults.error(503, path="/api/v1/push")
    opts = {"message_count": 2, "time_millis": 10, "max_size": 4, "retry_delay_millis": 20}
    qb = client.queue("bp").buffer(opts)
    for i in range(4):
        await asyncio.wait_for(qb.push({"data": i}), 2)
    blocked = asyncio.ensure_future(qb.push({"data": 4}))
    await asyncio.sleep(0.2)
    assert not blocked.done()
    assert client.get_buffer_stats()["failedFlushes"] >= 1
    node.faults.clear()
    await asyncio.wait_for(blocked, 3)
    await client.flush_all_buffers()
    assert in_engine(server, "bp") == [0, 1, 2, 3, 4]
    assert client.get_buffer_stats()["droppedMessages"] == 0


async def test_waiting_producers_are_admitted_in_fifo_order(
    server: QueenTestServer, client: Queen
) -> None:
    node = server.nodes[0]
    node.faults.error(503, path="/api/v1/push")
    opts = {"message_count": 1, "time_millis": 10, "max_size": 1, "retry_delay_millis": 20}
    qb = client.queue("fifo").buffer(opts)
    await qb.push({"data": 0})
    producers = []
    for i in range(1, 6):
        producers.append(asyncio.ensure_future(qb.push({"data": i})))
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert not any(p.done() for p in producers)
    node.faults.clear()
    await asyncio.wait_for(asyncio.gather(*producers), 5)
    await client.flush_all_buffers()
    assert in_engine(server, "fifo") == [0, 1, 2, 3, 4, 5]


async def test_byte_bound(server: QueenTestServer, client: Queen) -> None:
    node = server.nodes[0]
    node.faults.error(503, path="/api/v1/push")
    big = "x" * 1000
    opts = {"message_count": 100, "time_millis": 10, "max_bytes": 2500, "retry_delay_millis": 20}
    qb = client.queue("bytes").buffer(opts)
    await asyncio.wait_for(qb.push({"data": big}), 1)
    await asyncio.wait_for(qb.push({"data": big}), 1)
    blocked = asyncio.ensure_future(qb.push({"data": big}))
    await asyncio.sleep(0.15)
    assert not blocked.done()
    node.faults.clear()
    await asyncio.wait_for(blocked, 3)
    await client.flush_all_buffers()
    assert len(in_engine(server, "bytes")) == 3


async def test_oversized_item_enters_an_empty_buffer(
    server: QueenTestServer, client: Queen
) -> None:
    qb = client.queue("huge").buffer({"message_count": 10, "time_millis": 10, "max_bytes": 100})
    await asyncio.wait_for(qb.push({"data": "y" * 500}), 2)
    await client.flush_all_buffers()
    assert in_engine(server, "huge") == ["y" * 500]


def test_buffer_defaults_table() -> None:
    assert BUFFER_DEFAULTS == {
        "message_count": 100, "time_millis": 1000, "max_size": None,
        "max_bytes": 16777216, "retry_delay_millis": 250, "on_flush_error": None,
    }


# -- failed flushes -------------------------------------------------------------------------------


async def test_5xx_flush_is_retried_without_loss(server: QueenTestServer, client: Queen) -> None:
    server.nodes[0].faults.error(503, path="/api/v1/push", count=4)
    await client.queue("r5").buffer(
        {"message_count": 3, "time_millis": 10, "retry_delay_millis": 10}
    ).push([{"data": i} for i in range(3)])
    await wait_for(lambda: in_engine(server, "r5") == [0, 1, 2], timeout=5)
    stats = client.get_buffer_stats()
    assert stats["failedFlushes"] >= 1 and stats["droppedMessages"] == 0


async def test_stopped_broker_flush_resumes(server: QueenTestServer, client: Queen) -> None:
    node = server.nodes[0]
    await node.stop()
    await client.queue("rs").buffer(
        {"message_count": 2, "time_millis": 10, "retry_delay_millis": 20}
    ).push([{"data": i} for i in range(4)])
    await asyncio.sleep(0.3)
    assert client.get_buffer_stats()["totalBufferedMessages"] == 4
    await node.start()
    await wait_for(lambda: in_engine(server, "rs") == [0, 1, 2, 3], timeout=10)
    assert client.get_buffer_stats()["droppedMessages"] == 0


async def test_dropped_response_resend_is_a_duplicate(
    server: QueenTestServer, client: Queen
) -> None:
    server.nodes[0].faults.drop(count=1, path="/api/v1/push", after_processing=True)
    await client.queue("rd").buffer(
        {"message_count": 5, "time_millis": 10, "retry_delay_millis": 10}
    ).push([{"data": i} for i in range(5)])
    await wait_for(lambda: client.get_buffer_stats()["totalBufferedMessages"] == 0, timeout=10)
    assert in_engine(server, "rd") == [0, 1, 2, 3, 4]  # stored once, the resend was a duplicate
    got: List[Any] = []
    await client.queue("rd").batch(10).wait(False).idle_millis(200).consume(got.extend)
    assert [m["data"] for m in got] == [0, 1, 2, 3, 4]


async def test_db_failover_buffered_entries_count_as_delivered(
    server: QueenTestServer, client: Queen
) -> None:
    server.broker.faults.db_error("push")
    await client.queue("rf").buffer({"message_count": 2, "time_millis": 10}).push(
        [{"data": 1}, {"data": 2}]
    )
    await wait_for(lambda: client.get_buffer_stats()["flushesPerformed"] == 1, timeout=3)
    stats = client.get_buffer_stats()
    assert stats["totalBufferedMessages"] == 0 and stats["failedFlushes"] == 0
    await client.queue("other").push({"data": 0})  # the broker replays its disk buffer
    assert in_engine(server, "rf") == [1, 2]


async def test_non_retriable_flush_error_drops_and_reports(
    server: QueenTestServer, client: Queen, caplog: pytest.LogCaptureFixture
) -> None:
    server.nodes[0].faults.error(400, path="/api/v1/push", count=1)
    reported: List[Any] = []

    def on_flush_error(items: List[Dict[str, Any]], exc: BaseException) -> None:
        reported.append(([i["payload"] for i in items], exc))

    caplog.set_level(logging.ERROR, logger="queen.client")
    await client.queue("rn").buffer(
        {"message_count": 2, "time_millis": 10, "on_flush_error": on_flush_error}
    ).push([{"data": 1}, {"data": 2}])
    await wait_for(lambda: bool(reported), timeout=3)
    assert reported[0][0] == [1, 2]
    assert isinstance(reported[0][1], QueenHttpError) and reported[0][1].code == 400
    stats = client.get_buffer_stats()
    assert stats["droppedMessages"] == 2 and stats["totalBufferedMessages"] == 0
    assert any("rn/Default" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert in_engine(server, "rn") == []


async def test_async_on_flush_error_is_awaited(server: QueenTestServer, client: Queen) -> None:
    server.nodes[0].faults.error(400, path="/api/v1/push", count=1)
    reported: List[int] = []

    async def on_flush_error(items: List[Dict[str, Any]], exc: BaseException) -> None:
        await asyncio.sleep(0)
        reported.append(len(items))

    await client.queue("rna").buffer(
        {"message_count": 3, "time_millis": 10, "on_flush_error": on_flush_error}
    ).push([{"data": i} for i in range(3)])
    await wait_for(lambda: reported == [3], timeout=3)


async def test_manual_flush_raises_and_keeps_retriable_items(
    server: QueenTestServer, client: Queen
) -> None:
    server.nodes[0].faults.error(503, path="/api/v1/push")
    qb = client.queue("rm").buffer({"message_count": 10, "time_millis": 60000})
    await qb.push([{"data": 1}, {"data": 2}])
    with pytest.raises(QueenHttpError):
        await qb.flush_buffer()
    assert client.get_buffer_stats()["totalBufferedMessages"] == 2
    server.nodes[0].faults.clear()
    await qb.flush_buffer()
    assert in_engine(server, "rm") == [1, 2]


async def test_manual_flush_drops_non_retriable(server: QueenTestServer, client: Queen) -> None:
    server.nodes[0].faults.error(422, path="/api/v1/push", count=1)
    qb = client.queue("rm2").buffer({"message_count": 10, "time_millis": 60000})
    await qb.push([{"data": 1}])
    with pytest.raises(QueenHttpError):
        await client.flush_all_buffers()
    assert client.get_buffer_stats()["droppedMessages"] == 1
    assert client.get_buffer_stats()["totalBufferedMessages"] == 0


# -- close ----------------------------------------------------------------------------------------


async def test_close_flushes_buffers(e2e: E2E) -> None:
    client, q = e2e.make_client(), e2e.name("cl")
    await client.queue(q).buffer({"message_count": 100, "time_millis": 60000}).push(
        [{"data": i} for i in range(7)]
    )
    await client.close()
    assert await stored(e2e.client, q) == list(range(7))
    assert not pending_tasks()


async def test_close_reports_what_it_could_not_deliver(
    server: QueenTestServer, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    await client.queue("cl2").buffer(
        {"message_count": 100, "time_millis": 60000, "retry_delay_millis": 20}
    ).push([{"data": i} for i in range(3)])
    await server.nodes[0].stop()
    caplog.set_level(logging.INFO, logger="queen.client")
    await asyncio.wait_for(client.close(timeout_millis=400), 5)
    assert client.get_buffer_stats()["droppedMessages"] == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("cl2/Default" in e and "3" in e for e in errors)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("Queen client closed" in m for m in infos)
    assert not pending_tasks()
    from queen import QueenError

    with pytest.raises(QueenError, match="Queen client is closed"):
        await client.queue("cl2").buffer({}).push({"data": 9})


async def test_items_kept_by_a_failed_manual_flush_go_out_on_time(
    server: QueenTestServer, client: Queen
) -> None:
    server.nodes[0].faults.error(503, path="/api/v1/push")
    qb = client.queue("rm3").buffer({"message_count": 10, "time_millis": 100})
    await qb.push([{"data": 1}, {"data": 2}])
    with pytest.raises(QueenHttpError):
        await qb.flush_buffer()
    server.nodes[0].faults.clear()
    await wait_for(lambda: in_engine(server, "rm3") == [1, 2], timeout=3)


async def test_close_delivers_items_kept_by_a_failed_manual_flush(
    server: QueenTestServer, make_client: Any
) -> None:
    client = make_client()
    server.nodes[0].faults.error(503, path="/api/v1/push", count=3)
    qb = client.queue("rm4").buffer({"message_count": 10, "time_millis": 60000})
    await qb.push([{"data": 1}, {"data": 2}])
    with pytest.raises(QueenHttpError):
        await qb.flush_buffer()
    await client.close(timeout_millis=3000)
    assert in_engine(server, "rm4") == [1, 2]
    assert client.get_buffer_stats()["droppedMessages"] == 0


async def test_concurrent_manual_and_timed_flushes_lose_nothing(
    server: QueenTestServer, client: Queen
) -> None:
    server.nodes[0].faults.latency(30, path="/api/v1/push")
    qb = client.queue("race").buffer({"message_count": 3, "time_millis": 5})
    for i in range(30):
        await qb.push({"data": i})
        if i % 4 == 0:
            await asyncio.gather(qb.flush_buffer(), client.flush_all_buffers())
    await client.flush_all_buffers()
    assert client.get_buffer_stats()["totalBufferedMessages"] == 0
    assert in_engine(server, "race") == list(range(30))
