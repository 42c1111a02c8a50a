"""Run every scenario for every client, interleaved, and write RESULTS.md, the chart and the
README's performance table.

``python -m bench.run`` (full; about 30 minutes on 2 cores) or ``python -m bench.run --quick``.

* **Broker.** The real Queen 0.15 broker of ``../shared/queen-broker`` (looked up in the
  parent folders of this checkout), started by this harness *without* ``--fast`` (durable
  settings) and stopped at the end; or the broker at ``QUEEN_URL`` when that is set; or, when
  neither exists, ``python -m queen.testing`` in its own process (a fresh one per round), and
  the figures are then labelled as ``queen.testing`` figures. ``--broker testing`` forces the
  latter. Real-broker figures go to their own section of ``bench/RESULTS.md``, the chart and
  the README; ``queen.testing`` figures to a second, labelled section. The "responder"
  scenarios use ``bench/responder.py``, a canned-answer server, in its own process.
* **Clients** (columns): queen-turbo (this checkout); the reference ``queen-mq==0.15.0`` from
  PyPI in its own virtual environment (``bench/.venv-ref``, created on first use); both again
  on uvloop; the Node.js ``queen-mq`` 0.15 (installed into ``bench/node/node_modules`` from
  ``../shared/peers`` when missing); bare httpx+orjson and aiohttp+orjson loops; wrk
  (Debian's package, installed with apt-get when missing and run as root) posting the same
  push bodies; and a hand-written loop on one blocking
  socket with orjson and no event loop (``bench/runners/floor.py``, one request in flight).
  A client that has no runner for a scenario is left out of that row.
* **Rounds** are interleaved: each round runs every scenario for every client, the client
  order rotating, so all clients see the same machine load; the tables show the median per
  round. Client CPU is measured inside each runner process (the broker runs in another).

Adding a scenario: one ``Scenario`` entry in ``SCENARIOS`` below. Its runner for the Python
clients is ``bench/runners/<runner>`` (``python RUNNER SCENARIO PARAMS_JSON``, printing one JSON
line, running its event loop with ``_common.run`` so that the uvloop columns work); list in
``clients`` the columns it supports.
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
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from bench.runners import streams_scenario, sync_scenario

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
RUNNERS = os.path.join(BENCH, "runners")
REF_VENV = os.path.join(BENCH, ".venv-ref")
REF_SPEC = "queen-mq==0.15.0"
NODE_DIR = os.path.join(BENCH, "node")
NODE_PEER = "queen-mq-0.15.0.tgz"
RESULTS = os.path.join(BENCH, "RESULTS.md")
CHART = os.path.join(BENCH, "cpu_per_1000.png")
PROFILE_STEPS = os.path.join(BENCH, "profile_steps.md")

CLIENTS = ["turbo", "turbo-uvloop", "reference", "reference-uvloop", "node", "aiohttp", "httpx",
           "wrk", "blocking"]
LABELS = {"turbo": "queen-turbo", "turbo-uvloop": "queen-turbo (uvloop)",
          "reference": "queen-mq 0.15 (Python)",
          "reference-uvloop": "queen-mq 0.15 (Python, uvloop)",
          "node": "queen-mq 0.15 (Node.js)", "aiohttp": "bare aiohttp", "httpx": "bare httpx",
          "wrk": "wrk", "blocking": "blocking socket, no event loop"}
COLOURS = {"turbo": "#d62728", "turbo-uvloop": "#ff9896", "reference": "#1f77b4",
           "reference-uvloop": "#aec7e8", "node": "#2ca02c", "aiohttp": "#bcbd22",
           "httpx": "#7f7f7f", "wrk": "#9467bd", "blocking": "#8c564b"}
PYTHON_CLIENTS = ("turbo", "turbo-uvloop", "reference", "reference-uvloop")
EVERY = tuple(c for c in CLIENTS if c not in ("wrk", "blocking"))


@dataclass(frozen=True)
class Scenario:
    """One row of the tables.

    Attributes:
        title: its name in the tables.
        short: its label under the chart's bars (None: not charted).
        params: the runner parameters of a full run; ``quick`` overrides some for --quick.
        clients: the columns that have a runner for it.
        runner: the runner of the four queen-* Python columns, under bench/runners/.
        server: "broker" or "responder" (bench/responder.py's canned answers).
        first_round_only: run in the first round only (a long, steady measurement).
        timeout: seconds a runner may take before it counts as failed.
    """

    title: str
    short: Optional[str]
    params: Dict[str, Any]
    quick: Dict[str, Any] = field(default_factory=dict)
    clients: Tuple[str, ...] = EVERY
    runner: str = "queen_client.py"
    server: str = "broker"
    first_round_only: bool = False
    timeout: float = 300


PUSH_CLIENTS = (*EVERY, "wrk")
SCENARIOS: Dict[str, Scenario] = {
    "push1": Scenario("push 100/request, 1 in flight", "push 100/req\n1 in flight",
                      {"n": 50_000}, {"n": 10_000}, (*PUSH_CLIENTS, "blocking")),
    "push8": Scenario("push 100/request, 8 in flight", "push 100/req\n8 in flight",
                      {"n": 50_000}, {"n": 10_000}, PUSH_CLIENTS),
    "buffered": Scenario("buffered producer (100 msgs / 100 ms)", "buffered\nproducer",
                         {"n": 50_000}, {"n": 5_000}),
    "pop_ack": Scenario("pop 100 + batch ack", "pop 100\n+ batch ack",
                        {"n": 50_000}, {"n": 10_000}, (*EVERY, "blocking")),
    "consume": Scenario("consume(), concurrency 4, batch 100", "consume()\nconcurrency 4",
                        {"n": 50_000, "concurrency": 4}, {"n": 10_000}),
    "latency": Scenario("single push/pop/ack", None, {"rounds": 500}, {"rounds": 200}),
    "responder1": Scenario("push 100, 1 in flight, minimal responder",
                           "push, responder\n1 in flight", {"n": 100_000}, {"n": 20_000},
                           (*PUSH_CLIENTS, "blocking"), server="responder"),
    "responder8": Scenario("push 100, 8 in flight, minimal responder",
                           "push, responder\n8 in flight", {"n": 100_000}, {"n": 20_000},
                           PUSH_CLIENTS, server="responder"),
    "memory": Scenario("1,000,000 buffered messages", None,
                       {"n": 1_000_000, "max_bytes": 512 * 1024 * 1024}, {},
                       ("turbo", "reference"), first_round_only=True, timeout=600),
    # bench/runners/streams_scenario.py: a queen.streams job, Python clients only.
    streams_scenario.NAME: Scenario(streams_scenario.TITLE, streams_scenario.SHORT,
                                    streams_scenario.params(False), streams_scenario.params(True),
                                    PYTHON_CLIENTS, runner="streams_job.py",
                                    timeout=streams_scenario.TIMEOUT_S),
    # bench/runners/sync_scenario.py: push1 written with queen.sync, queen-turbo only.
    sync_scenario.NAME: Scenario(sync_scenario.TITLE, sync_scenario.SHORT,
                                 sync_scenario.params(False), sync_scenario.params(True),
                                 ("turbo",), runner="queen_sync.py"),
}
TITLES = {name: s.title for name, s in SCENARIOS.items()}


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


def shared_path(*parts: str) -> Optional[str]:
    """``shared/<parts>`` in the closest parent folder of this checkout that has it."""
    here = ROOT
    while True:
        parent = os.path.dirname(here)
        candidate = os.path.join(parent, "shared", *parts)
        if os.path.exists(candidate):
            return candidate
        if parent == here:
            return None
        here = parent


class RealBroker:
    """The real Queen 0.15 broker of ``shared/queen-broker``, with durable settings."""

    def __init__(self, script: str) -> None:
        self.script = script
        done = subprocess.run([script, "start"], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"queen-broker start failed: {done.stderr.strip()[-300:]}")
        env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line
                   and not line.startswith("export"))
        self.dir, self.url = env["QUEEN_BROKER_DIR"], env["QUEEN_BROKER_URL"]

    def stop(self) -> None:
        subprocess.run([self.script, "stop", self.dir], capture_output=True, timeout=120)


def ensure_reference() -> Optional[str]:
    python = os.path.join(REF_VENV, "bin", "python")
    try:
        if not os.path.exists(python):
            log(f"creating {REF_VENV} with {REF_SPEC}")
            subprocess.run([sys.executable, "-m", "venv", REF_VENV], check=True)
        has = subprocess.run([python, "-c", "import queen, orjson, uvloop"],
                             capture_output=True).returncode == 0
        if not has:
            subprocess.run([python, "-m", "pip", "install", "-q", REF_SPEC, "orjson", "uvloop"],
                           check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        log(f"reference client unavailable: {exc}")
        return None
    return python


def node_status() -> Tuple[Optional[str], str]:
    node = shutil.which("node")
    if node is None:
        return None, "Node.js is not installed on this machine: no Node.js column."
    installed = os.path.join(NODE_DIR, "node_modules", "queen-mq")
    if not os.path.isdir(installed):
        npm, peer = shutil.which("npm"), shared_path("peers", NODE_PEER)
        if npm is None or peer is None:
            return None, (f"The Node.js client was NOT measured: it is installed from "
                          f"shared/peers/{NODE_PEER}, which is not present here.")
        log(f"npm install {peer} in bench/node")
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-save",
                               "--no-package-lock", peer], cwd=NODE_DIR, capture_output=True,
                              text=True)
        if done.returncode != 0 or not os.path.isdir(installed):
            lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
            return None, ("The Node.js client was NOT measured: `npm install` of the peer "
                          f"package failed ({(lines or ['?'])[-1][:200]}).")
    with open(os.path.join(installed, "package.json")) as f:
        version = json.load(f).get("version", "?")
    return node, f"queen-mq {version} (Node.js, from shared/peers) in bench/node/node_modules."


def wrk_status() -> str:
    if shutil.which("wrk") is None and shutil.which("apt-get") and os.geteuid() == 0:
        log("apt-get install wrk")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for argv in (["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
                     ["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]):
            subprocess.run(argv, capture_output=True, env=env)
            if argv[1] == "install" and shutil.which("wrk"):
                break
    if shutil.which("wrk") is None:
        return "wrk is not installed (Debian package `wrk`): no wrk column."
    return "wrk from Debian's package, driving the push scenarios with bench/wrk/push.lua."


def runner_argv(client: str, scenario: str, params: Dict[str, Any], ref: Optional[str],
                node: Optional[str]) -> Optional[List[str]]:
    spec = SCENARIOS[scenario]
    if client not in spec.clients:
        return None
    blob = json.dumps(params)
    if client in PYTHON_CLIENTS:
        python = sys.executable if client.startswith("turbo") else ref
        return [python, os.path.join(RUNNERS, spec.runner), scenario, blob] if python else None
    if client in ("httpx", "aiohttp"):
        return [sys.executable, os.path.join(RUNNERS, "bare.py"), client, scenario, blob]
    if client == "node":
        return [node, os.path.join(NODE_DIR, "runner.mjs"), scenario, blob] if node else None
    if client == "wrk":
        return [sys.executable, os.path.join(RUNNERS, "wrk.py"), scenario, blob]
    if client == "blocking":
        return [sys.executable, os.path.join(RUNNERS, "floor.py"), scenario, blob]
    return None


def run_one(argv: List[str], client: str, timeout: float) -> Dict[str, Any]:
    env = dict(os.environ)
    # Only queen-turbo sees this checkout; the reference venv must import its own `queen`.
    if client.startswith("turbo"):
        env["PYTHONPATH"] = ROOT
    else:
        env.pop("PYTHONPATH", None)
    if client.endswith("-uvloop"):
        env["BENCH_LOOP"] = "uvloop"
    else:
        env.pop("BENCH_LOOP", None)
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
    return {name: {**s.params, **(s.quick if quick else {})} for name, s in SCENARIOS.items()}


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one round, fewer messages")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3)")
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--scenarios", default=",".join([*SCENARIOS, "http2"]),
                    help="comma-separated; http2 is bench/http2's 50-consumer scenario")
    ap.add_argument("--broker", choices=("auto", "real", "testing"), default="auto",
                    help="auto: QUEEN_URL, else the real broker of shared/, else queen.testing")
    ap.add_argument("--no-write", action="store_true", help="print, do not write any file")
    args = ap.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    clients = [c for c in args.clients.split(",") if c]
    scenarios = [s for s in args.scenarios.split(",") if s and s != "http2"]
    with_http2 = "http2" in args.scenarios.split(",")
    unknown = [c for c in clients if c not in LABELS] + [s for s in scenarios
                                                          if s not in SCENARIOS]
    if unknown:
        ap.error(f"unknown client or scenario: {', '.join(unknown)}")
    params = plan(args.quick)

    external = os.environ.get("QUEEN_URL") if args.broker != "testing" else None
    script = shared_path("queen-broker", "queen-broker") if args.broker != "testing" else None
    if args.broker == "real" and not (external or script):
        ap.error("--broker real: no QUEEN_URL and no shared/queen-broker/queen-broker")
    real: Optional[RealBroker] = None
    if not external and script:
        log("starting the real broker (durable settings, no --fast)")
        real = RealBroker(script)
    broker_url = external or (real.url if real else None)
    kind = "real" if broker_url else "testing"

    ref = ensure_reference() if any(c.startswith("reference") for c in clients) else None
    node, node_note = node_status() if "node" in clients else (None, "Node.js not requested.")
    notes = {"node": node_note, "wrk": wrk_status() if "wrk" in clients else ""}
    log(node_note)
    started = time.time()
    raw: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    responder = Server([sys.executable, "-m", "bench.responder", "--port", "0"])
    try:
        for r in range(rounds):
            broker = None if broker_url else Server(
                [sys.executable, "-m", "queen.testing", "--port", "0", "--idle-timeout", "10"])
            url = broker_url or (broker.url if broker else "")
            try:
                for scenario in scenarios:
                    spec = SCENARIOS[scenario]
                    if spec.first_round_only and r > 0:
                        continue
                    order = clients[r % len(clients):] + clients[: r % len(clients)]
                    for client in order:
                        if scenario == "memory" and client == "reference" and args.quick:
                            continue
                        p = dict(params[scenario])
                        p["url"] = responder.url if spec.server == "responder" else url
                        cmd = runner_argv(client, scenario, p, ref, node)
                        if cmd is None:
                            continue
                        result = run_one(cmd, client, spec.timeout)
                        log(f"round {r + 1}/{rounds} {scenario:<10} {client:<16} "
                            f"{_brief(result)}")
                        raw.setdefault((scenario, client), []).append(result)
            finally:
                if broker is not None:
                    broker.stop()
        elapsed = time.time() - started
        http2 = (http2_hook(args.quick, broker_url) if with_http2 else
                 ("Not requested in this run (`--scenarios` without `http2`).", []))
    finally:
        responder.stop()
        if real is not None:
            real.stop()
    table = aggregate(raw)
    command = "python -m bench.run" + (" --quick" if args.quick else "") + (
        f" --rounds {args.rounds}" if args.rounds else "") + (
        " --broker testing" if kind == "testing" and args.broker == "testing" else "")
    broker_note = (f"`QUEEN_URL={external}`" if external else
                   "the real Queen 0.15 broker (`shared/queen-broker/queen-broker start`, "
                   "durable settings, no `--fast`)" if real else
                   "`python -m queen.testing` in its own process (the in-process test double, "
                   "NOT the real broker)")
    text = report(table, clients, scenarios, rounds, elapsed, command, notes, http2,
                  broker_note, kind)
    if args.no_write:
        sys.stdout.write(text)
        return 0
    write_section(text, kind)
    if kind == "real":
        write_snippet(table, command)
        try:
            chart(table, clients)
        except ImportError:
            log("matplotlib is missing (pip install -r bench/requirements.txt): no chart")
    with open(os.path.join(BENCH, f"last_run_{kind}.json"), "w") as f:
        json.dump({f"{s}|{c}": v for (s, c), v in raw.items()}, f, indent=1)
    log(f"wrote the {kind}-broker section of {RESULTS} in {elapsed:.0f}s")
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
        for name, value in good[0].items():
            values = [r[name] for r in good if isinstance(r.get(name), (int, float))
                      and not isinstance(r.get(name), bool)]
            merged[name] = statistics.median(values) if values else value
        merged["rounds"] = len(good)
        table[key] = merged
    return table


# -- the HTTP/2 scenario of bench/http2 ----------------------------------------------------


def http2_hook(quick: bool, broker_url: Optional[str]) -> Tuple[str, List[Dict[str, Any]]]:
    """Run ``bench/http2/bench_http2.py`` (HTTP/1.1 direct vs HTTP/2 through nginx, 50
    consumers) against the same broker, on asyncio's event loop and on uvloop's; its markdown
    tables are quoted as they are."""
    script = os.path.join(BENCH, "http2", "bench_http2.py")
    if not os.path.exists(script):
        return "bench/http2 is not present in this checkout: no HTTP/2 scenario ran.", []
    if shutil.which("nginx") is None:
        return ("bench/http2/bench_http2.py needs nginx (its HTTP/2 ingress), which is not "
                "installed here: no HTTP/2 scenario ran.", [])
    parts = []
    for loop in ("asyncio", "uvloop"):
        argv = [sys.executable, script, "--messages", "5000" if quick else "20000",
                "--rounds", "1" if quick else "3"]
        if loop != "asyncio":
            argv += ["--loop", loop]
        if broker_url:
            argv += ["--broker-url", broker_url]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=ROOT))
        except subprocess.TimeoutExpired:
            parts.append("`python bench/http2/bench_http2.py` timed out after 1800 s.")
            continue
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or ["no output"]
            where = next((ln for ln in lines if ln.startswith("RuntimeError: client for")), "")
            detail = f"{where[14:]} ... {lines[-1]}" if where else lines[-1]
            parts.append(f"`python bench/http2/bench_http2.py` failed: {detail[:300]}")
            continue
        shown = [a for a in argv[2:] if a != broker_url]
        shown = ["<this broker>" if a == "--broker-url" else a for a in shown]
        cmd = " ".join(["python", "bench/http2/bench_http2.py", *shown])
        parts.append(f"`{cmd}` (nginx in front of the same broker):\n\n{done.stdout.strip()}")
    return "\n\n".join(parts), []


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

    for dist in ("httpx", "httpcore", "httptools", "orjson", "aiohttp", "uvloop", "h2", "jh2"):
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
    wrk = shutil.which("wrk")
    if wrk:
        head = subprocess.run([wrk, "-v"], capture_output=True, text=True)
        out["wrk"] = (head.stdout + head.stderr).split()[1] if head.stdout + head.stderr else "?"
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


def _cpu(table: Dict[Tuple[str, str], Any], s: str, c: str) -> Optional[float]:
    v = table.get((s, c))
    return v.get("cpu_ms_per_1000") if isinstance(v, dict) else None


def targets(table: Dict[Tuple[str, str], Any]) -> List[List[str]]:
    """The performance targets, each with its measured ratio and whether it holds."""
    rows: List[List[str]] = []

    def ratio(name: str, s: str, c: str, limit: float, what: str) -> None:
        t, other = _cpu(table, s, "turbo"), _cpu(table, s, c)
        if t and other:
            rows.append([f"{TITLES[s]}: CPU ≤ {what}", f"{t:.2f} vs {other:.2f} ms "
                         f"({t / other:.2f}x)", "met" if t <= limit * other else "not met"])

    for s in ("pop_ack", "consume"):
        ratio(s, s, "reference", 1 / 5, "1/5 of queen-mq 0.15")
        ratio(s, s, "aiohttp", 1 / 2, "1/2 of the bare aiohttp loop")
    floor, aio = _cpu(table, "pop_ack", "blocking"), _cpu(table, "pop_ack", "aiohttp")
    if floor and aio:
        rows.append([f"(for reference) {TITLES['pop_ack']}: a blocking-socket loop with no event "
                     "loop, against the bare aiohttp loop", f"{floor:.2f} vs {aio:.2f} ms "
                     f"({floor / aio:.2f}x)", "-"])
    for s in ("push1", "push8"):
        ratio(s, s, "wrk", 1.2, "1.2x wrk's")
        ratio(s, s, "reference", 1 / 4, "1/4 of queen-mq 0.15")
    ratio("buffered", "buffered", "reference", 1 / 4, "1/4 of queen-mq 0.15")
    t = table.get(("buffered", "turbo"), {})
    n = table.get(("buffered", "node"), {})
    if isinstance(t, dict) and isinstance(n, dict) and t.get("msgs_per_s") and n.get(
            "msgs_per_s"):
        rows.append([f"{TITLES['buffered']}: throughput ≥ the Node.js client's",
                     f"{t['msgs_per_s']:,.0f} vs {n['msgs_per_s']:,.0f} msgs/s",
                     "met" if t["msgs_per_s"] >= n["msgs_per_s"] else "not met"])
    lat_t, lat_b = table.get(("latency", "turbo"), {}), table.get(("latency", "aiohttp"), {})
    for op in ("push", "pop", "ack"):
        a, b = lat_t.get(f"{op}_p50_ms"), lat_b.get(f"{op}_p50_ms")
        if a is not None and b is not None:
            rows.append([f"single-message {op} p50 adds ≤ 0.3 ms over bare aiohttp",
                         f"{a - b:+.3f} ms ({a:.3f} vs {b:.3f})",
                         "met" if a - b <= 0.3 else "not met"])
    streams = streams_scenario.NAME
    ratio(streams, streams, "reference", 1 / 3, "1/3 of queen-mq 0.15")
    t, r = table.get((streams, "turbo"), {}), table.get((streams, "reference"), {})
    if isinstance(t, dict) and isinstance(r, dict) and t.get("msgs_per_s") and r.get(
            "msgs_per_s"):
        rows.append([f"{TITLES[streams]}: throughput ≥ queen-mq 0.15's",
                     f"{t['msgs_per_s']:,.0f} vs {r['msgs_per_s']:,.0f} msgs/s",
                     "met" if t["msgs_per_s"] >= r["msgs_per_s"] else "not met"])
    sync_row = sync_scenario.target(_cpu(table, sync_scenario.NAME, "turbo"),
                                    _cpu(table, sync_scenario.ASYNC_TWIN, "turbo"))
    if sync_row:
        rows.append(sync_row)
    mem = table.get(("memory", "turbo"), {})
    if "rss_growth_mb" in mem:
        rows.append(["1,000,000 buffered 200-byte messages under the configured bound",
                     f"{mem['rss_growth_mb']:.0f} MB RSS growth, bound {mem['bound_mb']:.0f} MB,"
                     f" {mem['bytes_per_message']:.0f} B/message",
                     "met" if mem.get("under_bound") else "not met"])
    return rows


def _markers(kind: str) -> Tuple[str, str]:
    if kind == "real":
        return "<!-- bench.run:begin -->", "<!-- bench.run:end -->"
    return f"<!-- bench.run:{kind}:begin -->", f"<!-- bench.run:{kind}:end -->"


def report(table: Dict[Tuple[str, str], Any], clients: List[str], scenarios: List[str],
           rounds: int, elapsed: float, command: str, notes: Dict[str, str],
           http2: Tuple[str, List[Dict[str, Any]]], broker_note: str, kind: str) -> str:
    present = [c for c in clients if any(k[1] == c for k in table)]
    begin, end = _markers(kind)
    heading = ("## Client benchmarks on the real Queen 0.15 broker" if kind == "real" else
               "## Client benchmarks on queen.testing (the in-process double, not the real "
               "broker)")
    out = [begin, "", heading, ""]
    out.append(f"Command: `{command}` ({rounds} interleaved round(s), {elapsed:.0f} s, "
               f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC). Broker: "
               + broker_note + "; the responder scenarios use `bench/responder.py` "
               "(canned answers).")
    out.append("")
    out.append(f"Machine: {_machine()}. Versions: "
               + ", ".join(f"{k} {v}" for k, v in _versions().items()) + ".")
    out.append("")
    out.append(f"Node.js: {notes['node']} wrk: {notes['wrk']}")
    out.append("")
    out.append("Client CPU is the runner process's own CPU time (`time.process_time()`, "
               "`process.cpuUsage()` for Node.js, `os.clock()` inside wrk) over the measured "
               "section; the broker runs in another process. Medians over the rounds. 200-byte "
               "JSON payloads. The uvloop columns are the same runners with uvloop's event "
               "loop.")
    out.append("")
    out.append("### Targets")
    out.append("")
    out.append("| target | measured (queen-turbo vs the other) | |")
    out.append("|---|---|---|")
    out.extend(f"| {a} | {b} | {c} |" for a, b, c in targets(table))
    out.append("")
    out.append("### Client CPU per 1000 messages (ms), and the ratio queen-mq / queen-turbo")
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
        t, ref = _cpu(table, s, "turbo"), _cpu(table, s, "reference")
        ratio = f"{ref / t:.1f}x" if t and ref else "-"
        out.append(f"| {TITLES[s]} | " + " | ".join(cells) + f" | {ratio} |")
    out.append("")
    out.append("### Throughput, latency per request, peak RSS")
    out.append("")
    out.append("p50/p99 are per request (per pop+ack pair in pop_ack). The consume() runs of the "
               "clients end when their workers have been idle for 300 ms, which is inside "
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
    note, _rows = http2
    out.append("### HTTP/2 (bench/http2): 50 consumers, HTTP/1.1 direct vs HTTP/2 through nginx")
    out.append("")
    out.append(note)
    out.append("")
    if kind == "real":
        out.append("![client CPU per 1000 messages](cpu_per_1000.png)")
        out.append("")
    if kind != "real" and os.path.exists(PROFILE_STEPS):
        with open(PROFILE_STEPS) as f:
            out.append(f.read().strip())
        out.append("")
    out.append(end)
    return "\n".join(out) + "\n"


README = os.path.join(os.path.dirname(BENCH), "README.md")
README_BEGIN, README_END = "<!-- bench.run:readme:begin -->", "<!-- bench.run:readme:end -->"
README_COLUMNS = ("turbo", "turbo-uvloop", "reference", "node", "aiohttp", "wrk")


def write_snippet(table: Dict[Tuple[str, str], Any], command: str) -> None:
    """The README's performance section (between its markers): chart and headline table."""

    def cell(s: str, c: str, field: str = "cpu_ms_per_1000") -> Optional[float]:
        v = table.get((s, c))
        return v.get(field) if isinstance(v, dict) else None

    rows = []
    for s in ("push1", "push8", "buffered", "pop_ack", "consume"):
        t, ref = cell(s, "turbo"), cell(s, "reference")
        if not t:
            continue
        cells = [f"{cell(s, c):.1f}" if cell(s, c) else "-" for c in README_COLUMNS]
        versus = f"**{ref / t:.1f}x less**" if ref else "-"
        rows.append(f"| {TITLES[s]} | " + " | ".join(cells) + f" | {versus} |")
    t1 = cell("responder1", "turbo", "msgs_per_cpu_s")
    r1 = cell("responder1", "reference", "msgs_per_cpu_s")
    lat = [cell("latency", c, "push_p50_ms") for c in ("turbo", "reference")]
    lines = [
        "## Performance",
        "",
        "![client CPU per 1000 messages](bench/cpu_per_1000.png)",
        "",
        "Client CPU per 1000 messages against the real Queen 0.15 broker (ms, lower is better; "
        "200-byte JSON payloads, 2-core machine, broker and PostgreSQL in other processes; "
        "wrk is a C load generator posting the same push bodies, the floor for an HTTP "
        "client):",
        "",
        "| scenario | " + " | ".join(LABELS[c] for c in README_COLUMNS) + " | CPU vs queen-mq |",
        "|---|" + "---|" * (len(README_COLUMNS) + 1),
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
              "(queen.testing figures in a second section) are in "
              "[bench/RESULTS.md](bench/RESULTS.md).", ""]
    with open(README) as f:
        readme = f.read()
    head, sep, rest = readme.partition(README_BEGIN)
    _, sep2, tail = rest.partition(README_END)
    if not (sep and sep2):
        raise SystemExit(f"README.md lacks the {README_BEGIN} ... {README_END} markers")
    with open(README, "w") as f:
        f.write(head + README_BEGIN + "\n" + "\n".join(lines) + README_END + tail)


def write_section(text: str, kind: str) -> None:
    """Replace this broker kind's section of RESULTS.md (the real broker's leads the file)."""
    begin, end = _markers(kind)
    old = ""
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            old = f.read()
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1]
        new = head + text.rstrip("\n") + tail
    elif kind == "real" and old.startswith("# "):
        title, _, rest = old.partition("\n\n")
        intro, _, rest = rest.partition("\n\n")
        new = f"{title}\n\n{intro}\n\n{text}\n{rest}"
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "# Benchmark results\n\n") + text
    with open(RESULTS, "w") as f:
        f.write(new)


def chart(table: Dict[Tuple[str, str], Any], clients: List[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [s for s, spec in SCENARIOS.items()
             if spec.short and any((s, c) in table for c in clients)]
    present = [c for c in clients if any(_cpu(table, s, c) for s in shown)]
    fig, ax = plt.subplots(figsize=(13, 5.5))
    width = 0.85 / max(1, len(present))
    for i, c in enumerate(present):
        xs, ys = [], []
        for j, s in enumerate(shown):
            v = _cpu(table, s, c)
            if v:
                xs.append(j + (i - (len(present) - 1) / 2) * width)
                ys.append(v)
        bars = ax.bar(xs, ys, width, label=LABELS[c], color=COLOURS.get(c))
        ax.bar_label(bars, fmt="%.1f", fontsize=6, padding=1)
    ax.set_xticks(range(len(shown)))
    ax.set_xticklabels([SCENARIOS[s].short or s for s in shown], fontsize=8)
    ax.set_ylabel("client CPU ms per 1000 messages (lower is better)")
    ax.set_title("Client CPU per 1000 messages on the real Queen 0.15 broker, "
                 "200-byte JSON payloads")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
