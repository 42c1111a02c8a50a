"""The broker's routes, wired to their handlers (spec §2).

Each adapter has the signature ``(ctx, request, node, *path_params)``.
"""

from __future__ import annotations

from typing import Any

from .._wire import Request, Response
from . import (
    _ack,
    _configure,
    _dlq,
    _groups,
    _lease,
    _messages,
    _pop,
    _push,
    _resources,
    _status,
    _streams,
    _system,
    _traces,
    _transaction,
)
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

    res = a + "/resources"
    r.add("GET", res + "/queues", _plain(_resources.handle_queues))
    r.add("GET", res + "/queues/:queue", _plain(_resources.handle_queue))
    r.add("GET", res + "/namespaces", _plain(_resources.handle_namespaces))
    r.add("GET", res + "/tasks", _plain(_resources.handle_tasks))
    r.add("GET", res + "/overview", _plain(_resources.handle_overview))

    cg = a + "/consumer-groups"
    r.add("GET", cg, _plain(_groups.handle_groups))
    r.add("GET", cg + "/lagging", _plain(_groups.handle_lagging))
    r.add("GET", cg + "/:group", _plain(_groups.handle_group))
    r.add("DELETE", cg + "/:group", _plain(_groups.handle_delete_group))
    r.add("POST", cg + "/:group/subscription", _plain(_groups.handle_subscription))
    r.add("DELETE", cg + "/:group/queues/:queue", _plain(_groups.handle_delete_group_queue))
    r.add("POST", cg + "/:group/queues/:queue/seek", _plain(_groups.handle_seek))
    r.add("POST", cg + "/:group/queues/:queue/partitions/:partition/seek",
          _plain(_groups.handle_partition_seek))
    r.add("POST", a + "/stats/refresh", _plain(_groups.handle_stats_refresh))

    r.add("POST", a + "/traces", _with_node(_traces.handle_trace_post))
    r.add("GET", a + "/traces/names", _plain(_traces.handle_trace_names))
    r.add("GET", a + "/traces/by-name/:name", _plain(_traces.handle_traces_by_name))
    r.add("GET", a + "/traces/:pid/:tx", _plain(_traces.handle_traces_by_message))

    r.add("GET", a + "/messages", _plain(_messages.handle_messages))
    r.add("GET", a + "/messages/:pid/:tx", _plain(_messages.handle_message_detail))
    r.add("DELETE", a + "/messages/:pid/:tx", _plain(_messages.handle_message_delete))

    r.add("GET", a + "/status", _plain(_status.handle_status))
    r.add("GET", a + "/status/queues", _plain(_status.handle_status_queues))
    r.add("GET", a + "/status/queues/:queue", _plain(_status.handle_status_queue))
    r.add("GET", a + "/status/queues/:queue/messages", _plain(_status.handle_queue_messages))
    r.add("GET", a + "/status/analytics", _plain(_status.handle_analytics))
    for suffix, handler in _status.STATUS_ROUTES:
        r.add("GET", a + suffix, _plain(handler))

    r.add("POST", "/streams/v1/queries", _plain(_streams.handle_register))
    r.add("POST", "/streams/v1/cycle", _plain(_streams.handle_cycle))
    r.add("POST", "/streams/v1/state/get", _plain(_streams.handle_state_get))

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
