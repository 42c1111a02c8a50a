"""50 long-polling consumers and a producer, over HTTP/1.1 direct and HTTP/2 through nginx.

    python bench/http2/bench_http2.py [--messages 20000] [--consumers 50] [--rounds 1]
                                      [--broker-url http://127.0.0.1:PORT] [--loop uvloop]

Starts ``python -m queen.testing`` (or uses the broker at ``--broker-url``, e.g. the real
broker that ``python -m bench.run`` started) and an nginx ingress in front of it (the same
helper the tests use), then runs the client scenario once per route and round, the routes
interleaved, each run in a fresh process of its own so that its CPU time is the client's
only. Prints one markdown table of the medians, with the HTTP/2 routes' CPU relative to the
HTTP/1.1 route's.

Per route: peak TCP sockets held by the client process, messages/s (first push to last
handler call), p50/p99 latency from push to handler (the producer stamps each message), and
client CPU seconds (user + system) per 1000 messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


async def _client(url: str, messages: int, consumers: int, options: Dict[str, Any]) -> Dict:
    from queen import Queen

    baseline = _sockets()  # the event loop's own socketpair
    queen = Queen(url, handle_signals=False, **options)
    queue = "bench-" + uuid.uuid4().hex[:8]
    await queen.queue(queue).create()
    latencies: List[float] = []
    done = asyncio.Event()
    peak = 0

    async def handler(batch: List[Dict[str, Any]]) -> None:
        now = time.time()
        for message in batch:
            latencies.append(now - message["data"]["t"])
        if len(latencies) >= messages:
            done.set()

    consumer = asyncio.create_task(_consume(queen, queue, consumers, handler))
    await asyncio.sleep(1.0)  # every worker parked in a long-poll
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()

    async def produce(count: int) -> None:
        for _ in range(count // 10):
            await queen.queue(queue).push([{"data": {"t": time.time()}} for _ in range(10)])

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _sockets() - baseline)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    producers = 10
    await asyncio.gather(*(produce(messages // producers) for _ in range(producers)))
    try:
        await asyncio.wait_for(done.wait(), 60)
    except asyncio.TimeoutError:
        raise RuntimeError(f"only {len(latencies)} of {messages} consumed") from None
    elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    await sampler
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    protocols = queen.http_protocols
    await queen.close()
    latencies.sort()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "protocol": protocols[url],
        "sockets": peak,
        "msgs_per_s": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "cpu_ms_per_1000": cpu / len(latencies) * 1000 * 1000,
    }


async def _consume(queen: Any, queue: str, consumers: int, handler: Any) -> None:
    await queen.queue(queue).concurrency(consumers).batch(10).timeout_millis(5000).consume(handler)


def _run_client(args: argparse.Namespace) -> None:
    options = json.loads(args.options)
    if os.environ.get("BENCH_LOOP") == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(_client(args.client, args.messages, args.consumers, options))
    print(json.dumps(result))


def _route(url: str, options: Dict[str, Any], args: argparse.Namespace) -> Dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--client",
            url,
            "--options",
            json.dumps(options),
            "--messages",
            str(args.messages),
            "--consumers",
            str(args.consumers),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, BENCH_LOOP=args.loop),
    )
    if out.returncode != 0:
        raise RuntimeError(f"client for {url} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--consumers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--broker-url", default=None)
    parser.add_argument("--client")
    parser.add_argument("--options", default="{}")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="the clients' event loop")
    args = parser.parse_args()
    if args.client:
        _run_client(args)
        return
    sys.path.insert(0, str(ROOT / "tests" / "http2"))
    from _ingress import Broker, Nginx, make_pki

    directory = Path(tempfile.mkdtemp(prefix="queen-bench-h2-"))
    pki = make_pki(directory)
    broker = None if args.broker_url else Broker()
    broker_url = args.broker_url or broker.url  # type: ignore[union-attr]
    nginx = Nginx(int(broker_url.rsplit(":", 1)[1].split("/")[0]), pki, directory)
    nginx.start()
    routes = [
        ("HTTP/1.1 direct to the broker", broker_url, {}),
        ("HTTP/2 (TLS) through nginx", nginx.url("tls"), {"tls_ca_bundle": pki.ca}),
        ("HTTP/2 (h2c) through nginx", nginx.url("h2c"), {"http2_prior_knowledge": True}),
    ]
    runs: Dict[str, List[Dict[str, Any]]] = {name: [] for name, _, _ in routes}
    try:
        for _ in range(args.rounds):
            for name, url, options in routes:
                runs[name].append(_route(url, options, args))
    finally:
        nginx.stop()
        if broker is not None:
            broker.stop()
    cpu_model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    print(
        f"nproc {os.cpu_count()}, {cpu_model}, Python {platform.python_version()}, "
        f"{args.consumers} consumers, {args.messages} messages, broker "
        f"{'at --broker-url' if args.broker_url else 'python -m queen.testing'}, "
        f"{args.loop} event loop, medians of {args.rounds} interleaved round(s)"
    )
    print(
        "| route | protocol | client sockets (peak) | msgs/s | p50 ms | p99 ms | "
        "client CPU ms / 1000 msgs | CPU vs HTTP/1.1 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    base = statistics.median(r["cpu_ms_per_1000"] for r in runs[routes[0][0]])
    for name, _, _ in routes:
        r = {k: statistics.median(x[k] for x in runs[name]) for k in runs[name][0]
             if k != "protocol"}
        print(
            f"| {name} | {runs[name][0]['protocol']} | {r['sockets']:.0f} | "
            f"{r['msgs_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['cpu_ms_per_1000']:.1f} | {r['cpu_ms_per_1000'] / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
