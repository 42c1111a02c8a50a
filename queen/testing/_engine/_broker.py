"""The engine's front door: :class:`Broker` (spec §1.5, §6).

``await broker.handle(Request(...), node)`` answers exactly what a 0.15 broker answers on the
wire. Handler exceptions become the server's immediate 500 ``{"error": ...}`` (§1.5), so no
input can crash the engine or leave half-applied state behind (handlers validate before they
mutate; transactions use an undo journal).
"""

from __future__ import annotations

import asyncio
from typing import Optional

from .._wire import Request, Response
from ._clock import Clock
from ._context import Context
from ._dbfaults import DbFaults
from ._jsonio import BadRequest, DbFailure, HandlerFailure
from ._push import replay_buffer
from ._responses import immediate, not_found, options
from ._retention import run_retention
from ._routes import build_router
from ._state import State

__all__ = ["Broker"]


class Broker:
    """An in-process Queen 0.15 broker engine.

    Args:
        clock: the time source (a fresh real-time :class:`Clock` by default).
        status_mode: ``"wire"`` — deferred responses are always 200, as on a real 0.15
            server — or ``"intended"`` — the codes the routes mean (201 push, 204 empty pop,
            404 not found, 409 streams conflict, 500 database errors), §1.5, §6.8.
        long_poll: ``"wire"`` (the default, what a 0.15 server without cluster sync does) —
            parked pops re-run only on the server's retry ticks (0.1, 0.2, 0.3, 1.1, 2.1 ...
            s after arrival) and expire on the first tick after the deadline — or
            ``"prompt"`` — a push wakes parked pops of its queue at once, §1.6, §6.8.
    """

    def __init__(self, clock: Optional[Clock] = None, *, status_mode: str = "wire",
                 long_poll: str = "wire") -> None:
        self.clock = clock if clock is not None else Clock()
        self._ctx = Context(self.clock, status_mode, long_poll)
        self._ctx.state.started_us = self.clock.now_us()
        self._router = build_router()
        self.clock.subscribe(self._ctx.hub.wake_all)

    @property
    def faults(self) -> DbFaults:
        """Engine-level (database) fault injection, see :class:`DbFaults`."""
        return self._ctx.faults

    @property
    def state(self) -> State:
        """The raw state (for white-box assertions in tests)."""
        return self._ctx.state

    @property
    def status_mode(self) -> str:
        return "wire" if self._ctx.wire_status else "intended"

    @property
    def long_poll(self) -> str:
        return "prompt" if self._ctx.prompt else "wire"

    def reset(self) -> None:
        """Forget every queue, group, DLQ entry, trace, stream and maintenance flag."""
        self._ctx.state = State()
        self._ctx.state.started_us = self.clock.now_us()
        self._ctx.faults.clear()
        self._ctx.hub.wake_all()

    def parked(self) -> int:
        """Number of long-poll pops currently parked."""
        return self._ctx.hub.parked()

    def run_retention(self) -> int:
        """Run the retention and max-wait jobs once (§3.11); return messages deleted."""
        return run_retention(self._ctx)

    def is_deferred(self, request: Request) -> bool:
        """Whether ``request`` hits a database-backed route (the no-pipelining rule, §1.1)."""
        route, _ = self._router.match(request.method.upper(), request.path)
        return route is not None and route.deferred

    async def handle(self, request: Request, node: int = 0) -> Response:
        """Answer one request as listener ``node`` would."""
        method = request.method.upper()
        if method == "OPTIONS":
            return options()
        route, args = self._router.match(method, request.path)
        if route is None:
            return not_found()
        ctx = self._ctx
        ctx.node = node
        state = ctx.state
        if state.buffer and not state.maintenance and not ctx.faults.pending("push"):
            replay_buffer(ctx)
        try:
            if route.is_async:
                result: Response = await route.handler(ctx, request, node, *args)
            else:
                result = route.handler(ctx, request, node, *args)
            return result
        except BadRequest as exc:
            return immediate(400, {"error": exc.message})
        except HandlerFailure as exc:
            return immediate(500, {"error": exc.message})
        except DbFailure as exc:
            return ctx.reply(exc.body, 500)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a handler exception is the server's 500 too (§1.5)
            return immediate(500, {"error": str(exc) or type(exc).__name__})
