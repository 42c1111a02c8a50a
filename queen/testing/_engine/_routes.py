"""The broker's routes, wired to their handlers (spec §2).

Each adapter has the signature ``(ctx, request, node, *path_params)``.
"""

from __future__ import annotations

from typing import Any

from .._wire import Request, Response
from . import _ack, _configure, _dlq, _lease, _pop, _push, _system, _transaction
from ._context import Context
from ._router import Router

__all__ = ["build_router"]

Ctx = Context
Req = Request


def _push_route(ctx: Ctx, req: Req, node: int) -> Response:
    return _push.handle_push(ctx, req)


async def _pop_any(ctx: Ctx, req: Req, node: int, queue: str) -> Response:
    return await _pop.handle_pop(ctx, req, queue, None)


async def _pop_part(ctx: Ctx, req: Req, node: int, queue: str, partition: str) -> Response:
    return await _pop.handle_pop(ctx, req, queue, partition)


def _ack_route(ctx: Ctx, req: Req, node: int) -> Response:
    return _ack.handle_ack(ctx, req)


async def _ack_batch(ctx: Ctx, req: Req, node: int) -> Response:
    return await _ack.handle_ack_batch(ctx, req)


def _tx(ctx: Ctx, req: Req, node: int) -> Response:
    return _transaction.handle_transaction(ctx, req)


def _lease_route(ctx: Ctx, req: Req, node: int, lease: str) -> Response:
    return _lease.handle_lease_extend(ctx, req, lease)


def _configure_route(ctx: Ctx, req: Req, node: int) -> Response:
    return _configure.handle_configure(ctx, req)


def _queue_delete(ctx: Ctx, req: Req, node: int, queue: str) -> Response:
    return _configure.handle_queue_delete(ctx, req, queue)


def _plain(fn: Any) -> Any:
    """Adapt a ``(ctx, req)`` handler."""
    def route(ctx: Ctx, req: Req, node: int, *args: str) -> Response:
        return fn(ctx, req, *args)
    return route


def _with_node(fn: Any) -> Any:
    """Adapt a ``(ctx, req, node)`` handler."""
    def route(ctx: Ctx, req: Req, node: int, *args: str) -> Response:
        return fn(ctx, req, node, *args)
    return route


def build_router() -> Router:
    r = Router()
    a = "/api/v1"
    r.add("POST", a + "/push", _push_route)
    r.add("GET", a + "/pop/queue/:queue", _pop_any, is_async=True)
    r.add("GET", a + "/pop/queue/:queue/partition/:partition", _pop_part, is_async=True)
    r.add("POST", a + "/ack", _ack_route)
    r.add("POST", a + "/ack/batch", _ack_batch, is_async=True)
    r.add("POST", a + "/transaction", _tx)
    r.add("POST", a + "/lease/:lease/extend", _lease_route)
    r.add("POST", a + "/configure", _configure_route)
    r.add("DELETE", a + "/resources/queues/:queue", _queue_delete)
    r.add("GET", a + "/dlq", _plain(_dlq.handle_dlq))

    imm = {"deferred": False}
    r.add("GET", "/health", _with_node(_system.handle_health), **imm)
    r.add("GET", "/metrics", _plain(_system.handle_metrics), **imm)
    r.add("GET", "/metrics/prometheus", _plain(_system.handle_prometheus), **imm)
    r.add("GET", a + "/system/maintenance", _plain(_system.handle_maintenance_get), **imm)
    r.add("POST", a + "/system/maintenance", _plain(_system.handle_maintenance_post), **imm)
    r.add("GET", a + "/system/maintenance/pop", _plain(_system.handle_pop_maintenance_get),
          **imm)
    r.add("POST", a + "/system/maintenance/pop", _plain(_system.handle_pop_maintenance_post),
          **imm)
    r.add("GET", a + "/system/shared-state", _plain(_system.handle_shared_state), **imm)
    r.add("GET", a + "/status/buffers", _with_node(_system.handle_buffers), **imm)
    return r
