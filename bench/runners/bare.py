"""Bare loops: the same scenarios written directly on httpx+orjson or aiohttp+orjson.

They are what a user could write without any client library, and the floor a client has to
beat. ``python bench/runners/bare.py httpx|aiohttp SCENARIO '{"url": ..., "n": ...}'``.
The "buffered" scenario has no library API to call here: messages are appended to a list and
posted 100 at a time. "consume" runs four pop+ack workers.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Meter, emit, payload, percentile, run

BATCH = 100
HEADERS = {"Content-Type": "application/json"}


class Http:
    """The two calls a loop needs, on one library."""

    async def post(self, url: str, body: bytes) -> Tuple[int, bytes]:
        raise NotImplementedError

    async def get(self, url: str) -> Tuple[int, bytes]:
        raise NotImplementedError

    async def delete(self, url: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class HttpxHttp(Http):
    def __init__(self) -> None:
        import httpx

        self.c = httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(
            max_connections=100, max_keepalive_connections=10))

    async def post(self, url: str, body: bytes) -> Tuple[int, bytes]:
        r = await self.c.post(url, content=body, headers=HEADERS)
        return r.status_code, r.content

    async def get(self, url: str) -> Tuple[int, bytes]:
        r = await self.c.get(url)
        return r.status_code, r.content

    async def delete(self, url: str) -> None:
        await self.c.delete(url)

    async def close(self) -> None:
        await self.c.aclose()


class AiohttpHttp(Http):
    def __init__(self) -> None:
        import aiohttp

        self.s = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

    async def post(self, url: str, body: bytes) -> Tuple[int, bytes]:
        async with self.s.post(url, data=body, headers=HEADERS) as r:
            return r.status, await r.read()

    async def get(self, url: str) -> Tuple[int, bytes]:
        async with self.s.get(url) as r:
            return r.status, await r.read()

    async def delete(self, url: str) -> None:
        async with self.s.delete(url) as r:
            await r.read()

    async def close(self) -> None:
        await self.s.close()


def items(queue: str, start: int, count: int, partition: str = "Default") -> List[Dict[str, Any]]:
    return [{"queue": queue, "partition": partition, "payload": payload(start + j),
             "transactionId": str(uuid.uuid4())} for j in range(count)]


async def push_batch(h: Http, url: str, batch: List[Dict[str, Any]]) -> Any:
    status, body = await h.post(url + "/api/v1/push", orjson.dumps({"items": batch}))
    if status >= 300:
        raise RuntimeError(f"push: HTTP {status}")
    return orjson.loads(body)


async def push(p: Dict[str, Any], h: Http, q: str, inflight: int) -> Dict[str, Any]:
    n, url = p["n"], p["url"]
    starts = list(range(0, n, BATCH))
    await push_batch(h, url, items(q, -1, BATCH))
    meter = Meter()

    async def worker(mine: List[int]) -> None:
        for s in mine:
            t = time.perf_counter()
            await push_batch(h, url, items(q, s, BATCH))
            meter.latencies.append(time.perf_counter() - t)

    gc.collect()
    with meter:
        await asyncio.gather(*(worker(starts[k::inflight]) for k in range(inflight)))
    return meter.result(len(starts) * BATCH, inflight=inflight)


async def buffered(p: Dict[str, Any], h: Http, q: str) -> Dict[str, Any]:
    n, url = p["n"], p["url"]
    messages = [payload(i) for i in range(n)]
    meter = Meter()
    pending: List[Dict[str, Any]] = []
    gc.collect()
    with meter:
        for m in messages:
            pending.append({"queue": q, "partition": "Default", "payload": m,
                            "transactionId": str(uuid.uuid4())})
            if len(pending) >= BATCH:
                await push_batch(h, url, pending)
                pending = []
        if pending:
            await push_batch(h, url, pending)
    return meter.result(n)


async def prefill(h: Http, url: str, q: str, n: int, partitions: int = 1) -> None:
    await asyncio.gather(*(
        push_batch(h, url, items(q, s, BATCH, f"p{k % partitions}"))
        for k, s in enumerate(range(0, n, BATCH))
    ))


async def pop_and_ack(h: Http, url: str, q: str, batch: int) -> int:
    status, body = await h.get(f"{url}/api/v1/pop/queue/{q}?batch={batch}&wait=false")
    if status == 204 or not body:
        return 0
    msgs = orjson.loads(body).get("messages") or []
    if not msgs:
        return 0
    acks = [{"transactionId": m["transactionId"], "partitionId": m["partitionId"],
             "leaseId": m.get("leaseId"), "status": "completed"} for m in msgs]
    status, _ = await h.post(url + "/api/v1/ack/batch",
                             orjson.dumps({"acknowledgments": acks, "consumerGroup": None}))
    if status >= 300:
        raise RuntimeError(f"ack: HTTP {status}")
    return len(msgs)


async def pop_ack(p: Dict[str, Any], h: Http, q: str) -> Dict[str, Any]:
    n, url = p["n"], p["url"]
    await prefill(h, url, q, n)
    got = 0
    meter = Meter()
    gc.collect()
    with meter:
        while got < n:
            t = time.perf_counter()
            k = await pop_and_ack(h, url, q, BATCH)
            meter.latencies.append(time.perf_counter() - t)
            if not k:
                break
            got += k
    return meter.result(got)


async def consume(p: Dict[str, Any], h: Http, q: str) -> Dict[str, Any]:
    n, url, workers = p["n"], p["url"], p.get("concurrency", 4)
    await prefill(h, url, q, n, workers)
    got = [0]

    async def worker() -> None:
        idle_until: Optional[float] = None
        while got[0] < n:
            k = await pop_and_ack(h, url, q, BATCH)
            got[0] += k
            if k:
                idle_until = None
                continue
            now = time.perf_counter()
            idle_until = idle_until or now + 0.3
            if now > idle_until:
                return
            await asyncio.sleep(0.01)

    meter = Meter()
    gc.collect()
    with meter:
        await asyncio.gather(*(worker() for _ in range(workers)))
    return meter.result(got[0], concurrency=workers)


async def latency(p: Dict[str, Any], h: Http, q: str) -> Dict[str, Any]:
    rounds, url = p.get("rounds", 300), p["url"]
    lat: Dict[str, List[float]] = {"push": [], "pop": [], "ack": []}
    meter = Meter()
    with meter:
        for i in range(rounds):
            t0 = time.perf_counter()
            await push_batch(h, url, items(q, i, 1))
            while True:  # the real broker may show a message a moment after its push
                t1 = time.perf_counter()
                _, body = await h.get(f"{url}/api/v1/pop/queue/{q}?batch=1&wait=false")
                got = orjson.loads(body).get("messages") if body else None
                t2 = time.perf_counter()
                if got:
                    break
            m = got[0]
            await h.post(url + "/api/v1/ack", orjson.dumps({
                "transactionId": m["transactionId"], "partitionId": m["partitionId"],
                "leaseId": m.get("leaseId"), "status": "completed", "consumerGroup": None}))
            t3 = time.perf_counter()
            lat["push"].append(t1 - t0)
            lat["pop"].append(t2 - t1)
            lat["ack"].append(t3 - t2)
    meter.latencies = lat["push"] + lat["pop"] + lat["ack"]
    extra: Dict[str, Any] = {}
    for op, values in lat.items():
        ms = [v * 1000 for v in values]
        extra[f"{op}_p50_ms"] = round(percentile(ms, 0.5) or 0.0, 4)
        extra[f"{op}_p99_ms"] = round(percentile(ms, 0.99) or 0.0, 4)
    return meter.result(rounds, **extra)


SCENARIOS: Dict[str, Callable[..., Any]] = {
    "push1": lambda p, h, q: push(p, h, q, 1),
    "push8": lambda p, h, q: push(p, h, q, 8),
    "responder1": lambda p, h, q: push(p, h, q, 1),
    "responder8": lambda p, h, q: push(p, h, q, 8),
    "buffered": buffered,
    "pop_ack": pop_ack,
    "consume": consume,
    "latency": latency,
}


async def main() -> None:
    import json

    lib, scenario = sys.argv[1], sys.argv[2]
    p: Dict[str, Any] = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    p.setdefault("url", os.environ.get("QUEEN_URL", "http://127.0.0.1:6632"))
    if scenario not in SCENARIOS:
        emit({"skipped": f"no bare {lib} loop for {scenario}"})
        return
    h: Http = HttpxHttp() if lib == "httpx" else AiohttpHttp()
    q = f"bench-{scenario}-{lib}-{os.getpid()}"
    if not scenario.startswith("responder"):
        await h.post(p["url"] + "/api/v1/configure", orjson.dumps({"queue": q, "options": {}}))
    result = await SCENARIOS[scenario](p, h, q)
    if not scenario.startswith("responder"):
        await h.delete(f"{p['url']}/api/v1/resources/queues/{q}")  # keep the broker small
    await h.close()
    emit(result)


if __name__ == "__main__":
    run(main())
