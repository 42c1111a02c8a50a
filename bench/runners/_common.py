"""What every Python runner shares: payloads, the measurement window, the one JSON line.

A runner is one process for one scenario of one client. Only the measured section counts:
``Meter`` reads the process CPU time (``time.process_time()``, user + system of this process
only, so the broker's CPU is never included), wall time and per-request latencies.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from typing import Any, Coroutine, Dict, List, Optional

__all__ = ["Meter", "args", "emit", "payload", "percentile", "run"]

# A ~200-byte JSON payload (the figure the targets are stated for).
_TEXT = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor " * 2


def payload(i: int) -> Dict[str, Any]:
    return {"id": i, "kind": "order.created", "customer": f"c-{i % 997:04d}", "amount": i % 1000,
            "note": _TEXT[:120]}


def percentile(values: List[float], q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


class Meter:
    """CPU, wall and latency of the measured section."""

    def __init__(self) -> None:
        self.latencies: List[float] = []
        self.cpu0 = self.wall0 = 0.0
        self.cpu = self.wall = 0.0

    def __enter__(self) -> Meter:
        self.cpu0 = time.process_time()
        self.wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.perf_counter() - self.wall0

    def result(self, messages: int, **extra: Any) -> Dict[str, Any]:
        lat = [x * 1000.0 for x in self.latencies]
        out: Dict[str, Any] = {
            "messages": messages,
            "wall_s": round(self.wall, 4),
            "cpu_s": round(self.cpu, 4),
            "msgs_per_s": round(messages / self.wall, 1) if self.wall else None,
            "cpu_ms_per_1000": round(self.cpu * 1e6 / messages, 3) if messages else None,
            "msgs_per_cpu_s": round(messages / self.cpu, 1) if self.cpu else None,
            "p50_ms": _r(percentile(lat, 0.5)),
            "p99_ms": _r(percentile(lat, 0.99)),
        }
        out.update(extra)
        return out


def _r(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 4)


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024.0, 1)


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except OSError:
        return peak_rss_mb()


def args() -> Dict[str, Any]:
    """``runner.py SCENARIO '{"url": ..., "n": ...}'``."""
    params: Dict[str, Any] = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    params["scenario"] = sys.argv[1]
    params.setdefault("url", os.environ.get("QUEEN_URL", "http://127.0.0.1:6632"))
    return params


_STDOUT = sys.stdout


def quiet() -> None:
    """Clients that print (the reference buffer does) print to stderr, not the result line."""
    sys.stdout = sys.stderr


def emit(result: Dict[str, Any]) -> None:
    result.setdefault("peak_rss_mb", peak_rss_mb())
    _STDOUT.write(json.dumps(result) + "\n")
    _STDOUT.flush()


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """Run a runner's coroutine on the event loop the orchestrator asked for:
    uvloop's when ``BENCH_LOOP=uvloop`` (the uvloop columns), asyncio's otherwise."""
    if os.environ.get("BENCH_LOOP") == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return asyncio.run(main)
