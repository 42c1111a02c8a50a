"""queen.sync end to end on both brokers.

The broker double runs on the test's event loop, so the synchronous code runs in a worker
thread (``asyncio.to_thread``): which is also the "process that already runs an event loop
in another thread" case.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any, Callable, List

import pytest

from queen import Queen as AsyncQueen
from queen import QueenServerError, QueenValidationError
from queen._keyed import key_partition
from queen.sync import Queen


def in_thread(fn: Callable[[], Any]) -> Any:
    return asyncio.to_thread(fn)


def drain(q: Queen, name: str) -> List[dict]:
    out: List[dict] = []
    while True:
        batch = q.queue(name).batch(100).wait(False).pop()
        if not batch:
            return out
        out.extend(batch)
        assert q.ack(batch)["success"] is True


async def test_push_pop_ack_transaction_and_admin(any_broker) -> None:
    name, out = any_broker.name("sync"), any_broker.name("syncout")

    def scenario() -> None:
        with Queen(any_broker.url, handle_signals=False) as q:
            assert q.queue(name).create()["configured"] is True
            q.queue(out).create()
            pushed = q.queue(name).push([{"data": {"job": i}} for i in range(3)])
            assert [e["status"] for e in pushed] == ["queued"] * 3
            msgs = q.queue(name).batch(10).wait(False).pop()
            assert [m["data"]["job"] for m in msgs] == [0, 1, 2]
            # The message trace helper blocks too.
            assert msgs[0].trace({"data": {"step": 1}, "traceName": name})["success"] is True
            assert q.ack(msgs[:2])["success"] is True
            result = q.transaction().ack(msgs[2]).queue(out).push([{"data": 2}]).commit()
            assert result["success"] is True
            assert [m["data"] for m in drain(q, out)] == [2]
            assert q.queue(name).batch(10).wait(False).pop() == []
            names = [x["name"] for x in q.admin.list_queues()["queues"]]
            assert name in names
            assert q.queue(name).dlq().limit(5).get()["messages"] == []

    await in_thread(scenario)


async def test_errors_are_the_async_clients(any_broker) -> None:
    """Bad input and broker refusals raise what the async client raises, type and text."""
    tx = any_broker.name("tx")
    queue = any_broker.name("e")
    cases: List[Callable[[Any], Any]] = [
        lambda c: c.queue("").push([{"data": 1}]),
        lambda c: c.queue(queue).push([{"data": object()}]),
        lambda c: c.queue(queue).partition("x" * 300).push([{"data": 1}]),
        lambda c: c.queue(queue).keyed(2).push([{"data": 1}]),
        lambda c: c.transaction().commit(),
        # A duplicate transactionId aborts a transaction (API §2.5).
        lambda c: c.transaction().queue(queue).push(
            [{"transactionId": tx, "data": 1}, {"transactionId": tx, "data": 1}]
        ).commit(),
    ]
    expected = []
    async with AsyncQueen(any_broker.url, handle_signals=False) as aq:
        for case in cases:
            with pytest.raises(Exception) as info:
                result = case(aq)
                if inspect.isawaitable(result):
                    await result
            expected.append((type(info.value), str(info.value)))

    def scenario() -> list:
        got = []
        with Queen(any_broker.url, handle_signals=False) as q:
            for case in cases:
                with pytest.raises(Exception) as info:
                    case(q)
                got.append((type(info.value), str(info.value)))
        return got

    assert await in_thread(scenario) == expected
    assert QueenServerError in [t for t, _ in expected]


async def test_callbacks_are_keyword_arguments_and_run_in_worker_threads(any_broker) -> None:
    name = any_broker.name("cb")

    def scenario() -> None:
        with Queen(any_broker.url, handle_signals=False) as q:
            seen: List[Any] = []
            loop_threads = {t.ident for t in threading.enumerate() if t.name == "queen-sync"}

            def on_success(items: list) -> None:
                # A callback may call the client again: it runs off the private loop.
                seen.append(("ok", len(items), threading.get_ident() not in loop_threads))
                seen.append(("stats", q.get_buffer_stats()["activeBuffers"]))

            def on_duplicate(items: list, error: Exception) -> None:
                seen.append(("dup", [i["transactionId"] for i in items]))

            q.queue(name).push([{"transactionId": "t1", "data": 1}], on_success=on_success)
            q.queue(name).push(
                [{"transactionId": "t1", "data": 1}, {"transactionId": "t2", "data": 2}],
                on_success=on_success,
                on_duplicate=on_duplicate,
            )
            assert seen == [
                ("ok", 1, True), ("stats", 0), ("dup", ["t1"]), ("ok", 1, True), ("stats", 0)
            ]
            with pytest.raises(QueenValidationError, match="async"):

                async def async_cb(items: list) -> None:
                    pass

                q.queue(name).push([{"data": 3}], on_success=async_cb)
            with pytest.raises(TypeError):
                q.queue(name).push([{"data": 3}], on_nothing=print)

    await in_thread(scenario)


async def test_consume_runs_plain_handlers_concurrently(any_broker) -> None:
    name = any_broker.name("consume")

    def scenario() -> None:
        with Queen(any_broker.url, handle_signals=False) as q:
            q.queue(name).create()
            for p in range(4):
                items = [{"data": {"p": p, "i": i}} for i in range(3)]
                q.queue(name).partition(f"p{p}").push(items)
            lock = threading.Lock()
            threads, seen = set(), []

            def handle(message: dict) -> None:
                with lock:
                    threads.add(threading.get_ident())
                    seen.append((message["data"]["p"], message["data"]["i"]))
                time.sleep(0.02)

            q.queue(name).group("g").concurrency(4).wait(False).idle_millis(1500).consume(handle)
            assert sorted(seen) == [(p, i) for p in range(4) for i in range(3)]
            assert len(threads) > 1
            # Acked by the consumer: nothing is left for the group.
            assert q.queue(name).group("g").batch(100).wait(False).pop() == []

            async def async_handler(message: dict) -> None:
                pass

            with pytest.raises(QueenValidationError, match="async"):
                q.queue(name).group("g").consume(async_handler)

    await in_thread(scenario)


async def test_failed_handler_nacks_and_on_error_owns_acks(any_broker) -> None:
    name = any_broker.name("nack")

    def scenario() -> None:
        with Queen(any_broker.url, handle_signals=False) as q:
            q.queue(name).config({"retry_limit": 5}).create()
            q.queue(name).push([{"data": 1}])
            errors: List[str] = []

            def boom(message: dict) -> None:
                raise RuntimeError("boom")

            def on_error(message: dict, exc: Exception) -> None:
                errors.append(str(exc))
                q.ack(message, False, {"group": "g"})

            q.queue(name).group("g").wait(False).limit(1).consume(boom, on_error=on_error)
            assert errors == ["boom"]

    await in_thread(scenario)


async def test_buffered_and_keyed_pushes(any_broker) -> None:
    name = any_broker.name("buf")
    keys = [f"order-{i}" for i in range(20)]

    def scenario() -> None:
        with Queen(any_broker.url, handle_signals=False) as q:
            q.queue(name).create()
            qb = q.queue(name).keyed(4).buffer({"message_count": 500, "time_millis": 60000})
            assert qb.push([{"key": k, "data": {"k": k}} for k in keys]) == {
                "buffered": True, "count": len(keys)
            }
            assert q.get_buffer_stats()["totalBufferedMessages"] == len(keys)
            q.flush_all_buffers()
            messages = drain(q, name)
            assert sorted(m["data"]["k"] for m in messages) == sorted(keys)
            assert all(m["partition"] == key_partition(m["data"]["k"], 4) for m in messages)
            q.queue(name).buffer({"message_count": 500, "time_millis": 60000}).push([{"data": 9}])
        # close() flushed the buffer.
        with Queen(any_broker.url, handle_signals=False) as q:
            assert [m["data"] for m in drain(q, name)] == [9]

    await in_thread(scenario)


async def test_many_threads_share_one_client(any_broker) -> None:
    name = any_broker.name("threads")

    def scenario() -> None:
        with Queen(any_broker.url, handle_signals=False) as q:
            q.queue(name).create()
            errors: List[BaseException] = []

            def worker(w: int) -> None:
                try:
                    for i in range(10):
                        q.queue(name).partition(f"w{w}").push([{"data": {"w": w, "i": i}}])
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            messages = drain(q, name)
            assert len(messages) == 80
            for w in range(8):
                assert [m["data"]["i"] for m in messages if m["data"]["w"] == w] == list(range(10))

    await in_thread(scenario)


async def test_called_from_a_thread_running_its_own_event_loop(any_broker) -> None:
    name = any_broker.name("inloop")

    def scenario() -> Any:
        async def main() -> Any:  # a coroutine of another loop calls the sync client
            with Queen(any_broker.url, handle_signals=False) as q:
                q.queue(name).push([{"data": "x"}])
                return [m["data"] for m in q.queue(name).wait(False).pop()]

        return asyncio.run(main())

    assert await in_thread(scenario) == ["x"]


async def test_close_from_another_thread_stops_a_blocking_consume(any_broker) -> None:
    name = any_broker.name("close")

    def scenario() -> None:
        q = Queen(any_broker.url, handle_signals=False)
        q.queue(name).create()
        started = threading.Event()
        result: List[Any] = []

        def consume() -> None:
            try:
                # wait(True): parked in a long poll when close() comes.
                q.queue(name).group("g").consume(lambda m: None)
                result.append("returned")
            except BaseException as exc:  # pragma: no cover - reported below
                result.append(exc)

        def closer() -> None:
            started.wait()
            time.sleep(0.3)
            q.close()

        t1, t2 = threading.Thread(target=consume), threading.Thread(target=closer)
        t1.start()
        t2.start()
        started.set()
        t1.join(20)
        t2.join(20)
        assert result == ["returned"]
        assert q.closed
        with pytest.raises(Exception, match="closed"):
            q.queue(name).push([{"data": 1}])

    await in_thread(scenario)


async def test_close_from_inside_a_handler(any_broker) -> None:
    name = any_broker.name("selfclose")

    def scenario() -> None:
        q = Queen(any_broker.url, handle_signals=False)
        q.queue(name).push([{"data": i} for i in range(3)])
        seen: List[Any] = []

        def handle(message: dict) -> None:
            seen.append(message["data"])
            q.close()  # returns at once; the consumer stops after this handler

        q.queue(name).group("g").wait(False).consume(handle)
        assert seen == [0]
        # The handled message was acked before the client closed.
        with Queen(any_broker.url, handle_signals=False) as again:
            left = again.queue(name).group("g").batch(9).wait(False).pop()
            assert [m["data"] for m in left] == [1, 2]

    await in_thread(scenario)


def test_construction_errors_leave_no_thread_behind() -> None:
    before = threading.active_count()
    with pytest.raises(ValueError):
        Queen("ftp://nowhere")
    assert threading.active_count() == before


async def test_a_threading_event_stops_consume(any_broker) -> None:
    name = any_broker.name("signal")

    def scenario() -> None:
        with Queen(any_broker.url, handle_signals=False) as q:
            q.queue(name).push([{"data": i} for i in range(5)])
            stop = threading.Event()
            seen: List[Any] = []

            def handle(message: dict) -> None:
                seen.append(message["data"])
                if len(seen) == 2:
                    stop.set()

            q.queue(name).group("g").consume(handle, signal=stop)  # wait(True): parks
            assert seen == [0, 1]
            left = q.queue(name).group("g").batch(10).wait(False).pop()
            assert [m["data"] for m in left] == [2, 3, 4]

    await in_thread(scenario)
