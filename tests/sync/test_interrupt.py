"""Ctrl-C (SIGINT) or SIGTERM stops a blocking sync consume() cleanly, in a subprocess.

The handler already running finishes and its message is acknowledged; the messages popped
with it but not handled yet are released at once (not left leased); then the interrupt
propagates: the process ends as Python does on an uncaught KeyboardInterrupt, or with
SystemExit(0) for SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from queen import Queen

CHILD = r"""
import sys, time
from queen.sync import Queen

url, name = sys.argv[1], sys.argv[2]
q = Queen(url)

def handle(message):
    print("handling", message["data"], flush=True)
    time.sleep(1.0)
    print("handled", message["data"], flush=True)

try:
    q.queue(name).group("g").batch(5).each().consume(handle)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    raise
except SystemExit:  # SIGTERM, with handle_signals (the default)
    print("terminated", flush=True)
    raise
"""


@pytest.mark.parametrize(
    ("signum", "said", "codes"),
    [
        (signal.SIGINT, "interrupted", (-signal.SIGINT, 130, 1)),
        (signal.SIGTERM, "terminated", (0,)),
    ],
    ids=["SIGINT", "SIGTERM"],
)
async def test_signal_stops_consume_cleanly(any_broker, signum: int, said: str,
                                            codes: tuple) -> None:
    name = any_broker.name("sigint")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).create()
        await queen.queue(name).push([{"data": i} for i in range(5)])

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, any_broker.url, name,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )
        assert child.stdout is not None
        first = await asyncio.wait_for(child.stdout.readline(), 30)
        assert first == b"handling 0\n"
        child.send_signal(signum)
        rest, err = await asyncio.wait_for(child.communicate(), 60)
        assert rest.decode().split("\n") == ["handled 0", said, ""], err.decode()
        assert child.returncode in codes

        # Message 0 was acknowledged; 1-4 were released, so they are available right away.
        left = await queen.queue(name).group("g").batch(10).wait(False).pop()
        assert [m["data"] for m in left] == [1, 2, 3, 4]
        await queen.ack(left, True, {"group": "g"})


AT_EXIT = r"""
import sys
from queen.sync import Queen

q = Queen(sys.argv[1])  # never closed by the program
q.queue(sys.argv[2]).buffer({"message_count": 100, "time_millis": 60000}).push(
    [{"data": "sent at exit"}]
)
"""


async def test_clients_left_open_are_closed_at_exit(any_broker) -> None:
    """Their buffers are flushed, also when the broker's host name must still be resolved
    for a new connection (the URL names localhost, not an address)."""
    name = any_broker.name("atexit")
    url = any_broker.url.replace("127.0.0.1", "localhost")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", AT_EXIT, url, name,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, err.decode()
    async with Queen(any_broker.url, handle_signals=False) as queen:
        messages = await queen.queue(name).batch(5).wait(False).pop()
        assert [m["data"] for m in messages] == ["sent at exit"]
        await queen.ack(messages)


def test_sigterm_handler_is_installed_only_over_the_default() -> None:
    from queen.sync import Queen as SyncQueen

    before = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        q = SyncQueen("http://127.0.0.1:9")
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        q.close()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        def mine(signum: int, frame: object) -> None:
            pass

        signal.signal(signal.SIGTERM, mine)
        q = SyncQueen("http://127.0.0.1:9")
        assert signal.getsignal(signal.SIGTERM) is mine  # a server's own handler stays
        q.close()
        assert signal.getsignal(signal.SIGTERM) is mine
        q = SyncQueen("http://127.0.0.1:9", handle_signals=False)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        q.close()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)
