"""SIGINT/SIGTERM graceful shutdown (§5.12, D20), each case in a subprocess of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from queen.testing import SyncQueenTestServer

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def broker() -> Iterator[SyncQueenTestServer]:
    with SyncQueenTestServer() as server:
        yield server


def spawn(script: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QUEEN_CLIENT_LOG="true")
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def wait_line(proc: subprocess.Popen, marker: str, timeout: float = 15) -> List[str]:
    lines: List[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    proc.kill()
    raise AssertionError(f"{marker!r} not seen; got {lines!r}, stderr {proc.stderr.read()!r}")


def stored(server: SyncQueenTestServer, queue: str) -> List[Any]:
    def read() -> List[Any]:
        q = server.broker.state.queues.get(queue)
        return [] if q is None else [m.data for p in q.partitions.values() for m in p.msgs]

    return server.call(read)


CONSUMER = """
    import asyncio, sys
    from queen import Queen

    async def main(url, mode):
        q = Queen(url)
        await q.queue("sig-buf").buffer({"message_count": 100, "time_millis": 60000}).push(
            [{"data": i} for i in range(5)])
        print("READY", flush=True)
        await q.queue("sig-consume").concurrency(2).consume(lambda m: None)
        print("CONSUME RETURNED", flush=True)
        if mode == "linger":
            await asyncio.sleep(30)
            print("NOT EXITED", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.parametrize("mode", ["linger", "return"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_consumers_flushes_and_exits_0(
    broker: SyncQueenTestServer, signum: int, mode: str
) -> None:
    proc = spawn(CONSUMER, broker.url, mode)
    wait_line(proc, "READY")
    deadline = time.monotonic() + 10
    while broker.call(broker.broker.parked) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "NOT EXITED" not in out
    assert f"Received {signal.Signals(signum).name}, shutting down gracefully..." in err
    assert "Queen client closed" in out
    assert stored(broker, "sig-buf") == [0, 1, 2, 3, 4]  # the buffer was flushed
    assert broker.call(broker.broker.parked) == 0


SECOND = """
    import asyncio, sys
    from queen import Queen

    async def main(url):
        q = Queen(url)
        await q.queue("sig2").push({"data": 1})

        async def handler(m):
            print("HANDLING", flush=True)
            await asyncio.sleep(20)

        await q.queue("sig2").consume(handler)

    asyncio.run(main(sys.argv[1]))
"""


def test_second_signal_exits_1_at_once(broker: SyncQueenTestServer) -> None:
    proc = spawn(SECOND, broker.url)
    wait_line(proc, "HANDLING")
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert proc.poll() is None  # still shutting down: the handler is running
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=5)
    assert proc.returncode == 1
    assert "Received multiple shutdown signals, exiting immediately" in err


RESTORE = """
    import asyncio, signal, sys, threading
    from queen import Queen

    seen = []

    def mine(signum, frame):
        seen.append(signum)

    signal.signal(signal.SIGTERM, mine)
    signal.signal(signal.SIGINT, mine)

    async def main(url):
        a = Queen(url)
        b = Queen(url)
        assert signal.getsignal(signal.SIGTERM) is not mine
        await a.close()
        assert signal.getsignal(signal.SIGTERM) is not mine  # b is still registered
        await b.close()
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is mine
        c = Queen(url, handle_signals=False)
        assert signal.getsignal(signal.SIGTERM) is mine
        c.enable_graceful_shutdown()
        assert signal.getsignal(signal.SIGTERM) is not mine
        c.disable_graceful_shutdown()
        assert signal.getsignal(signal.SIGTERM) is mine
        await c.close()

        errors = []

        def in_thread():
            try:
                Queen(url)
            except Exception as exc:
                errors.append(exc)

        t = threading.Thread(target=in_thread)
        t.start()
        t.join()
        assert errors == [] and signal.getsignal(signal.SIGTERM) is mine
        signal.raise_signal(signal.SIGTERM)
        assert seen == [signal.SIGTERM]
        print("RESTORED", flush=True)

    asyncio.run(main(sys.argv[1]))
"""


def test_previous_handlers_restored_and_threads_skipped(broker: SyncQueenTestServer) -> None:
    proc = spawn(RESTORE, broker.url)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "RESTORED" in out


SYNC = """
    import sys, time
    from queen import Queen

    q = Queen(sys.argv[1])
    print("READY", flush=True)
    time.sleep(20)
    print("NOT EXITED", flush=True)
"""


def test_signal_without_a_running_loop_closes_synchronously(broker: SyncQueenTestServer) -> None:
    proc = spawn(SYNC, broker.url)
    wait_line(proc, "READY")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "NOT EXITED" not in out and "Queen client closed" in out
