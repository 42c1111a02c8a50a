"""Done-when scenarios: buffered producers, two groups, exactly once, order, faults, cluster."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Dict, List, Tuple

from qt_helpers import E2E, pending_tasks, wait_for

from queen import Queen
from queen.testing import QueenTestServer

N = 2000
PARTITIONS = 10


async def produce(client: Queen, queue: str, n: int = N) -> None:
    opts = {"message_count": 50, "time_millis": 20, "retry_delay_millis": 20}

    async def producer(p: int) -> None:
        qb = client.queue(queue).partition(f"p{p}").buffer(opts)
        for seq in range(p, n, PARTITIONS):
            await qb.push({"data": {"p": p, "seq": seq}})

    await asyncio.gather(*(producer(p) for p in range(PARTITIONS)))
    await client.flush_all_buffers()


async def consume_all(
    client: Queen, queue: str, group: str, seen: List[Tuple[str, int]], **kw: Any
) -> None:
    def handler(ms: List[Dict[str, Any]]) -> None:
        seen.extend((m["partition"], m["data"]["seq"]) for m in ms)

    qb = (
        client.queue(queue).group(group).batch(kw.get("batch", 25))
        .concurrency(kw.get("concurrency", 4)).partitions(kw.get("partitions", 2))
        .idle_millis(kw.get("idle", 500)).timeout_millis(kw.get("timeout", 200))
    )
    await qb.consume(handler)


def check_exactly_once_in_order(seen: List[Tuple[str, int]], n: int = N) -> None:
    assert len(seen) == n
    assert sorted(seq for _, seq in seen) == list(range(n))
    per: Dict[str, List[int]] = defaultdict(list)
    for partition, seq in seen:
        per[partition].append(seq)
    for partition, seqs in per.items():
        assert seqs == sorted(seqs), partition


def acked(server: QueenTestServer, queue: str, group: str) -> int:
    q = server.broker.state.queues[queue]
    return sum(p.consumers[group].total_consumed for p in q.partitions.values()
               if group in p.consumers)


async def test_buffered_producers_two_groups_exactly_once(e2e: E2E) -> None:
    producer, q = e2e.make_client(), e2e.name("e2e")
    await produce(producer, q)
    assert producer.get_buffer_stats()["droppedMessages"] == 0
    a: List[Tuple[str, int]] = []
    b: List[Tuple[str, int]] = []
    await asyncio.gather(
        consume_all(e2e.make_client(), q, "A", a),
        consume_all(e2e.make_client(), q, "B", b, concurrency=2, batch=7, partitions=3),
    )
    check_exactly_once_in_order(a)
    check_exactly_once_in_order(b)
    server = e2e.broker.server
    if server is not None:  # the engine's counters, where they can be read
        assert acked(server, q, "A") == acked(server, q, "B") == N
        assert server.broker.state.acked == 2 * N  # no message acknowledged twice
    assert not pending_tasks()


async def test_flaky_network_still_exactly_once(server: QueenTestServer, make_client: Any) -> None:
    node = server.nodes[0]
    producer = make_client()
    node.faults.drop(probability=0.05, seed=3, path="/api/v1/push", after_processing=True)
    node.faults.error(503, path="/api/v1/push")
    run = asyncio.ensure_future(produce(producer, "flaky", 500))
    await wait_for(lambda: producer.get_buffer_stats()["failedFlushes"] >= 1, timeout=10)
    node.faults.clear()
    node.faults.drop(probability=0.05, seed=4, path="/api/v1/push", after_processing=True)
    await asyncio.wait_for(run, 20)
    node.faults.clear()
    stats = producer.get_buffer_stats()
    assert stats["droppedMessages"] == 0 and stats["failedFlushes"] >= 1
    q = server.broker.state.queues["flaky"]
    assert sum(len(p.msgs) for p in q.partitions.values()) == 500  # resends were duplicates
    seen: List[Tuple[str, int]] = []
    node.faults.error(503, count=3, path="/api/v1/pop")
    await consume_all(make_client(), "flaky", "G", seen)
    check_exactly_once_in_order(seen, 500)


async def test_cluster_with_a_node_stopped_mid_run(cluster: QueenTestServer) -> None:
    producer = Queen(cluster.urls, handle_signals=False, retry_delay_millis=20)
    consumer = Queen(cluster.urls, handle_signals=False, retry_delay_millis=20)
    try:
        a: List[Tuple[str, int]] = []
        b: List[Tuple[str, int]] = []
        prod = asyncio.ensure_future(produce(producer, "clu"))
        cons = asyncio.ensure_future(asyncio.gather(
            consume_all(consumer, "clu", "A", a, idle=1500),
            consume_all(consumer, "clu", "B", b, idle=1500),
        ))
        await wait_for(lambda: len(a) > 200 and len(b) > 200, timeout=10)
        busiest = max(cluster.nodes, key=lambda n: n.requests_served)
        await busiest.stop()
        await wait_for(lambda: len(a) > 800, timeout=10)
        await busiest.start()
        await asyncio.wait_for(prod, 20)
        await asyncio.wait_for(cons, 20)
        check_exactly_once_in_order(a)
        check_exactly_once_in_order(b)
    finally:
        await producer.close(timeout_millis=2000)
        await consumer.close(timeout_millis=2000)


async def test_consumer_survives_the_broker_going_away(
    server: QueenTestServer, make_client: Any
) -> None:
    client = make_client(retry_attempts=1)
    await client.queue("away").create()
    seen: List[int] = []
    stop = asyncio.Event()
    run = asyncio.ensure_future(
        client.queue("away").timeout_millis(200)
        .consume(lambda m: seen.append(m["data"]), signal=stop)
    )
    await client.queue("away").push({"data": 1})
    await wait_for(lambda: seen == [1])
    await server.nodes[0].stop()
    await asyncio.sleep(0.5)  # pops fail: the worker logs, pauses and retries
    assert not run.done()
    await server.nodes[0].start()
    await client.queue("away").push({"data": 2})
    await wait_for(lambda: seen == [1, 2], timeout=10)
    stop.set()
    await asyncio.wait_for(run, 3)
    assert not pending_tasks()


async def test_renewed_leases_prevent_double_processing(
    server: QueenTestServer, make_client: Any
) -> None:
    await make_client().queue("dbl").config({"lease_time": 20}).create()
    await make_client().queue("dbl").push([{"data": i} for i in range(6)])
    seen: List[int] = []

    async def slow(ms: List[Dict[str, Any]]) -> None:
        await asyncio.sleep(0.25)
        server.clock.advance(15)  # lease 20 s: only renewal keeps it alive
        seen.extend(m["data"] for m in ms)

    workers = [
        make_client().queue("dbl").batch(2).renew_lease(True, 100).wait(False)
        .idle_millis(800).consume(slow)
        for _ in range(3)
    ]
    await asyncio.gather(*workers)
    assert sorted(seen) == list(range(6))
    assert server.broker.state.acked == 6


async def test_close_mid_run_hands_over_without_loss_or_repeat(
    server: QueenTestServer, make_client: Any
) -> None:
    producer = make_client()
    await produce(producer, "handover", 500)
    first = make_client()
    seen1: List[Tuple[str, int]] = []
    run = asyncio.ensure_future(consume_all(first, "handover", "H", seen1, batch=5, idle=2000))
    await wait_for(lambda: len(seen1) >= 100)
    await first.close()
    assert run.done()
    seen2: List[Tuple[str, int]] = []
    await consume_all(make_client(), "handover", "H", seen2)
    assert not set(seen1) & set(seen2)
    check_exactly_once_in_order(seen1 + seen2, 500)
    assert server.broker.state.acked == 500


async def test_demo_runs_against_the_embedded_broker() -> None:
    import io

    from queen.demo import run_demo

    out = io.StringIO()
    report = await run_demo(messages=300, partitions=4, concurrency=2, batch=50, out=out)
    assert report["ok"] and report["consumed"] == 300 and report["partitions"] == 4
    assert "exactly once: True" in out.getvalue()
