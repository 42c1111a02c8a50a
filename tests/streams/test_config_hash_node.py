"""``config_hash`` equals the Node.js queen-mq client's, byte for byte, over many chains.

Needs ``node`` and the package ``queen-mq`` 0.15 installed in ``tests/streams/node``
(``.ci/run`` installs it from ``../shared/peers``; the test installs it itself when ``npm``
and the tarball are there). Skips with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, List

import pytest

from queen import Stream

HERE = Path(__file__).parent / "node"
ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the checkout (CI), or beside the folder of worktrees.
_CANDIDATES = [base / "shared" / "peers" / "queen-mq-0.15.0.tgz"
               for base in (ROOT.parent, ROOT.parent.parent)]
TARBALL = Path(os.environ.get("QUEEN_MQ_NODE_TGZ") or next(
    (c for c in _CANDIDATES if c.exists()), _CANDIDATES[0]))


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the cross-check with the JS client needs it")
    if not (HERE / "node_modules" / "queen-mq").is_dir():
        npm = shutil.which("npm")
        if npm is None or not TARBALL.exists():
            pytest.skip(f"queen-mq is not installed in {HERE} and npm or {TARBALL} is missing")
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-save",
                               str(TARBALL)], cwd=HERE, capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            pytest.skip(f"npm install {TARBALL} failed: {done.stderr.strip()[-300:]}")
    return node


def _fn(*_a: Any) -> int:
    return 1


def _python(spec: List[Any]) -> str:
    s = Stream.from_({"queueName": "src"})
    for op, *rest in spec:
        arg = rest[0] if rest else None
        if isinstance(arg, dict):
            arg = {k: (_fn if k == "eventTime" and v is True else v) for k, v in arg.items()}
        if op in ("map", "filter", "flatMap", "keyBy", "gate", "foreach"):
            s = getattr(s, op)(_fn)
        elif op.startswith("window"):
            s = getattr(s, op)(**arg)
        elif op == "reduce":
            s = s.reduce(_fn, *rest)
        elif op == "aggregate":
            s = s.aggregate({name: _fn for name in arg})
        elif op == "to":
            s = s.to({"queueName": arg})
    return s.config_hash


WINDOWS = [
    ["windowTumbling", {"seconds": 60}],
    ["windowTumbling", {"seconds": 60.0, "gracePeriod": 5}],
    ["windowTumbling", {"seconds": 0.5, "idleFlushMs": 0}],
    ["windowTumbling", {"seconds": 1.25, "idleFlushMs": 1234.9, "allowedLateness": 0.001}],
    ["windowTumbling", {"seconds": 3600, "eventTime": True, "onLate": "include",
                        "gracePeriod": 2.5, "allowedLateness": 30}],
    ["windowTumbling", {"seconds": 1e-7, "idleFlushMs": -5, "gracePeriod": -3}],
    ["windowTumbling", {"seconds": 1e21, "onLate": "drop"}],
    ["windowSliding", {"size": 60, "slide": 10}],
    ["windowSliding", {"size": 3, "slide": 1.5, "eventTime": True, "gracePeriod": 0.25}],
    ["windowSliding", {"size": 600, "slide": 600, "idleFlushMs": 100}],
    ["windowSession", {"gap": 30}],
    ["windowSession", {"gap": 0.75, "eventTime": True, "allowedLateness": 1, "onLate": "include"}],
    ["windowCron", {"every": "second"}],
    ["windowCron", {"every": "minute", "gracePeriod": 10}],
    ["windowCron", {"every": "hour", "idleFlushMs": 60000}],
    ["windowCron", {"every": "day", "eventTime": True}],
    ["windowCron", {"every": "week", "allowedLateness": 3600}],
]
TAILS = [
    [["reduce"]], [["reduce", 0]], [["reduce", {"n": 0}]], [["reduce", "x"]],
    [["aggregate", ["count"]]], [["aggregate", ["count", "sum", "min", "max", "avg"]]],
    [["aggregate", ["avg", "custom \"quoted\"", "ünï"]], ["map"], ["filter"], ["to", "out"]],
    [["reduce", 0], ["flatMap"], ["foreach"]],
    [["aggregate", ["sum"]], ["to", "sink \n\t/ q"]],
]
CHAINS: List[List[Any]] = [
    [],
    [["map"]], [["filter"]], [["flatMap"]], [["keyBy"]], [["gate"]], [["foreach"]],
    [["to", "out"]], [["to", "café"]], [["to", "队列"]],
    [["map"], ["filter"], ["flatMap"], ["to", "out"]],
    [["keyBy"], ["map"], ["gate"], ["map"], ["to", "limited"]],
    [["gate"], ["flatMap"], ["foreach"]],
    *[[w] for w in WINDOWS],
    *[[["keyBy"], w, *t] for w in WINDOWS[::3] for t in TAILS],
    *[[["map"], ["keyBy"], w, ["filter"], *TAILS[i % len(TAILS)]]
      for i, w in enumerate(WINDOWS)],
]


def test_config_hash_matches_the_node_client() -> None:
    node = _node()
    done = subprocess.run([node, str(HERE / "hashes.mjs")], input=json.dumps(CHAINS),
                          capture_output=True, text=True, cwd=HERE, timeout=120)
    assert done.returncode == 0, done.stderr
    node_hashes = done.stdout.split()
    assert len(node_hashes) == len(CHAINS) > 100
    mismatches = [(spec, py, js) for spec, py, js in
                  zip(CHAINS, (_python(c) for c in CHAINS), node_hashes) if py != js]
    assert mismatches == []
