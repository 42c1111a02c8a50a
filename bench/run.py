"""Run every scenario for every client, interleaved, and write RESULTS.md and the chart.

``python -m bench.run`` (full, about 10 minutes on 2 cores) or ``python -m bench.run --quick``.

* The broker is ``python -m queen.testing`` in its own process (a fresh one per round), or
  the broker at ``QUEEN_URL``; the "responder" scenarios use ``bench/responder.py``, a canned
  answer server, also in its own process. Client CPU is measured inside each runner process.
* Clients: queen-turbo (this checkout), the reference ``queen-mq==0.15.0`` from PyPI in its
  own virtual environment (``bench/.venv-ref``, created on first use), bare httpx+orjson and
  bare aiohttp+orjson loops, and the Node.js ``queen-mq`` package when ``bench/node`` has it.
* Rounds are interleaved: each round runs every scenario for every client, the client order
  rotating, so all clients see the same machine load; the tables show the median per round.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from bench.runners import streams_scenario, sync_scenario

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
REF_VENV = os.path.join(BENCH, ".venv-ref")
REF_SPEC = "queen-mq==0.15.0"
NODE_DIR = os.path.join(BENCH, "node")
RESULTS = os.path.join(BENCH, "RESULTS.md")
CHART = os.path.join(BENCH, "cpu_per_1000.png")
PROFILE_STEPS = os.path.join(BENCH, "profile_steps.md")
BEGIN, END = "<!-- bench.run:begin -->", "<!-- bench.run:end -->"

CLIENTS = ["turbo", "reference", "httpx", "aiohttp", "node"]
LABELS = {"turbo": "queen-turbo", "reference": "queen-mq 0.15 (Python)", "httpx": "bare httpx",
          "aiohttp": "bare aiohttp", "node": "queen-mq (Node.js)"}
SCENARIOS = ["push1", "push8", "buffered", "pop_ack", "consume", "latency", "responder1",
             "responder8", "memory"]
TITLES = {
    "push1": "push 100/request, 1 in flight", "push8": "push 100/request, 8 in flight",
    "buffered": "buffered producer (100 msgs / 100 ms)", "pop_ack": "pop 100 + batch ack",
    "consume": "consume(), concurrency 4, batch 100", "latency": "single push/pop/ack",
    "responder1": "push 100, 1 in flight, minimal responder",
    "responder8": "push 100, 8 in flight, minimal responder",
    "memory": "1,000,000 buffered messages",
}


# The streams scenario lives in bench/runners/streams_scenario.py.
SCENARIOS.append(streams_scenario.NAME)
TITLES[streams_scenario.NAME] = streams_scenario.TITLE
# queen.sync's push loop: bench/runners/sync_scenario.py.
SCENARIOS.append(sync_scenario.NAME)
TITLES[sync_scenario.NAME] = sync_scenario.TITLE

SHORT = {
    "push1": "push 100/req\n1 in flight", "push8": "push 100/req\n8 in flight",
    "buffered": "buffered\nproducer", "pop_ack": "pop 100\n+ batch ack",
    "consume": "consume()\nconcurrency 4", "responder1": "push, responder\n1 in flight",
    "responder8": "push, responder\n8 in flight",
    streams_scenario.NAME: streams_scenario.SHORT,
    sync_scenario.NAME: sync_scenario.SHORT,
}


def log(msg: str) -> None:
    sys.stderr.write(f"[bench] {msg}\n")
    sys.stderr.flush()


# -- the processes ----------------------------------------------------------------------


class Server:
    """A broker or responder subprocess that prints its URL on the first line."""

    def __init__(self, argv: List[str]) -> None:
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, cwd=ROOT, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError(f"{argv} did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def ensure_reference() -> Optional[str]:
    python = os.path.join(REF_VENV, "bin", "python")
    if not os.path.exists(python):
        log(f"creating {REF_VENV} with {REF_SPEC}")
        try:
            subprocess.run([sys.executable, "-m", "venv", REF_VENV], check=True)
            subprocess.run([python, "-m", "pip", "install", "-q", REF_SPEC, "orjson"],
                           check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            log(f"reference client unavailable: {exc}")
            return None
    return python


def node_status() -> Tuple[Optional[str], str]:
    node = shutil.which("node")
    if node is None:
        return None, "Node.js is not installed on this machine."
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "queen-mq")):
        npm = shutil.which("npm")
        if npm is not None:
            log("npm install queen-mq in bench/node")
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
                why = next((ln for ln in lines if "404" in ln), lines[0] if lines else "")
                return None, ("The Node.js client was NOT measured: `npm install queen-mq` "
                              f"failed here ({why.replace('npm error ', '').strip()}).")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "queen-mq")):
        return None, "The Node.js client was NOT measured: queen-mq is not installed."
    return node, "queen-mq (Node.js) from bench/node/node_modules."


def runner_argv(client: str, scenario: str, params: Dict[str, Any], ref: Optional[str],
                node: Optional[str]) -> Optional[List[str]]:
    blob = json.dumps(params)
    if scenario == streams_scenario.NAME:
        return streams_scenario.argv(client, blob, ref, sys.executable)
    if scenario == sync_scenario.NAME:
        return sync_scenario.argv(client, blob, sys.executable)
    py = os.path.join(BENCH, "runners", "queen_client.py")
    bare = os.path.join(BENCH, "runners", "bare.py")
    if client == "turbo":
        return [sys.executable, py, scenario, blob]
    if client == "reference":
        return [ref, py, scenario, blob] if ref else None
    if client in ("httpx", "aiohttp"):
        return [sys.executable, bare, client, scenario, blob]
    if client == "node":
        return [node, os.path.join(NODE_DIR, "runner.mjs"), scenario, blob] if node else None
    return None


def run_one(argv: List[str], client: str, timeout: float) -> Dict[str, Any]:
    env = dict(os.environ)
    # Only queen-turbo sees this checkout; the reference venv must import its own `queen`.
    if client == "turbo":
        env["PYTHONPATH"] = ROOT
    else:
        env.pop("PYTHONPATH", None)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=BENCH)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail[:200]}"}
    return json.loads(lines[-1])


# -- the plan ---------------------------------------------------------------------------


def plan(quick: bool) -> Dict[str, Dict[str, Any]]:
    n = 10_000 if quick else 50_000
    return {
        "push1": {"n": n}, "push8": {"n": n}, "buffered": {"n": n // 2 if quick else n},
        "pop_ack": {"n": n}, "consume": {"n": n, "concurrency": 4},
        "latency": {"rounds": 200 if quick else 500},
        "responder1": {"n": 2 * n}, "responder8": {"n": 2 * n},
        "memory": {"n": 1_000_000, "max_bytes": 512 * 1024 * 1024},
        streams_scenario.NAME: streams_scenario.params(quick),
        sync_scenario.NAME: sync_scenario.params(quick),
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one round, fewer messages (~3 min)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3)")
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    args = ap.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    clients = [c for c in args.clients.split(",") if c]
    scenarios = [s for s in args.scenarios.split(",") if s]
    params = plan(args.quick)
    external = os.environ.get("QUEEN_URL")

    ref = ensure_reference() if "reference" in clients else None
    node, node_note = node_status() if "node" in clients else (None, "Node.js not requested.")
    log(node_note)
    started = time.time()
    raw: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    responder = Server([sys.executable, "-m", "bench.responder", "--port", "0"])
    try:
        for r in range(rounds):
            broker = None if external else Server(
                [sys.executable, "-m", "queen.testing", "--port", "0", "--idle-timeout", "10"])
            url = external or (broker.url if broker else "")
            try:
                for scenario in scenarios:
                    order = clients[r % len(clients):] + clients[: r % len(clients)]
                    for client in order:
                        if scenario == "memory" and (client not in ("turbo", "reference") or
                                                     (client == "reference" and args.quick)):
                            continue
                        if scenario == "memory" and r > 0:
                            continue
                        p = dict(params[scenario])
                        p["url"] = responder.url if scenario.startswith("responder") else url
                        cmd = runner_argv(client, scenario, p, ref, node)
                        if cmd is None:
                            continue
                        result = run_one(cmd, client, streams_scenario.TIMEOUT_S
                                         if scenario == streams_scenario.NAME else
                                         300 if scenario == "memory" else 120)
                        log(f"round {r + 1}/{rounds} {scenario:<10} {client:<9} "
                            f"{_brief(result)}")
                        raw.setdefault((scenario, client), []).append(result)
            finally:
                if broker is not None:
                    broker.stop()
    finally:
        responder.stop()
    elapsed = time.time() - started
    table = aggregate(raw)
    http2 = http2_hook(args.quick, external)
    command = "python -m bench.run" + (" --quick" if args.quick else "") + (
        f" --rounds {args.rounds}" if args.rounds else "")
    text = report(table, clients, scenarios, rounds, elapsed, command, node_note, http2,
                  external)
    if args.no_write:
        sys.stdout.write(text)
        return 0
    write_section(text)
    write_snippet(table, command)
    try:
        chart(table, clients)
    except ImportError:
        log("matplotlib is missing (pip install -r bench/requirements.txt): no chart")
    with open(os.path.join(BENCH, "last_run.json"), "w") as f:
        json.dump({f"{s}|{c}": v for (s, c), v in raw.items()}, f, indent=1)
    log(f"wrote {RESULTS} and {CHART} in {elapsed:.0f}s")
    return 0


def _brief(result: Dict[str, Any]) -> str:
    if "error" in result or "skipped" in result:
        return str(result.get("error") or result.get("skipped"))
    return (f"{result.get('cpu_ms_per_1000')} ms CPU/1000 msgs, "
            f"{result.get('msgs_per_s')} msgs/s, p50 {result.get('p50_ms')} ms")


def aggregate(raw: Dict[Tuple[str, str], List[Dict[str, Any]]]) -> Dict[Tuple[str, str], Any]:
    table: Dict[Tuple[str, str], Any] = {}
    for key, results in raw.items():
        good = [r for r in results if "error" not in r and "skipped" not in r]
        if not good:
            table[key] = {"error": results[-1].get("error") or results[-1].get("skipped")}
            continue
        merged: Dict[str, Any] = {}
        for field, value in good[0].items():
            values = [r[field] for r in good if isinstance(r.get(field), (int, float))
                      and not isinstance(r.get(field), bool)]
            merged[field] = statistics.median(values) if values else value
        merged["rounds"] = len(good)
        table[key] = merged
    return table


# -- the HTTP/2 scenarios of bench/http2 --------------------------------------------------


def http2_hook(quick: bool, external: Optional[str]) -> Tuple[str, List[Dict[str, Any]]]:
    """Run the HTTP/2 scenario of ``bench/http2`` when this checkout has one.

    ``bench/http2/bench_http2.py`` (HTTP/1.1 direct vs HTTP/2 through an nginx ingress)
    prints a markdown table, which is quoted as is; a ``bench.http2`` package with a
    ``__main__`` is run with ``--json`` and its JSON lines are tabulated.
    """
    pkg = os.path.join(BENCH, "http2")
    script = os.path.join(pkg, "bench_http2.py")
    if not os.path.exists(os.path.join(pkg, "__main__.py")):
        if not os.path.exists(script):
            return "bench/http2 is not present in this checkout: no HTTP/2 scenario ran.", []
        if shutil.which("nginx") is None:
            return ("bench/http2/bench_http2.py needs nginx (its HTTP/2 ingress), which is not "
                    "installed here: no HTTP/2 scenario ran.", [])
        argv = [sys.executable, script, "--messages", "5000" if quick else "20000"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=ROOT))
        except subprocess.TimeoutExpired:
            return "`python bench/http2/bench_http2.py` timed out after 300 s.", []
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or ["no output"]
            where = next((ln for ln in lines if ln.startswith("RuntimeError: client for")),
                         "")
            detail = f"{where[14:]} ... {lines[-1]}" if where else lines[-1]
            return f"`python bench/http2/bench_http2.py` failed: {detail[:300]}", []
        cmd = " ".join(["python", "bench/http2/bench_http2.py", *argv[2:]])
        return f"`{cmd}` (its own broker and nginx ingress):\n\n{done.stdout.strip()}", []
    argv = [sys.executable, "-m", "bench.http2", "--json"] + (["--quick"] if quick else [])
    env = dict(os.environ, PYTHONPATH=ROOT)
    if external:
        env["QUEEN_URL"] = external
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT,
                              env=env)
    except subprocess.TimeoutExpired:
        return "`python -m bench.http2 --json` timed out after 300 s.", []
    rows = []
    for line in done.stdout.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    note = f"`{' '.join(argv[1:])}` exited {done.returncode} with {len(rows)} result lines."
    return note, rows


# -- the report -------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _versions() -> Dict[str, str]:
    out: Dict[str, str] = {"python": platform.python_version()}
    from importlib import metadata

    for dist in ("httpx", "httpcore", "httptools", "orjson", "aiohttp"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    sys.path.insert(0, ROOT)
    try:
        from queen._version import __version__

        out["queen-turbo"] = __version__
    finally:
        sys.path.pop(0)
    out["queen-mq (Python)"] = "0.15.0" if os.path.isdir(REF_VENV) else "not installed"
    node = shutil.which("node")
    if node:
        out["node"] = subprocess.run([node, "--version"], capture_output=True,
                                     text=True).stdout.strip()
    return out


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}"


def targets(table: Dict[Tuple[str, str], Any]) -> List[List[str]]:
    def cpu(s: str, c: str) -> Optional[float]:
        v = table.get((s, c), {})
        return v.get("cpu_ms_per_1000") if isinstance(v, dict) else None

    rows: List[List[str]] = []
    for s in ("push1", "push8", "buffered", "pop_ack", "consume"):
        t, ref, aio = cpu(s, "turbo"), cpu(s, "reference"), cpu(s, "aiohttp")
        if t and ref:
            rows.append([f"{TITLES[s]}: CPU ≤ 1/4 of the reference", f"{ref / t:.1f}x less",
                         "met" if t * 4 <= ref else "not met"])
        if t and aio:
            rows.append([f"{TITLES[s]}: CPU below bare aiohttp", f"{t:.2f} vs {aio:.2f} ms",
                         "met" if t < aio else "not met"])
    for s in ("responder1", "responder8"):
        t = table.get((s, "turbo"), {}).get("msgs_per_cpu_s")
        ref = table.get((s, "reference"), {}).get("msgs_per_cpu_s")
        if t and ref:
            rows.append([f"{TITLES[s]}: ≥ 4x the messages per CPU-second",
                         f"{t / ref:.1f}x", "met" if t >= 4 * ref else "not met"])
    lat_t, lat_b = table.get(("latency", "turbo"), {}), table.get(("latency", "aiohttp"), {})
    for op in ("push", "pop", "ack"):
        a, b = lat_t.get(f"{op}_p50_ms"), lat_b.get(f"{op}_p50_ms")
        if a is not None and b is not None:
            rows.append([f"single-message {op} p50 adds ≤ 0.3 ms over bare aiohttp",
                         f"{a - b:+.3f} ms ({a:.3f} vs {b:.3f})",
                         "met" if a - b <= 0.3 else "not met"])
    sync_row = sync_scenario.target(cpu(sync_scenario.NAME, "turbo"),
                                    cpu(sync_scenario.ASYNC_TWIN, "turbo"))
    if sync_row:
        rows.append(sync_row)
    mem = table.get(("memory", "turbo"), {})
    if "rss_growth_mb" in mem:
        rows.append(["1,000,000 buffered 200-byte messages under the configured bound",
                     f"{mem['rss_growth_mb']:.0f} MB RSS growth, bound {mem['bound_mb']:.0f} MB,"
                     f" {mem['bytes_per_message']:.0f} B/message",
                     "met" if mem.get("under_bound") else "not met"])
    return rows


def report(table: Dict[Tuple[str, str], Any], clients: List[str], scenarios: List[str],
           rounds: int, elapsed: float, command: str, node_note: str,
           http2: Tuple[str, List[Dict[str, Any]]], external: Optional[str]) -> str:
    present = [c for c in clients if any(k[1] == c for k in table)]
    out = [BEGIN, "", "## Client benchmarks: queen-turbo vs the reference clients", ""]
    out.append(f"Command: `{command}` ({rounds} interleaved round(s), {elapsed:.0f} s, "
               f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC). Broker: "
               + (f"`QUEEN_URL={external}`" if external else
                  "`python -m queen.testing` in its own process")
               + "; the responder scenarios use `bench/responder.py` (canned answers).")
    out.append("")
    out.append(f"Machine: {_machine()}. Versions: "
               + ", ".join(f"{k} {v}" for k, v in _versions().items()) + ".")
    out.append("")
    out.append(f"Node.js: {node_note}")
    out.append("")
    out.append("Client CPU is the runner process's own CPU time (`time.process_time()`, "
               "`process.cpuUsage()` for Node.js) over the measured section; the broker runs "
               "in another process. Medians over the rounds. 200-byte JSON payloads.")
    out.append("")
    out.append("### Targets")
    out.append("")
    out.append("| target | measured | |")
    out.append("|---|---|---|")
    out.extend(f"| {a} | {b} | {c} |" for a, b, c in targets(table))
    out.append("")
    out.append("### Client CPU per 1000 messages (ms), and the ratio reference / queen-turbo")
    out.append("")
    out.append("| scenario | " + " | ".join(LABELS[c] for c in present) + " | ref / turbo |")
    out.append("|---|" + "---|" * (len(present) + 1))
    for s in scenarios:
        if s in ("latency", "memory"):
            continue
        cells = []
        for c in present:
            v = table.get((s, c))
            cells.append("-" if not v else v.get("error") or _fmt(v.get("cpu_ms_per_1000")))
        t = table.get((s, "turbo"), {}).get("cpu_ms_per_1000")
        ref = table.get((s, "reference"), {}).get("cpu_ms_per_1000")
        ratio = f"{ref / t:.1f}x" if t and ref else "-"
        out.append(f"| {TITLES[s]} | " + " | ".join(cells) + f" | {ratio} |")
    out.append("")
    out.append("### Throughput, latency per request, peak RSS")
    out.append("")
    out.append("p50/p99 are per request (per pop+ack pair in pop_ack). The consume() runs of the "
               "two clients end when their workers have been idle for 300 ms, which is inside "
               "their wall time (not their CPU); the bare loops stop at the last message.")
    out.append("")
    out.append("| scenario | client | msgs/s | msgs per CPU-s | p50 ms | p99 ms | peak RSS MB |")
    out.append("|---|---|---|---|---|---|---|")
    for s in scenarios:
        if s == "memory":
            continue
        for c in present:
            v = table.get((s, c))
            if not v or "error" in v:
                continue
            out.append(f"| {s} | {LABELS[c]} | {_fmt(v.get('msgs_per_s'), 0)} | "
                       f"{_fmt(v.get('msgs_per_cpu_s'), 0)} | {_fmt(v.get('p50_ms'), 3)} | "
                       f"{_fmt(v.get('p99_ms'), 3)} | {_fmt(v.get('peak_rss_mb'), 1)} |")
    out.append("")
    if any(k[0] == "latency" for k in table):
        out.append("### Single-message latency (sequential push, pop, ack), ms")
        out.append("")
        out.append("| client | push p50 | push p99 | pop p50 | pop p99 | ack p50 | ack p99 |")
        out.append("|---|---|---|---|---|---|---|")
        for c in present:
            v = table.get(("latency", c))
            if v and "error" not in v:
                out.append(f"| {LABELS[c]} | " + " | ".join(
                    _fmt(v.get(f"{op}_{q}_ms"), 3) for op in ("push", "pop", "ack")
                    for q in ("p50", "p99")) + " |")
        out.append("")
    if any(k[0] == "memory" for k in table):
        out.append("### Memory: 1,000,000 buffered 200-byte messages")
        out.append("")
        out.append("| client | RSS growth MB | bytes per message | configured bound MB | "
                   "peak RSS MB | CPU ms per 1000 |")
        out.append("|---|---|---|---|---|---|")
        for c in present:
            v = table.get(("memory", c))
            if v and "error" not in v:
                out.append(f"| {LABELS[c]} | {_fmt(v.get('rss_growth_mb'), 0)} | "
                           f"{_fmt(v.get('bytes_per_message'), 0)} | "
                           f"{_fmt(v.get('bound_mb'), 0) if c == 'turbo' else 'none'} | "
                           f"{_fmt(v.get('peak_rss_mb'), 0)} | "
                           f"{_fmt(v.get('cpu_ms_per_1000'))} |")
        out.append("")
    note, rows = http2
    out.append("### HTTP/2 (bench/http2)")
    out.append("")
    out.append(note)
    if rows:
        out.append("")
        keys = sorted({k for r in rows for k in r})
        out.append("| " + " | ".join(keys) + " |")
        out.append("|" + "---|" * len(keys))
        out.extend("| " + " | ".join(_fmt(r.get(k)) for k in keys) + " |" for r in rows)
    out.append("")
    out.append("![client CPU per 1000 messages](cpu_per_1000.png)")
    out.append("")
    if os.path.exists(PROFILE_STEPS):
        with open(PROFILE_STEPS) as f:
            out.append(f.read().strip())
        out.append("")
    out.append(END)
    return "\n".join(out) + "\n"


README = os.path.join(os.path.dirname(BENCH), "README.md")
README_BEGIN, README_END = "<!-- bench.run:readme:begin -->", "<!-- bench.run:readme:end -->"


def write_snippet(table: Dict[Tuple[str, str], Any], command: str) -> None:
    """The README's performance section (between its markers): chart and headline ratios."""

    def cell(s: str, c: str, field: str = "cpu_ms_per_1000") -> Optional[float]:
        v = table.get((s, c))
        return v.get(field) if isinstance(v, dict) else None

    rows = []
    for s in ("push1", "push8", "buffered", "pop_ack", "consume"):
        t, ref, aio = cell(s, "turbo"), cell(s, "reference"), cell(s, "aiohttp")
        if t and ref:
            rows.append(f"| {TITLES[s]} | {t:.1f} | {ref:.1f} | "
                        + (f"{aio:.1f}" if aio else "-") + f" | **{ref / t:.1f}x less** |")
    t1 = cell("responder1", "turbo", "msgs_per_cpu_s")
    r1 = cell("responder1", "reference", "msgs_per_cpu_s")
    lat = [cell("latency", c, "push_p50_ms") for c in ("turbo", "reference")]
    lines = [
        "## Performance",
        "",
        "![client CPU per 1000 messages](bench/cpu_per_1000.png)",
        "",
        "Client CPU per 1000 messages (ms, lower is better; 200-byte JSON payloads, 2-core "
        "machine, broker in another process):",
        "",
        "| scenario | queen-turbo | queen-mq 0.15 | bare aiohttp loop | CPU vs queen-mq |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    if t1 and r1:
        lines.append(f"Against a canned-answer responder (the broker's work taken out), "
                     f"queen-turbo pushes **{t1 / r1:.0f}x** the messages per CPU-second of "
                     f"queen-mq 0.15.")
    if all(lat):
        lines.append(f"A single-message push round trip takes {lat[0]:.2f} ms at the median "
                     f"(queen-mq: {lat[1]:.2f} ms).")
    lines += ["", f"Reproduce with `pip install -e .[bench]` and `{command}`; the full tables "
              "are in [bench/RESULTS.md](bench/RESULTS.md).", ""]
    with open(README) as f:
        readme = f.read()
    head, sep, rest = readme.partition(README_BEGIN)
    _, sep2, tail = rest.partition(README_END)
    if not (sep and sep2):
        raise SystemExit(f"README.md lacks the {README_BEGIN} ... {README_END} markers")
    with open(README, "w") as f:
        f.write(head + README_BEGIN + "\n" + "\n".join(lines) + README_END + tail)


def write_section(text: str) -> None:
    old = ""
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            old = f.read()
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        new = head + text.rstrip("\n") + tail
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "# Benchmark results\n\n") + text
    with open(RESULTS, "w") as f:
        f.write(new)


