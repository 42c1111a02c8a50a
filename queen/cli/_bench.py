"""``queen bench push|consume``: a quick load test of a broker from this machine.

Client CPU is this process's CPU time (``time.process_time``) over the timed loop; latency
is per request (a push of one batch, or a pop and its ack).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

__all__ = ["BenchResult", "bench_consume", "bench_push"]


@dataclass
class BenchResult:
    scenario: str
    messages: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies: List[float] = field(default_factory=list)

    def row(self) -> Dict[str, Any]:
        lat = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)

        return {
            "scenario": self.scenario,
            "messages": self.messages,
            "seconds": round(self.seconds, 3),
            "msgs_per_s": round(self.messages / self.seconds, 1) if self.seconds else 0.0,
            "cpu_ms_per_1000": round(self.cpu_seconds * 1e6 / self.messages, 2)
            if self.messages
            else 0.0,
            "latency_ms_p50": pct(0.50),
            "latency_ms_p95": pct(0.95),
            "latency_ms_p99": pct(0.99),
            "latency_ms_mean": round(statistics.fmean(lat) * 1000, 2),
        }


def _payload(size: int, i: int) -> Dict[str, Any]:
    return {"i": i, "pad": "x" * max(0, size - 20)}


def bench_push(
    q: Any, queue: str, messages: int, batch: int, payload_bytes: int,
    advance: Callable[[int], None],
) -> BenchResult:
    result = BenchResult("push")
    builder = q.queue(queue)
    cpu0, t0 = time.process_time(), time.perf_counter()
    sent = 0
    while sent < messages:
        n = min(batch, messages - sent)
        items = [{"data": _payload(payload_bytes, sent + j)} for j in range(n)]
        start = time.perf_counter()
        builder.push(items)
        result.latencies.append(time.perf_counter() - start)
        sent += n
        advance(n)
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - cpu0
    result.messages = sent
    return result


def fill(q: Any, queue: str, messages: int, payload_bytes: int) -> None:
    for start in range(0, messages, 1000):
        n = min(1000, messages - start)
        q.queue(queue).push([{"data": _payload(payload_bytes, start + j)} for j in range(n)])


def bench_consume(
    q: Any, queue: str, messages: int, batch: int, advance: Callable[[int], None],
    idle_seconds: float = 5.0,
) -> BenchResult:
    """Pop ``batch`` at a time and ack, until ``messages`` arrived or the queue stays empty
    for ``idle_seconds``."""
    result = BenchResult("consume")
    builder = q.queue(queue).batch(batch).wait(False)
    cpu0, t0 = time.process_time(), time.perf_counter()
    got = 0
    last = time.perf_counter()
    while got < messages:
        start = time.perf_counter()
        msgs = builder.pop()
        if not msgs:
            if time.perf_counter() - last > idle_seconds:
                break
            time.sleep(0.01)
            continue
        q.ack(msgs)
        now = time.perf_counter()
        result.latencies.append(now - start)
        last = now
        got += len(msgs)
        advance(len(msgs))
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - cpu0
    result.messages = got
    return result
