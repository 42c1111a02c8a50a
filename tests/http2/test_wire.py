"""The socket protocol under an HTTP/2 connection: bytes reach the connection in order even
when they arrive before it is attached, and a write waits only while the transport is full."""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional, Tuple

from queen._transport._h2wire import Wire as _Wire


class Sink:
    def __init__(self) -> None:
        self.seen: List[Tuple[str, Any]] = []

    def _on_data(self, data: bytes) -> None:
        self.seen.append(("data", data))

    def _on_lost(self, exc: Optional[Exception]) -> None:
        self.seen.append(("lost", exc))


async def test_bytes_before_attach_are_delivered_first_and_in_order() -> None:
    wire = _Wire(asyncio.get_running_loop())
    wire.data_received(b"settings")
    wire.data_received(b"more")
    sink = Sink()
    wire.attach(sink)  # type: ignore[arg-type]
    wire.data_received(b"after")
    wire.eof_received()
    assert sink.seen == [("data", b"settings"), ("data", b"more"), ("data", b"after"),
                         ("data", b"")]


async def test_a_connection_lost_before_attach_is_reported_at_attach() -> None:
    wire = _Wire(asyncio.get_running_loop())
    wire.data_received(b"x")
    error = ConnectionResetError("reset")
    wire.connection_lost(error)
    assert wire.closed.done()
    sink = Sink()
    wire.attach(sink)  # type: ignore[arg-type]
    assert sink.seen == [("data", b"x"), ("lost", error)]


async def test_drain_waits_while_paused_and_not_after_the_connection_is_gone() -> None:
    wire = _Wire(asyncio.get_running_loop())
    await asyncio.wait_for(wire.drain(), 1)  # not paused: returns at once
    wire.pause_writing()
    waiter = asyncio.ensure_future(wire.drain())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    wire.resume_writing()
    await asyncio.wait_for(waiter, 1)
    wire.pause_writing()
    waiter = asyncio.ensure_future(wire.drain())
    await asyncio.sleep(0.01)
    wire.connection_lost(None)  # a write never resumes on a dead connection: release it
    await asyncio.wait_for(waiter, 1)
