"""Ctrl-C / SIGTERM during ``consume()``: it returns, the code after it runs, then the process
exits 0, quietly (no "Task exception was never retrieved ... SystemExit", no traceback).

Each case runs in a subprocess against both brokers; the test's own loop keeps serving
``queen.testing`` while it waits for the child.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import List, Tuple

import pytest
from _brokers import BrokerHandle

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCRIPT = """
    import asyncio, sys
    from queen import Queen

    async def consume_then_more(q, name):
        async def handler(message):
            print("HANDLED", flush=True)

        await q.queue(name).consume(handler)
        print("CONSUME RETURNED", flush=True)
        await asyncio.sleep(0.05)  # the code after consume() may await too
        print("AFTER AWAIT", flush=True)

    async def main(url, name, shape):
        q = Queen(url)
        await q.queue(name).push({"data": 1})
        if shape == "direct":
            await consume_then_more(q, name)
        else:
            await asyncio.create_task(consume_then_more(q, name))
            print("MAIN CONTINUES", flush=True)
        print("MAIN DONE", flush=True)

    asyncio.run(main(*sys.argv[1:]))
    print("AFTER RUN", flush=True)
"""


async def _run(url: str, name: str, shape: str, signum: int) -> Tuple[int, List[str], str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", textwrap.dedent(SCRIPT), url, name, shape,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: List[str] = []
    try:
        while "HANDLED" not in lines:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
            assert line, f"the child ended early: {lines}"
            lines.append(line.decode().strip())
        await asyncio.sleep(0.2)  # the consumer is back in its (long-polling) pop
        proc.send_signal(signum)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines += out.decode().splitlines()
    return proc.returncode or 0, lines, err.decode()


@pytest.mark.parametrize("shape", ["direct", "task"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_signal_lets_consume_return_then_exits_0(
    any_broker: BrokerHandle, signum: int, shape: str
) -> None:
    code, lines, err = await _run(any_broker.url, any_broker.name("sig"), shape, signum)
    middle = ["MAIN CONTINUES"] if shape == "task" else []
    assert lines == [
        "HANDLED", "CONSUME RETURNED", "AFTER AWAIT", *middle, "MAIN DONE", "AFTER RUN"
    ], err
    assert code == 0, err
    assert "never retrieved" not in err and "Traceback" not in err, err
