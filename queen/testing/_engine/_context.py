"""What every route handler gets: state, clock, switches and the long-poll hub."""

from __future__ import annotations

from typing import Any, Optional

from .._wire import Response
from ._clock import Clock
from ._dbfaults import DbFaults
from ._longpoll import Hub
from ._responses import deferred
from ._state import State

__all__ = ["Context"]


class Context:
    """Shared engine state for one :class:`~queen.testing._engine.Broker`."""

    def __init__(self, clock: Clock, status_mode: str, long_poll: str) -> None:
        if status_mode not in ("wire", "intended"):
            raise ValueError("status_mode must be 'wire' or 'intended'")
        if long_poll not in ("prompt", "wire"):
            raise ValueError("long_poll must be 'prompt' or 'wire'")
        self.clock = clock
        self.wire_status = status_mode == "wire"
        self.prompt = long_poll == "prompt"
        self.state = State()
        self.faults = DbFaults()
        self.hub = Hub()
        self.node = 0

    def now(self) -> float:
        return self.clock.now()

    def stamp(self) -> int:
        """The current database transaction time in microseconds."""
        return self.state.stamp(self.clock.now())

    def reply(self, obj: Any, intended: int = 200) -> Response:
        """A deferred response honouring the status mode (§1.5, §6.8)."""
        return deferred(obj, intended, wire=self.wire_status)

    def fault(self, kind: str) -> Optional[Response]:
        """The database-failure answer if a fault of ``kind`` is armed (consumes it)."""
        message = self.faults.take(kind)
        if message is None:
            return None
        return self.reply({"error": message, "success": False}, 500)

    def notify(self, queue: str) -> None:
        """Something became poppable in ``queue``: wake its parked pops in prompt mode."""
        if self.prompt:
            self.hub.wake_queue(queue)
