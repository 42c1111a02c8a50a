"""wrk (the C load generator, Debian's ``wrk``) on the push scenarios: the floor of the client
CPU an HTTP/1.1 client can spend on the same requests.

``python bench/runners/wrk.py SCENARIO '{"url": ..., "n": 20000}'``. The bodies are the ones
queen-turbo posts for the same messages (``{"items": [...]}`` of 100 items with the same
payloads, partition ``Default`` and a fresh UUIDv7 transaction id each), written to a file and
posted in order by ``bench/wrk/push.lua`` over one connection (``push1``) or eight
(``push8``) on one wrk thread. Client CPU is wrk's own, from its first request to its last
answer (``os.clock()`` inside wrk); formatting the requests at start-up is not counted, as
the Python runners do not count building their message lists.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import args, emit, payload

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH)
LUA = os.path.join(BENCH, "wrk", "push.lua")
BATCH = 100
INFLIGHT = {"push1": 1, "push8": 8, "responder1": 1, "responder8": 8}


def bodies(queue: str, n: int) -> bytes:
    """One push body per line, as queen-turbo encodes them (its compiled encoder)."""
    sys.path.insert(0, ROOT)
    from queen._speedups import PushEncoder

    encoder = PushEncoder(queue, "Default")
    lines = []
    for start in range(0, n, BATCH):
        items = [{"data": payload(start + j)} for j in range(BATCH)]
        lines.append(encoder.body(encoder.items(items)))
    return b"\n".join(lines) + b"\n"


def call(method: str, url: str, body: Any = None) -> None:
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()


def run(p: Dict[str, Any]) -> Dict[str, Any]:
    scenario, url = p["scenario"], p["url"]
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"error": "wrk is not installed (Debian package wrk)"}
    if scenario not in INFLIGHT:
        return {"skipped": f"wrk only drives the push scenarios, not {scenario}"}
    queue = f"bench-{scenario}-wrk-{os.getpid()}"
    on_broker = not scenario.startswith("responder")
    if on_broker:
        call("POST", url + "/api/v1/configure", {"queue": queue, "options": {}})
    requests = p["n"] // BATCH
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as f:
        f.write(bodies(queue, p["n"]))
        f.flush()
        argv = [wrk, "-t1", f"-c{INFLIGHT[scenario]}", "-d300s", "--timeout", "30s", "-s", LUA,
                url, "--", f.name, str(requests)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        started = time.perf_counter()
        for line in proc.stdout:
            if line.strip() == "ready":
                break
        wall = time.perf_counter() - started
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    if on_broker:
        call("DELETE", f"{url}/api/v1/resources/queues/{queue}")  # keep the broker small
    result = next((json.loads(ln) for ln in out.splitlines() if ln.startswith("{")), None)
    if result is None:
        return {"error": f"wrk exit {proc.returncode}: {(err.strip() or out.strip())[-200:]}"}
    if result["errors"]:
        return {"error": f"wrk: {result['errors']} non-2xx answers"}
    messages = requests * BATCH
    cpu = result["wrk_cpu_s"]
    return {
        "messages": messages,
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
        "msgs_per_s": round(messages / wall, 1),
        "cpu_ms_per_1000": round(cpu * 1e6 / messages, 3),
        "msgs_per_cpu_s": round(messages / cpu, 1) if cpu else None,
        "p50_ms": result["p50_us"] / 1000.0,
        "p99_ms": result["p99_us"] / 1000.0,
        "inflight": INFLIGHT[scenario],
        "peak_rss_mb": None,
    }


if __name__ == "__main__":
    emit(run(args()))
