"""Runner for a client that imports as ``queen``: queen-turbo or the reference ``queen-mq``.

Both expose the same API (queen-turbo is a drop-in replacement), so one script drives both;
which one is loaded depends only on the interpreter and ``PYTHONPATH`` the orchestrator uses.
Usage: ``python bench/runners/queen_client.py SCENARIO '{"url": ..., "n": 20000}'``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Meter, args, current_rss_mb, emit, payload, quiet, run

quiet()
import queen  # noqa: E402
from queen import Queen  # noqa: E402

BATCH = 100


def client(url: str) -> Queen:
    try:
        return Queen(url, handle_signals=False)  # type: ignore[call-arg]
    except TypeError:  # the reference constructor has no handle_signals
        return Queen(url)


def batches(n: int) -> List[List[Dict[str, Any]]]:
    return [[{"data": payload(i + j)} for j in range(BATCH)] for i in range(0, n, BATCH)]


async def prefill(q: Queen, name: str, n: int, partitions: int = 1) -> None:
    work = batches(n)
    await asyncio.gather(*(
        q.queue(name).partition(f"p{k % partitions}").push(items) for k, items in enumerate(work)
    ))


async def push(p: Dict[str, Any], q: Queen, name: str, inflight: int) -> Dict[str, Any]:
    work = batches(p["n"])
    await q.queue(name).push(work.pop())  # warm the connection and the encoders
    meter = Meter()
    queue = q.queue(name)

    async def worker(mine: List[List[Dict[str, Any]]]) -> None:
        for items in mine:
            t = time.perf_counter()
            await queue.push(items)
            meter.latencies.append(time.perf_counter() - t)

    gc.collect()
    with meter:
        await asyncio.gather(*(worker(work[k::inflight]) for k in range(inflight)))
    return meter.result(len(work) * BATCH, inflight=inflight)


async def buffered(p: Dict[str, Any], q: Queen, name: str) -> Dict[str, Any]:
    n = p["n"]
    messages = [{"data": payload(i)} for i in range(n)]
    options = {"message_count": BATCH, "time_millis": 100}
    meter = Meter()
    gc.collect()
    with meter:
        for m in messages:
            await q.queue(name).buffer(options).push([m])
        await q.flush_all_buffers()
    return meter.result(n)


async def pop_ack(p: Dict[str, Any], q: Queen, name: str) -> Dict[str, Any]:
    n = p["n"]
    await prefill(q, name, n)
    got = 0
    meter = Meter()
    builder = q.queue(name).batch(BATCH).wait(False)
    gc.collect()
    with meter:
        while got < n:
            t = time.perf_counter()
            msgs = await builder.pop()
            if not msgs:
                break
            result = await q.ack(msgs)
            meter.latencies.append(time.perf_counter() - t)
            if not result.get("success", True):
                raise RuntimeError(f"ack failed: {result}")
            got += len(msgs)
    return meter.result(got)


async def consume(p: Dict[str, Any], q: Queen, name: str) -> Dict[str, Any]:
    n, workers = p["n"], p.get("concurrency", 4)
    await prefill(q, name, n, partitions=workers)
    seen = [0]

    def handler(msgs: Any) -> None:
        seen[0] += len(msgs) if isinstance(msgs, list) else 1

    meter = Meter()
    gc.collect()
    with meter:
        await (q.queue(name).concurrency(workers).batch(BATCH).limit(n).idle_millis(300)
               .timeout_millis(300).consume(handler))
    return meter.result(seen[0], concurrency=workers)


async def latency(p: Dict[str, Any], q: Queen, name: str) -> Dict[str, Any]:
    rounds = p.get("rounds", 300)
    push_l: List[float] = []
    pop_l: List[float] = []
    ack_l: List[float] = []
    queue = q.queue(name)
    popper = q.queue(name).batch(1).wait(False)
    meter = Meter()
    with meter:
        for i in range(rounds):
            t0 = time.perf_counter()
            await queue.push([{"data": payload(i)}])
            while True:  # the real broker may show a message a moment after its push
                t1 = time.perf_counter()
                msgs = await popper.pop()
                t2 = time.perf_counter()
                if msgs:
                    break
            await q.ack(msgs[0])
            t3 = time.perf_counter()
            push_l.append(t1 - t0)
            pop_l.append(t2 - t1)
            ack_l.append(t3 - t2)
    meter.latencies = push_l + pop_l + ack_l
    return meter.result(rounds, **_ops(push_l, pop_l, ack_l))


def _ops(push_l: List[float], pop_l: List[float], ack_l: List[float]) -> Dict[str, Any]:
    from _common import percentile

    out: Dict[str, Any] = {}
    for op, values in (("push", push_l), ("pop", pop_l), ("ack", ack_l)):
        ms = [v * 1000 for v in values]
        out[f"{op}_p50_ms"] = round(percentile(ms, 0.5) or 0.0, 4)
        out[f"{op}_p99_ms"] = round(percentile(ms, 0.99) or 0.0, 4)
    return out


async def memory(p: Dict[str, Any], q: Queen, name: str) -> Dict[str, Any]:
    n = p.get("n", 1_000_000)
    bound = p.get("max_bytes", 512 * 1024 * 1024)
    options = {"message_count": n + 1, "time_millis": 3_600_000, "max_size": n,
               "max_bytes": bound}
    gc.collect()
    base = current_rss_mb()
    meter = Meter()
    builder = q.queue(name).buffer(options)
    chunk = 1000
    with meter:
        for i in range(0, n, chunk):
            await builder.push([{"data": payload(i + j)} for j in range(chunk)])
    gc.collect()
    grown = current_rss_mb() - base
    stats = q.get_buffer_stats()
    return meter.result(n, rss_growth_mb=round(grown, 1), bound_mb=round(bound / 2**20, 1),
                        bytes_per_message=round(grown * 2**20 / n, 1),
                        under_bound=grown * 2**20 < bound, buffer_stats=_jsonable(stats))


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


SCENARIOS = {
    "push1": lambda p, q, n: push(p, q, n, 1),
    "push8": lambda p, q, n: push(p, q, n, 8),
    "responder1": lambda p, q, n: push(p, q, n, 1),
    "responder8": lambda p, q, n: push(p, q, n, 8),
    "buffered": buffered,
    "pop_ack": pop_ack,
    "consume": consume,
    "latency": latency,
    "memory": memory,
}


async def main() -> None:
    p = args()
    q = client(p["url"])
    name = f"bench-{p['scenario']}-{os.getpid()}"
    if not p["scenario"].startswith("responder"):
        await q.queue(name).create()
    result = await SCENARIOS[p["scenario"]](p, q, name)
    result["client_module"] = os.path.dirname(queen.__file__)
    if p["scenario"] == "memory":
        emit(result)
        os._exit(0)  # the buffered million is never meant to be sent
    try:
        if not p["scenario"].startswith("responder"):
            await asyncio.wait_for(q.queue(name).delete(), 30)  # keep the broker's tables small
        await asyncio.wait_for(q.close(), 10)
    except Exception:
        pass
    emit(result)


if __name__ == "__main__":
    run(main())
