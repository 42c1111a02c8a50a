"""Health, metrics, maintenance and shared state (spec §2.13 buffers, §2.14, §2.15).

All of these are immediate (real status codes, four CORS headers). Push maintenance sends
pushes to the disk buffer (answered 201 ``buffered``) and the buffer is replayed into the
queues when it is switched off; pop maintenance answers every pop with the 204-with-a-body
of Q4.
"""

from __future__ import annotations

from typing import Any, Dict

from .._wire import Request, Response
from ._context import Context
from ._jsonio import BadRequest, get, parse_body
from ._push import replay_buffer
from ._responses import immediate, text

__all__ = [
    "handle_buffers", "handle_health", "handle_maintenance_get", "handle_maintenance_post",
    "handle_metrics", "handle_pop_maintenance_get", "handle_pop_maintenance_post",
    "handle_prometheus", "handle_shared_state", "shared_state",
]


def shared_state(ctx: Context) -> Dict[str, Any]:
    """The cluster-sync statistics object with sync disabled (§2.14)."""
    size = len(ctx.state.queues)
    return {
        "enabled": False,
        "maintenance_mode": ctx.state.maintenance,
        "pop_maintenance_mode": ctx.state.pop_maintenance,
        "queue_config_cache": {"hit_rate": 0.0, "hits": 0, "misses": 0, "size": size},
        "running": False,
        "server_health": {
            "heartbeats_received": 0, "restarts_detected": 0, "servers_alive": 0,
            "servers_dead": 0, "servers_tracked": 0,
        },
        "server_id": "queen-testing:6632",
    }


def handle_health(ctx: Context, req: Request, node: int) -> Response:
    return immediate(200, {
        "database": "connected",
        "queen": {"status": "active", "worker_id": node},
        "server": "C++ Queen Server (libqueen)",
        "shared_state": shared_state(ctx),
        "status": "healthy",
        "version": "1.0.0",  # hard-coded in the 0.15 server (Q33)
        "worker_id": node,
    })


def handle_metrics(ctx: Context, req: Request) -> Response:
    return immediate(200, {
        "cpu": {"system": 0, "user": 0},
        "database": {"idleConnections": 10, "poolSize": 10, "waitingRequests": 0},
        "memory": {"arrayBuffers": 0, "external": 0, "heapTotal": 0, "heapUsed": 0, "rss": 0},
        "messages": {"rate": 0, "total": 0},
        "requests": {"rate": 0, "total": 0},
        "uptime": 0,
    })


def handle_prometheus(ctx: Context, req: Request) -> Response:
    state = ctx.state
    lines = [
        "# HELP queen_messages_pushed_total Messages pushed",
        "# TYPE queen_messages_pushed_total counter",
        f"queen_messages_pushed_total {state.pushed}",
        "# HELP queen_messages_popped_total Messages popped",
        "# TYPE queen_messages_popped_total counter",
        f"queen_messages_popped_total {state.popped}",
        "# HELP queen_messages_acked_total Messages acknowledged",
        "# TYPE queen_messages_acked_total counter",
        f"queen_messages_acked_total {state.acked}",
        "# HELP queen_queues Queues",
        "# TYPE queen_queues gauge",
        f'queen_queues{{scope="cluster"}} {len(state.queues)}',
        "# HELP queen_parked_pops Parked long-poll pops",
        "# TYPE queen_parked_pops gauge",
        f"queen_parked_pops {ctx.hub.parked()}",
    ]
    for name, q in state.queues.items():
        total = sum(len(p.msgs) for p in q.partitions.values())
        label = name.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'queen_queue_messages{{queue="{label}"}} {total}')
    return text(200, ("\n".join(lines) + "\n").encode(), [
        ("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
        ("Cache-Control", "no-cache"),
    ])


def _enabled(req: Request) -> bool:
    body = parse_body(req.body)
    flag = get(body, "enabled")
    if not isinstance(flag, bool):
        raise BadRequest("enabled (boolean) is required")
    return flag


def _buffer_info(ctx: Context) -> Dict[str, Any]:
    pending = len(ctx.state.buffer)
    return {
        "bufferHealthy": True,
        "bufferStats": {
            "dbHealthy": True, "failedCount": 0,
            "failedFiles": {"count": 0, "failoverCount": 0, "qos0Count": 0, "totalBytes": 0,
                            "totalMB": 0.0},
            "pendingCount": pending,
        },
        "bufferedMessages": pending,
    }


def handle_maintenance_get(ctx: Context, req: Request) -> Response:
    body = _buffer_info(ctx)
    body["maintenanceMode"] = ctx.state.maintenance
    body["popMaintenanceMode"] = ctx.state.pop_maintenance
    return immediate(200, body)


def handle_maintenance_post(ctx: Context, req: Request) -> Response:
    on = _enabled(req)
    state = ctx.state
    state.maintenance = on
    body = {
        "bufferHealthy": True, "bufferedMessages": len(state.buffer), "maintenanceMode": on,
        "message": "Maintenance mode ENABLED. All PUSHes routing to file buffer." if on else
        "Maintenance mode DISABLED. Background processor will drain buffer to DB.",
    }
    if not on:
        replay_buffer(ctx)
    return immediate(200, body)


def handle_pop_maintenance_get(ctx: Context, req: Request) -> Response:
    on = ctx.state.pop_maintenance
    return immediate(200, {
        "message": "Pop maintenance mode is ON. All POP operations return empty arrays." if on
        else "Pop maintenance mode is OFF. Normal operation.",
        "popMaintenanceMode": on,
    })


def handle_pop_maintenance_post(ctx: Context, req: Request) -> Response:
    on = _enabled(req)
    ctx.state.pop_maintenance = on
    return immediate(200, {
        "message": "Pop maintenance mode ENABLED. All POP operations will return empty arrays."
        if on else "Pop maintenance mode DISABLED. Normal operation resumed.",
        "popMaintenanceMode": on,
    })


def handle_shared_state(ctx: Context, req: Request) -> Response:
    return immediate(200, shared_state(ctx))


def handle_buffers(ctx: Context, req: Request, node: int) -> Response:
    return immediate(200, {"dbHealthy": True, "failed": 0, "pending": len(ctx.state.buffer),
                           "worker": node})
