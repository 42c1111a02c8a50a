"""The client's request API end to end, on queen.testing and on the real broker.

The wire details of each call (exact bodies and queries) are pinned in ``tests/client``
against the recording in-process broker; here the same calls are proven against both
brokers by what they do: what a later pop, ack, DLQ read or admin read sees. Time-based
behaviours use one-second leases, delays and windows and real sleeps, since the real broker
has no clock to advance.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any, AsyncIterator, List, Optional

import pytest

from queen import Queen, QueenServerError


@pytest.fixture
async def queen(any_broker: Any) -> AsyncIterator[Queen]:
    client = Queen(any_broker.url, handle_signals=False, retry_delay_millis=20)
    try:
        yield client
    finally:
        await client.close()


async def _pop(queen: Queen, queue: str, batch: int = 1, group: Optional[str] = None,
               partition: Optional[str] = None, *, expect_none: bool = False) -> List[Any]:
    """A pop expecting messages long-polls briefly: the real broker's wildcard index is
    updated just after a push answers, so an immediate wildcard pop can miss a message (Q25).
    A pop expecting nothing does not wait."""
    b = queen.queue(queue)
    if partition is not None:
        b = b.partition(partition)
    b = b.batch(batch)
    b = b.wait(False) if expect_none else b.timeout_millis(3000)
    if group is not None:
        b = b.group(group)
    return await b.pop()


async def _none(queen: Queen, queue: str, batch: int = 1, group: Optional[str] = None,
                partition: Optional[str] = None) -> bool:
    """Whether an immediate pop finds nothing."""
    return await _pop(queen, queue, batch, group, partition, expect_none=True) == []


def _data(messages: List[Any]) -> List[Any]:
    return [m["data"] for m in messages]


# -- pop in every mode --------------------------------------------------------------------------


async def test_pop_batch_partition_and_empty_answers(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("pop")
    await queen.queue(q).partition("p").push([{"data": i} for i in range(5)])
    assert _data(await _pop(queen, q, 3, partition="p")) == [0, 1, 2]
    assert await _none(queen, q, 3, partition="p")  # lease_held
    assert await _none(queen, q, 3)  # no_available_partition
    assert await _none(queen, q, partition="nope")  # partition_not_found
    assert await _none(queen, any_broker.name("unknown"))


async def test_long_poll_times_out_empty_and_is_woken_by_a_push(
    any_broker: Any, queen: Queen
) -> None:
    q = any_broker.name("lp")
    assert await queen.queue(q).timeout_millis(300).pop() == []
    pending = asyncio.ensure_future(queen.queue(q).timeout_millis(5000).pop())
    await asyncio.sleep(0.3)
    assert not pending.done()
    await queen.queue(q).push({"data": "late"})
    assert _data(await asyncio.wait_for(pending, 5)) == ["late"]


async def test_groups_subscription_modes_and_queue_mode(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("grp")
    await queen.queue(q).push([{"data": "old1"}, {"data": "old2"}])
    await asyncio.sleep(0.05)
    assert _data(await _pop(queen, q, 10, group="a")) == ["old1", "old2"]
    assert _data(await _pop(queen, q, 10, group="b")) == ["old1", "old2"]
    new_mode = queen.queue(q).group("new").subscription_mode("new").wait(False)
    from_now = queen.queue(q).group("now").subscription_from("now").wait(False)
    assert await new_mode.pop() == [] and await from_now.pop() == []
    await queen.queue(q).push({"data": "fresh"})
    assert _data(await _pop(queen, q, 10, group="new")) == ["fresh"]
    assert _data(await _pop(queen, q, 10, group="now")) == ["fresh"]
    queue_mode = await _pop(queen, q, 10)
    assert _data(queue_mode) == ["old1", "old2", "fresh"]
    assert {m["consumerGroup"] for m in queue_mode} == {"__QUEUE_MODE__"}


async def test_multi_partition_pop_shares_one_lease(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("mp")
    for p in ("p1", "p2", "p3"):
        await queen.queue(q).partition(p).push([{"data": p + "a"}, {"data": p + "b"}])
    capped = await queen.queue(q).partitions(3).batch(2).timeout_millis(3000).pop()
    assert len(capped) == 2  # batch is a global cap
    rest = await queen.queue(q).partitions(3).batch(10).timeout_millis(3000).pop()
    assert len(rest) == 4 and len({m["leaseId"] for m in rest}) == 1
    renewed = await queen.renew(rest)
    assert isinstance(renewed, list) and len(renewed) == 1 and renewed[0]["success"]


async def test_commit_on_delivery_never_redelivers(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("cod")
    await queen.queue(q).config({"lease_time": 1}).create()
    await queen.queue(q).push([{"data": 1}, {"data": 2}])
    got = await queen.queue(q).commit_on_delivery().timeout_millis(3000).pop()
    assert _data(got) == [1] and got[0]["leaseId"] == ""
    assert _data(await queen.queue(q).commit_on_delivery().timeout_millis(3000).pop()) == [2]
    await asyncio.sleep(1.2)
    assert await _none(queen, q)


async def test_plain_pop_leases_and_redelivers_after_expiry(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("lease")
    await queen.queue(q).config({"lease_time": 1}).create()
    await queen.queue(q).push({"data": 1})
    (m,) = await _pop(queen, q)
    assert m["leaseId"]
    assert await _none(queen, q)
    await asyncio.sleep(1.3)
    again = await _pop(queen, q)
    assert [x["transactionId"] for x in again] == [m["transactionId"]]
    # The expired lease can no longer acknowledge; the new one can.
    assert (await queen.ack(m))["success"] is False
    assert (await queen.ack(again[0]))["success"] is True


async def test_delayed_processing_holds_messages_back(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("delay")
    await queen.queue(q).config({"delayed_processing": 1}).create()
    await queen.queue(q).push([{"data": 1}, {"data": 2}])
    assert await _none(queen, q, 5)
    await asyncio.sleep(1.3)
    assert _data(await _pop(queen, q, 5)) == [1, 2]


async def test_window_buffer_waits_for_a_quiet_partition(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("window")
    await queen.queue(q).config({"window_buffer": 1}).create()
    await queen.queue(q).partition("p").push({"data": 1})
    await asyncio.sleep(0.5)
    await queen.queue(q).partition("p").push({"data": 2})  # the window restarts
    assert await _none(queen, q, 5)
    assert await _none(queen, q, 5, partition="p")
    await asyncio.sleep(1.3)
    assert _data(await _pop(queen, q, 5, partition="p")) == [1, 2]


# -- ack and renew ------------------------------------------------------------------------------


async def test_acks_completed_failed_and_dead_lettered(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("ack")
    await queen.queue(q).config({"retry_limit": 1}).create()
    await queen.queue(q).push([{"data": 1}, {"data": 2}])
    (first,) = await _pop(queen, q)
    assert (await queen.ack(first))["success"] is True
    (second,) = await _pop(queen, q)
    assert (await queen.ack(second, False))["success"] is True  # retried once
    (again,) = await _pop(queen, q)
    assert again["transactionId"] == second["transactionId"]
    await queen.ack(again, False, error="gave up")
    assert await _none(queen, q)
    dlq = await queen.queue(q).dlq().get()
    assert [(e["data"], e["errorMessage"]) for e in dlq["messages"]] == [(2, "gave up")]


async def test_batch_ack_releases_the_partition(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("batch")
    await queen.queue(q).push([{"data": i} for i in range(4)])
    batch = await _pop(queen, q, 2)
    answer = await queen.ack(batch)
    assert answer["success"] is True and len(answer["results"]) == 2
    assert answer["results"][-1]["leaseReleased"] is True
    assert _data(await _pop(queen, q, 5)) == [2, 3]


async def test_ack_in_a_consumer_group(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("gack")
    await queen.queue(q).push([{"data": 1}, {"data": 2}])
    (m,) = await _pop(queen, q, group="g")
    assert (await queen.ack(m, True, {"group": "g"}))["success"] is True
    assert _data(await _pop(queen, q, group="g")) == [2]
    assert _data(await _pop(queen, q, group="h")) == [1]


async def test_renew_keeps_a_lease_alive(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("renew")
    await queen.queue(q).config({"lease_time": 1}).create()
    await queen.queue(q).push({"data": 1})
    (m,) = await _pop(queen, q)
    result = await queen.renew(m, seconds=30)
    assert isinstance(result, dict) and result["success"] is True and result["expiresAt"]
    await asyncio.sleep(1.3)  # past the original lease
    assert await _none(queen, q)
    assert (await queen.ack(m))["success"] is True
    unknown = str(uuid.uuid4())
    assert await queen.renew(unknown) == {
        "leaseId": unknown, "success": False, "error": "Lease not found"}


async def test_renew_of_an_expired_lease_is_refused(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("expired")
    await queen.queue(q).config({"lease_time": 1}).create()
    await queen.queue(q).push({"data": 1})
    (m,) = await _pop(queen, q)
    await asyncio.sleep(1.3)
    assert await queen.renew(m) == {
        "leaseId": m["leaseId"], "success": False, "error": "Lease already expired"}


# -- transactions ---------------------------------------------------------------------------------


async def test_transaction_acks_and_pushes_together(any_broker: Any, queen: Queen) -> None:
    src, dst = any_broker.name("src"), any_broker.name("dst")
    await queen.queue(src).push([{"data": "s1"}, {"data": "s2"}])
    (m,) = await _pop(queen, src)
    trace = str(uuid.uuid4())
    result = await (
        queen.transaction().ack(m)
        .queue(dst).partition("P").push([{"data": 1}, {"data": 2, "transactionId": "user-tx",
                                                      "traceId": trace}])
        .commit()
    )
    assert result["success"] is True
    assert [r["type"] for r in result["results"]] == ["ack", "push", "push"]
    got = await _pop(queen, dst, 5, partition="P")
    assert _data(got) == [1, 2] and (got[1]["transactionId"], got[1]["traceId"]) == (
        "user-tx", trace)
    assert _data(await _pop(queen, src)) == ["s2"]


async def test_transaction_rolls_back_on_a_duplicate(any_broker: Any, queen: Queen) -> None:
    src, dst = any_broker.name("src"), any_broker.name("dst")
    await queen.queue(src).config({"lease_time": 1}).create()
    await queen.queue(src).push({"data": 1})
    await queen.queue(dst).push({"data": 0, "transactionId": "taken"})
    (m,) = await _pop(queen, src)
    with pytest.raises(QueenServerError, match="duplicate key"):
        await (queen.transaction().ack(m)
               .queue(dst).push([{"data": "new", "transactionId": "fresh"},
                                 {"data": "dup", "transactionId": "taken"}])
               .commit())
    assert [x["transactionId"] for x in await _pop(queen, dst, 5)] == ["taken"]
    await asyncio.sleep(1.2)  # the rolled-back ack left the message leased, then free
    assert [x["transactionId"] for x in await _pop(queen, src)] == [m["transactionId"]]


async def test_transaction_failed_ack_dead_letters_and_retry_is_refused(
    any_broker: Any, queen: Queen
) -> None:
    q = any_broker.name("txf")
    await queen.queue(q).push([{"data": 1}, {"data": 2}])
    (m,) = await _pop(queen, q)
    result = await queen.transaction().ack(m, False).commit()
    assert result["results"][0]["dlq"] is True
    assert [e["data"] for e in (await queen.queue(q).dlq().get())["messages"]] == [1]
    (n,) = await _pop(queen, q)
    with pytest.raises(QueenServerError, match="ACK operation failed"):
        await queen.transaction().ack(n, "retry").commit()


# -- queues and consumer groups ------------------------------------------------------------------


async def test_configure_replaces_and_delete_removes(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("cfg")
    await queen.queue(q).config({"lease_time": 10, "retry_limit": 7}).create()
    await queen.queue(q).config({"retry_limit": 1}).create()
    await queen.queue(q).push({"transactionId": "t", "data": 1})
    (m,) = await _pop(queen, q)
    detail = await queen.admin.get_message(m["partitionId"], "t")
    assert detail["queueConfig"]["leaseTime"] == 300  # reset to the default
    assert detail["queueConfig"]["retryLimit"] == 1
    assert (await queen.queue(q).delete())["deleted"] is True
    assert await queen.admin.get_queue(q) == {"error": "Queue not found"}


async def test_consumer_group_delete_seek_and_subscription(any_broker: Any, queen: Queen) -> None:
    q, g = any_broker.name("cg"), any_broker.name("g")
    await queen.queue(q).push([{"data": i} for i in range(3)])
    (m,) = await _pop(queen, q, group=g)
    await queen.ack(m, True, {"group": g})
    seek = await queen.admin.seek_consumer_group(g, q, {"toEnd": True})
    assert seek["success"] is True and seek["partitionsUpdated"] == 1
    assert await _none(queen, q, group=g)
    await queen.admin.seek_consumer_group(g, q, {"timestamp": "2000-01-01T00:00:00Z"})
    assert _data(await _pop(queen, q, 5, group=g)) == [0, 1, 2]
    deleted = await queen.delete_consumer_group(g)
    assert deleted["success"] is True and deleted["deletedPartitions"] == 1
    assert _data(await _pop(queen, q, group=g)) == [0]  # the group starts over
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    h = any_broker.name("h")
    await queen.queue(q).group(h).subscription_from("2000-01-01T00:00:00Z").wait(False).pop()
    moved = await queen.update_consumer_group_timestamp(h, later)
    assert moved["success"] is True
    await queen.queue(q).partition("B").push({"data": "b"})
    assert await _none(queen, q, group=h, partition="B")


async def test_admin_reads_see_the_queue(any_broker: Any, queen: Queen) -> None:
    q = any_broker.name("adm")
    await queen.queue(q).push([{"data": 1}, {"data": 2}])
    (m,) = await _pop(queen, q)
    listed = await queen.admin.list_messages(queue=q)
    assert [x["status"] for x in listed["messages"]] == ["processing", "processing"]
    await queen.ack(m)
    statuses = [x["status"] for x in (await queen.admin.list_messages(queue=q))["messages"]]
    assert statuses == ["pending", "completed"]  # newest first
    for _ in range(2):  # the real broker's counters are refreshed by a job (or on demand)
        await queen.admin.refresh_consumer_stats()
    totals = (await queen.admin.get_queue_detail(q))["totals"]
    assert (totals["total"], totals["completed"], totals["pending"]) == (2, 1, 1)
    analytics = await queen.admin.get_analytics(queue=q, interval="minute")
    assert sum(p["messages"] for p in analytics["dataPoints"]) == 2