def chart(table: Dict[Tuple[str, str], Any], clients: List[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [s for s in ("push1", "push8", "buffered", "pop_ack", "consume", "responder1",
                         "responder8") if any((s, c) in table for c in clients)]
    present = [c for c in clients if any(isinstance(table.get((s, c)), dict) and
                                         table[(s, c)].get("cpu_ms_per_1000") for s in shown)]
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / max(1, len(present))
    colours = {"turbo": "#d62728", "reference": "#1f77b4", "httpx": "#7f7f7f",
               "aiohttp": "#bcbd22", "node": "#2ca02c"}
    for i, c in enumerate(present):
        xs, ys = [], []
        for j, s in enumerate(shown):
            v = table.get((s, c), {})
            if isinstance(v, dict) and v.get("cpu_ms_per_1000"):
                xs.append(j + (i - (len(present) - 1) / 2) * width)
                ys.append(v["cpu_ms_per_1000"])
        bars = ax.bar(xs, ys, width, label=LABELS[c], color=colours.get(c))
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(range(len(shown)))
    ax.set_xticklabels([SHORT[s] for s in shown], fontsize=8)
    ax.set_ylabel("client CPU ms per 1000 messages (lower is better)")
    ax.set_title("Client CPU per 1000 messages, 200-byte JSON payloads")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
