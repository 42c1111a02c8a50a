"""``POST /api/v1/configure`` and ``DELETE /api/v1/resources/queues/:queue`` (§2.7, §2.8).

Configure is a full replace: every option not supplied returns to its server default and
``namespace``/``task`` to ``""`` (Q20); it always creates the ``Default`` partition. Integer
options must be integral JSON numbers: a float (or any text PostgreSQL cannot cast) fails the
whole call with the SQL error body and changes nothing; a numeric string or string boolean is
cast and saved, after which the server's config cache throws and the answer is only
``{"error": ...}`` (Q13). A body with neither namespace/task nor any option creates or resets
the queue and answers ``type_error.306`` (§2.7).
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple

from .._wire import Request, Response
from ._context import Context
from ._jsonio import BadRequest, dumps, get, parse_body, type_name
from ._state import DEFAULT_OPTIONS

__all__ = ["handle_configure", "handle_queue_delete"]

_INT_OPTS = (
    "leaseTime", "ttl", "retryLimit", "retryDelay", "maxSize", "priority", "delayedProcessing",
    "windowBuffer", "retentionSeconds", "completedRetentionSeconds", "maxWaitTimeSeconds",
)
_BOOL_OPTS = ("deadLetterQueue", "dlqAfterMaxRetries", "retentionEnabled", "encryptionEnabled")
_CONTEXT = "PL/pgSQL function queen.configure_queue_v1(text,jsonb) line 27 at assignment"
_PG_INT = re.compile(r"^\s*[+-]?\d+\s*$")
_PG_TRUE = ("t", "tr", "tru", "true", "y", "ye", "yes", "on", "1")
_PG_FALSE = ("f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0")


def _text(v: Any) -> str:
    """What ``jsonb ->> key`` yields for a value (the text PostgreSQL tries to cast)."""
    if isinstance(v, str):
        return v
    return dumps(v).decode()


def _sql_error(msg: str) -> Dict[str, Any]:
    return {"error": f"ERROR:  {msg}\nCONTEXT:  {_CONTEXT}\n", "success": False}


def _cast_int(v: Any) -> Tuple[Optional[int], Optional[str], Optional[str]]:
    """(value, SQL error, config-cache error) for an integer option."""
    if v is None:
        return None, None, "number"
    if isinstance(v, int) and not isinstance(v, bool):
        if not -(2**31) <= v < 2**31:
            return None, f'value "{v}" is out of range for type integer', None
        return v, None, None
    if isinstance(v, str) and _PG_INT.match(v):
        n = int(v)
        if not -(2**31) <= n < 2**31:
            return None, f'value "{v.strip()}" is out of range for type integer', None
        return n, None, "number"
    return None, f'invalid input syntax for type integer: "{_text(v)}"', None


def _cast_bool(v: Any) -> Tuple[Optional[bool], Optional[str], Optional[str]]:
    if v is None:
        return None, None, "boolean"
    if isinstance(v, bool):
        return v, None, None
    t = _text(v).strip().lower()
    if isinstance(v, (str, int, float)) and t in _PG_TRUE + _PG_FALSE:
        return t in _PG_TRUE, None, "boolean"
    return None, f'invalid input syntax for type boolean: "{_text(v)}"', None


def handle_configure(ctx: Context, req: Request) -> Response:
    body = parse_body(req.body)
    name = get(body, "queue")
    if not isinstance(name, str):
        raise BadRequest("queue is required")
    ns, task = get(body, "namespace"), get(body, "task")
    raw_opts = get(body, "options")
    supplied: Dict[str, Any] = raw_opts if isinstance(raw_opts, dict) else {}
    fault = ctx.faults.take("configure")
    if fault is not None:
        return ctx.reply({"error": fault, "success": False}, 500)
    for text in (name, ns, task):
        if isinstance(text, str) and len(text) > 255:
            return ctx.reply(_sql_error("value too long for type character varying(255)"), 500)
    options = dict(DEFAULT_OPTIONS)
    cache_error: Optional[Tuple[str, Any]] = None
    for key in _INT_OPTS + _BOOL_OPTS:
        if key not in supplied:
            continue
        v = supplied[key]
        value, sql, cache = (_cast_int if key in _INT_OPTS else _cast_bool)(v)
        if sql is not None:
            return ctx.reply(_sql_error(sql), 500)
        if value is not None:
            options[key] = value
        if cache is not None and cache_error is None:
            cache_error = (cache, v)
    state = ctx.state
    now_us = ctx.stamp()
    q = state.queue(name, now_us)
    q.options = options
    q.namespace = ns if isinstance(ns, str) else ""
    q.task = task if isinstance(task, str) else ""
    p = state.partition(q, "Default", now_us)
    if cache_error is not None:
        expected, v = cache_error
        return ctx.reply({
            "error": f"[json.exception.type_error.302] type must be {expected}, "
                     f"but is {type_name(v)}"
        }, 500)
    recognised = any(k in supplied for k in DEFAULT_OPTIONS)
    if not recognised and not isinstance(ns, str) and not isinstance(task, str):
        return ctx.reply({"error": "[json.exception.type_error.306] cannot use value() with null"},
                         500)
    ctx.notify(name)
    return ctx.reply({
        "configured": True, "namespace": q.namespace, "options": dict(options),
        "partitionId": p.id, "queue": q.name, "queueId": q.id, "task": q.task,
    })


def handle_queue_delete(ctx: Context, req: Request, name: str) -> Response:
    fault = ctx.faults.take("delete")
    if fault is not None:
        return ctx.reply({"error": fault, "success": False}, 500)
    q = ctx.state.queues.get(name)
    if q is not None:
        # Subscription metadata survives on purpose (Q26).
        ctx.state.drop_queue(q)
    return ctx.reply({"deleted": True, "existed": q is not None, "queue": name})
