"""A real three-node Queen cluster (three brokers on one PostgreSQL) for failover tests.

Started once per session with ``../shared/queen-broker/queen-broker start --nodes 3`` (the
script's path relative to the repository, or ``QUEEN_BROKER_SCRIPT``), stopped at the end of
the session, failure included. Without the script (a user's clone) the tests skip.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

SCRIPT_ENV = "QUEEN_BROKER_SCRIPT"
_DEFAULT_SCRIPT = Path(__file__).resolve().parents[2].parent / "shared/queen-broker/queen-broker"


class RealCluster:
    """Nodes of a running cluster that tests can stop and start again (same ports)."""

    def __init__(self, script: str, env: Dict[str, str]) -> None:
        self.script = script
        self.dir = env["QUEEN_BROKER_DIR"]
        self.urls: List[str] = env["QUEEN_BROKER_URLS"].split(",")

    def _run(self, *args: str) -> str:
        done = subprocess.run([self.script, *args], capture_output=True, text=True,
                              timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"queen-broker {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    async def stop_node(self, index: int) -> None:
        """Stop node ``index``; its port refuses connections until :meth:`start_node`."""
        await asyncio.get_running_loop().run_in_executor(
            None, self._run, "stop-node", self.dir, str(index))

    async def start_node(self, index: int) -> None:
        """Start node ``index`` again and wait until it answers ``/health``."""
        await asyncio.get_running_loop().run_in_executor(
            None, self._run, "start-node", self.dir, str(index))

    def stop(self) -> None:
        self._run("stop", self.dir)


def _script() -> Path:
    return Path(os.environ.get(SCRIPT_ENV) or _DEFAULT_SCRIPT)


@pytest.fixture(scope="session")
def real_cluster() -> Iterator[RealCluster]:
    script = _script()
    if not os.access(script, os.X_OK):
        pytest.skip(f"no real Queen broker script at {script} (set {SCRIPT_ENV} to one, or "
                    "keep ../shared/queen-broker next to the repository)")
    done = subprocess.run([str(script), "start", "--nodes", "3", "--fast"],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"could not start a 3-node Queen cluster: {done.stderr.strip()}")
    env = dict(line.split("=", 1) for line in done.stdout.splitlines()
               if "=" in line and not line.startswith("export"))
    cluster = RealCluster(str(script), env)
    try:
        yield cluster
    finally:
        cluster.stop()
