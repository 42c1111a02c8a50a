"""consume(): handler argument rule, workers, limit, idle, long poll, auto-ack/nack, callbacks."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from qt_helpers import E2E, completed, pending_tasks, wait_for

from queen import Queen
from queen.testing import QueenTestServer


async def push_n(client: Queen, queue: str, n: int, partition: str = "Default") -> None:
    await client.queue(queue).partition(partition).push([{"data": {"i": i}} for i in range(n)])


def ids(arg: Any) -> List[int]:
    msgs = arg if isinstance(arg, list) else [arg]
    return [m["data"]["i"] for m in msgs]


# -- the handler argument rule (§4.6) --------------------------------------------------------


async def test_batch_one_gets_single_dicts(e2e: E2E) -> None:
    client = e2e.client
    q_rule1 = e2e.name("rule1")
    await push_n(client, q_rule1, 3)
    seen: List[Any] = []
    await client.queue(q_rule1).wait(False).limit(3).consume(seen.append)
    assert [type(a) for a in seen] == [type(seen[0])] * 3
    assert all(isinstance(a, dict) and not isinstance(a, list) for a in seen)
    assert [a["data"]["i"] for a in seen] == [0, 1, 2]


async def test_batch_above_one_gets_lists_even_of_one(e2e: E2E) -> None:
    client = e2e.client
    q_rule2 = e2e.name("rule2")
    await push_n(client, q_rule2, 1)
    seen: List[Any] = []
    await client.queue(q_rule2).batch(5).wait(False).limit(1).consume(seen.append)
    assert len(seen) == 1
    assert isinstance(seen[0], list) and len(seen[0]) == 1


async def test_batch_list_holds_the_whole_pop(e2e: E2E) -> None:
    client = e2e.client
    q_rule3 = e2e.name("rule3")
    await push_n(client, q_rule3, 7)
    seen: List[Any] = []
    await client.queue(q_rule3).batch(5).wait(False).limit(6).consume(seen.append)
    assert [ids(a) for a in seen] == [[0, 1, 2, 3, 4], [5, 6]]


async def test_each_mode_hands_single_dicts(e2e: E2E) -> None:
    client = e2e.client
    q_rule4 = e2e.name("rule4")
    await push_n(client, q_rule4, 4)
    seen: List[Any] = []
    await client.queue(q_rule4).batch(4).each().wait(False).limit(4).consume(seen.append)
    assert all(isinstance(a, dict) for a in seen)
    assert [a["data"]["i"] for a in seen] == [0, 1, 2, 3]


async def test_batch_one_with_partitions_gets_single_dicts(e2e: E2E) -> None:
    client = e2e.client
    q_rule5 = e2e.name("rule5")
    for p in ("a", "b", "c"):
        await push_n(client, q_rule5, 1, p)
    seen: List[Any] = []
    await client.queue(q_rule5).partitions(3).wait(False).limit(3).consume(seen.append)
    assert len(seen) == 3 and all(isinstance(a, dict) for a in seen)
    assert sorted(a["partition"] for a in seen) == ["a", "b", "c"]


async def test_multi_partition_pop_hands_one_list(e2e: E2E) -> None:
    client = e2e.client
    q_multi = e2e.name("multi")
    for p in ("a", "b", "c"):
        await push_n(client, q_multi, 2, p)
    seen: List[Any] = []
    await client.queue(q_multi).batch(10).partitions(3).wait(False).limit(1).consume(seen.append)
    assert len(seen) == 1
    assert sorted({m["partition"] for m in seen[0]}) == ["a", "b", "c"]
    assert len(seen[0]) == 6
    assert len({m["leaseId"] for m in seen[0]}) == 1  # one lease for a multi-partition pop


async def test_messages_serialise_and_carry_trace(e2e: E2E) -> None:
    client = e2e.client
    q_ser = e2e.name("ser")
    import json

    await push_n(client, q_ser, 1)
    seen: List[Any] = []
    await client.queue(q_ser).wait(False).limit(1).consume(seen.append)
    m = seen[0]
    assert "trace" in m and callable(m["trace"])
    assert "trace" not in json.loads(json.dumps(m))


# -- workers and limit ------------------------------------------------------------------------


async def test_concurrency_runs_parallel_workers(e2e: E2E) -> None:
    client = e2e.client
    q_conc = e2e.name("conc")
    for p in ("a", "b", "c"):
        await push_n(client, q_conc, 1, p)
    inside = 0
    peak = 0
    all_in = asyncio.Event()

    async def handler(m: Dict[str, Any]) -> None:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        if inside == 3:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 5)
        inside -= 1

    await client.queue(q_conc).concurrency(3).wait(False).limit(1).consume(handler)
    assert peak == 3


async def test_limit_is_per_worker(e2e: E2E) -> None:
    client = e2e.client
    q_lim = e2e.name("lim")
    for p in ("a", "b"):
        await push_n(client, q_lim, 10, p)
    seen: List[Any] = []

    async def handler(m: Dict[str, Any]) -> None:
        seen.append(m)
        await asyncio.sleep(0)

    await client.queue(q_lim).concurrency(2).limit(3).wait(False).consume(handler)
    assert len(seen) == 6


async def test_failed_calls_count_towards_limit(e2e: E2E) -> None:
    client = e2e.client
    q_limfail = e2e.name("limfail")
    await push_n(client, q_limfail, 1)
    calls: List[int] = []

    def handler(m: Dict[str, Any]) -> None:
        calls.append(m["data"]["i"])
        raise RuntimeError("nope")

    await client.queue(q_limfail).config({"retry_limit": 10}).create()
    await client.queue(q_limfail).wait(False).limit(3).consume(handler)
    assert calls == [0, 0, 0]  # the nacked message came back and each call counted


async def test_batch_is_not_cut_to_the_limit(e2e: E2E) -> None:
    client = e2e.client
    q_limbatch = e2e.name("limbatch")
    await push_n(client, q_limbatch, 10)
    seen: List[Any] = []
    await client.queue(q_limbatch).batch(10).limit(1).wait(False).consume(seen.append)
    assert len(seen) == 1 and len(seen[0]) == 10


# -- idle and long poll -------------------------------------------------------------------------


async def test_idle_stops_a_long_polling_worker_promptly(e2e: E2E) -> None:
    client = e2e.client
    q_idle = e2e.name("idle")
    await client.queue(q_idle).create()
    run = client.queue(q_idle).idle_millis(300).timeout_millis(30000).consume(lambda m: None)
    # A 30 s long poll capped by the idle time (D14): done well before the poll timeout.
    await asyncio.wait_for(run, 5)
    assert not pending_tasks()


async def test_idle_clock_restarts_after_messages(e2e: E2E) -> None:
    client = e2e.client
    q_idle2 = e2e.name("idle2")
    await client.queue(q_idle2).create()
    seen: List[Any] = []

    async def producer() -> None:
        for i in range(3):
            await asyncio.sleep(0.15)
            await client.queue(q_idle2).push({"data": {"i": i}})

    prod = asyncio.ensure_future(producer())
    await asyncio.wait_for(client.queue(q_idle2).idle_millis(400).consume(seen.append), 10)
    await prod
    assert [m["data"]["i"] for m in seen] == [0, 1, 2]


async def test_long_poll_parks_and_wakes_on_push(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("lp")
    await client.queue(q).create()
    seen: List[Any] = []
    run = asyncio.ensure_future(client.queue(q).limit(1).consume(seen.append))
    server = e2e.broker.server
    if server is not None:
        await wait_for(lambda: server.broker.parked() == 1)
    else:
        await asyncio.sleep(0.3)  # the real broker parks it; nothing to observe from here
    await client.queue(q).push({"data": {"i": 42}})
    await asyncio.wait_for(run, 5)
    assert [m["data"]["i"] for m in seen] == [42]


async def test_wait_false_polls_and_sleeps(server: QueenTestServer, client: Queen) -> None:
    await client.queue("poll").create()
    seen: List[Any] = []
    run = asyncio.ensure_future(client.queue("poll").wait(False).limit(1).consume(seen.append))
    await asyncio.sleep(0.35)
    assert server.broker.parked() == 0  # nothing parks on wait=false
    await client.queue("poll").push({"data": {"i": 1}})
    await asyncio.wait_for(run, 5)
    assert len(seen) == 1


# -- auto-ack and auto-nack ---------------------------------------------------------------------


async def test_auto_ack_completes_messages(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("ack1")
    await push_n(client, q, 5)
    await client.queue(q).batch(2).wait(False).limit(5).consume(lambda m: None)
    assert await completed(client, q) == 5
    assert await client.queue(q).wait(False).pop() == []


async def test_auto_nack_sends_error_text(e2e: E2E) -> None:
    client = e2e.client
    q_nack = e2e.name("nack")
    await client.queue(q_nack).config({"retry_limit": 0}).create()
    await push_n(client, q_nack, 1)

    def handler(m: Dict[str, Any]) -> None:
        raise ValueError("bad payload 7")

    await client.queue(q_nack).wait(False).limit(1).consume(handler)
    dlq = await client.queue(q_nack).dlq().get()
    assert [e["errorMessage"] for e in dlq["messages"]] == ["bad payload 7"]


async def test_auto_nack_of_an_empty_exception_sends_its_type_name(e2e: E2E) -> None:
    client = e2e.client
    q_nack2 = e2e.name("nack2")
    await client.queue(q_nack2).config({"retry_limit": 0}).create()
    await push_n(client, q_nack2, 1)

    class Boom(Exception):
        pass

    def handler(m: Dict[str, Any]) -> None:
        raise Boom()

    await client.queue(q_nack2).wait(False).limit(1).consume(handler)
    dlq = await client.queue(q_nack2).dlq().get()
    assert [e["errorMessage"] for e in dlq["messages"]] == ["Boom"]


async def test_batch_nack_redelivers_the_batch(e2e: E2E) -> None:
    client = e2e.client
    q_nack3 = e2e.name("nack3")
    await client.queue(q_nack3).config({"retry_limit": 5}).create()
    await push_n(client, q_nack3, 3)
    calls: List[List[int]] = []

    def handler(ms: List[Dict[str, Any]]) -> None:
        calls.append(ids(ms))
        if len(calls) == 1:
            raise RuntimeError("first time fails")

    await client.queue(q_nack3).batch(3).wait(False).limit(6).consume(handler)
    assert calls == [[0, 1, 2], [0, 1, 2]]


# -- callbacks ----------------------------------------------------------------------------------


async def test_on_success_disables_auto_ack(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("cb1")
    await client.queue(q).config({"lease_time": 1}).create()
    await push_n(client, q, 2)
    results: List[Any] = []

    def on_success(m: Any, result: Any) -> None:
        results.append((m["data"]["i"], result))

    await (
        client.queue(q).wait(False).limit(1).consume(lambda m: m["data"]["i"] * 10)
        .on_success(on_success)
    )
    assert results == [(0, 0)]
    assert await completed(client, q) == 0
    # The message was not acknowledged: still leased; back after lease expiry.
    assert await client.queue(q).wait(False).pop() == []
    await asyncio.sleep(1.2)
    again = await client.queue(q).batch(5).wait(False).pop()
    assert [m["data"]["i"] for m in again] == [0, 1]


async def test_async_on_success_acks_itself(e2e: E2E) -> None:
    client, q = e2e.client, e2e.name("cb2")
    await push_n(client, q, 3)

    async def on_success(m: Any, result: Any) -> None:
        await client.ack(m, True)

    async def handler(m: Any) -> str:
        await asyncio.sleep(0)
        return "ok"

    await client.queue(q).wait(False).limit(3).consume(handler).on_success(on_success)
    assert await completed(client, q) == 3


async def test_on_error_receives_the_exception_and_continues(e2e: E2E) -> None:
    client = e2e.client
    q_cb3 = e2e.name("cb3")
    # No retries: the nacked message is dead-lettered, so the second call is partition b's
    # whatever order the broker claims partitions in.
    await client.queue(q_cb3).config({"retry_limit": 0}).create()
    await push_n(client, q_cb3, 1, "a")
    await push_n(client, q_cb3, 1, "b")
    errors: List[Any] = []

    async def on_error(m: Any, exc: BaseException) -> None:
        errors.append((m["partition"], str(exc)))
        await client.ack(m, False, {"error": str(exc)})

    def handler(m: Any) -> None:
        raise KeyError("k")

    await client.queue(q_cb3).wait(False).limit(2).consume(handler).on_error(on_error)
    assert sorted(errors) == [("a", "'k'"), ("b", "'k'")]


async def test_on_error_without_ack_leaves_the_message_leased(e2e: E2E) -> None:
    client = e2e.client
    q_cb4 = e2e.name("cb4")
    await push_n(client, q_cb4, 1)
    errors: List[Any] = []
    await (
        client.queue(q_cb4).wait(False).limit(1).consume(lambda m: 1 / 0)
        .on_error(lambda m, e: errors.append(type(e)))
    )
    assert errors == [ZeroDivisionError]
    assert await client.queue(q_cb4).wait(False).pop() == []  # no auto-nack was sent


async def test_on_success_only_makes_handler_errors_fatal(e2e: E2E) -> None:
    client = e2e.client
    q_cb5 = e2e.name("cb5")
    await push_n(client, q_cb5, 1)
    with pytest.raises(LookupError, match="fatal one"):
        await (
            client.queue(q_cb5).wait(False).limit(5)
            .consume(lambda m: (_ for _ in ()).throw(LookupError("fatal one")))
            .on_success(lambda m, r: None)
        )
    assert not pending_tasks()


async def test_exception_in_on_success_goes_to_on_error(e2e: E2E) -> None:
    client = e2e.client
    q_cb6 = e2e.name("cb6")
    await push_n(client, q_cb6, 1)
    errors: List[str] = []

    def on_success(m: Any, r: Any) -> None:
        raise RuntimeError("from on_success")

    await (
        client.queue(q_cb6).wait(False).limit(1).consume(lambda m: None)
        .on_success(on_success).on_error(lambda m, e: errors.append(str(e)))
    )
    assert errors == ["from on_success"]


async def test_manual_mode_handler_error_is_fatal(e2e: E2E) -> None:
    client = e2e.client
    q_cb7 = e2e.name("cb7")
    await push_n(client, q_cb7, 1)

    def handler(m: Any) -> None:
        raise RuntimeError("no ack no callback")

    with pytest.raises(RuntimeError, match="no ack no callback"):
        await client.queue(q_cb7).auto_ack(False).wait(False).limit(3).consume(handler)


async def test_awaiting_the_builder_twice_runs_once(e2e: E2E) -> None:
    client = e2e.client
    q_once = e2e.name("once")
    await push_n(client, q_once, 2)
    seen: List[Any] = []
    builder = client.queue(q_once).wait(False).limit(1).consume(seen.append)
    await builder
    assert await builder is None
    assert len(seen) == 1
