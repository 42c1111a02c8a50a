"""Before/after figures of the hot-path steps, measured side by side in one run.

``python -m bench.steps [--rounds 3] [--n 20000]`` checks out each step's revision into a
temporary git worktree (the compiled speedups of this checkout are copied in), starts one
``python -m queen.testing`` process, and runs the scenarios of ``bench/runners/queen_client.py``
for every step, interleaved round by round. It prints a markdown table of client CPU ms per
1000 messages (median of the rounds) per step and scenario.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)

# (label, revision or None for the working tree, extra environment)
STEPS: List[Tuple[str, Optional[str], Dict[str, str]]] = [
    ("httpx transport (before the lean route)", "fbce690", {"QUEEN_TRANSPORT": "httpx"}),
    ("lean HTTP/1.1 transport", "fbce690", {}),
    ("+ one-pass batch ack body (ack_entries)", "c292d11", {}),
    ("+ lock-free buffer admission, undecoded flush answers", "e94222a", {}),
    ("+ synchronous buffered push() when it fits", "7ecdfbb", {}),
    ("+ push answers scanned only when they hold \"failed\"", "bbac96b", {}),
]
SCENARIOS = ["push1", "push8", "buffered", "pop_ack", "consume", "latency"]


def worktree(rev: str, base: str) -> str:
    path = os.path.join(base, rev)
    if not os.path.exists(path):
        subprocess.run(["git", "worktree", "add", "--detach", "-f", path, rev], cwd=ROOT,
                       check=True, capture_output=True)
        for so in glob.glob(os.path.join(ROOT, "queen", "_speedups", "*.so")):
            shutil.copy(so, os.path.join(path, "queen", "_speedups"))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.steps")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = ap.parse_args()
    scenarios = args.scenarios.split(",")
    base = tempfile.mkdtemp(prefix="queen-steps-")
    trees = [(label, worktree(rev, base) if rev else ROOT, env) for label, rev, env in STEPS]
    broker = subprocess.Popen([sys.executable, "-m", "queen.testing", "--port", "0"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT,
                              env=dict(os.environ, PYTHONPATH=ROOT))
    assert broker.stdout is not None
    url = broker.stdout.readline().strip()
    runner = os.path.join(BENCH, "runners", "queen_client.py")
    cpu: Dict[Tuple[str, str], List[float]] = {}
    try:
        for r in range(args.rounds):
            for scenario in scenarios:
                for label, tree, extra in trees[r % len(trees):] + trees[: r % len(trees)]:
                    params = {"url": url, "n": args.n, "rounds": 300}
                    env = dict(os.environ, PYTHONPATH=tree, **extra)
                    done = subprocess.run([sys.executable, runner, scenario, json.dumps(params)],
                                          capture_output=True, text=True, env=env, timeout=300)
                    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
                    if not line:
                        sys.stderr.write(f"{label} {scenario}: {done.stderr[-300:]}\n")
                        continue
                    result = json.loads(line[-1])
                    key = "p50_ms" if scenario == "latency" else "cpu_ms_per_1000"
                    cpu.setdefault((label, scenario), []).append(result[key])
                    sys.stderr.write(f"round {r + 1} {scenario} {label}: {result[key]}\n")
    finally:
        broker.terminate()
        broker.wait(10)
        for _, tree, _ in trees:
            if tree != ROOT:
                subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=ROOT,
                               capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    head = [s if s != "latency" else "latency p50 ms" for s in scenarios]
    print("| step | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(scenarios))
    for label, _, _ in trees:
        cells = []
        for s in scenarios:
            values = cpu.get((label, s))
            cells.append(f"{statistics.median(values):.2f}" if values else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
