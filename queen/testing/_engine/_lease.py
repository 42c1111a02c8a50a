"""``POST /api/v1/lease/:leaseId/extend`` (spec §2.6, Q23, §6.5).

Every (partition, group) row holding the token and still unexpired gets
``expires = max(expires, now + seconds)`` (default 60 s, never the queue's ``leaseTime``);
renewal never shortens and cannot revive an expired lease. The answer is a one-element array;
``expiresAt`` is the earliest new expiry. Error precedence: ``Lease not found`` (no row carries
the token) before ``Lease already expired``.
"""

from __future__ import annotations

from .._wire import Request, Response
from ._context import Context
from ._jsonio import parse_body, type_error, value_error
from ._timefmt import fmt_ms

__all__ = ["handle_lease_extend"]


def handle_lease_extend(ctx: Context, req: Request, lease_id: str) -> Response:
    body = parse_body(req.body)
    if not isinstance(body, dict):
        raise value_error(body)
    seconds = body.get("seconds", 60)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise type_error("number", seconds)
    fault = ctx.faults.take("lease")
    if fault is not None:
        return ctx.reply({"error": fault, "success": False}, 500)
    now = ctx.clock.now()
    rows = ctx.state.holders(lease_id)
    entry = {"error": None, "expiresAt": None, "index": 0, "leaseId": lease_id,
             "success": False}
    if not rows:
        entry["error"] = "Lease not found"
    else:
        live = [c for c in rows if c.expires > now]
        if not live:
            entry["error"] = "Lease already expired"
        else:
            target = now + float(seconds)
            for c in live:
                if target > c.expires:
                    c.expires = target
            entry["expiresAt"] = fmt_ms(int(min(c.expires for c in live) * 1_000_000))
            entry["success"] = True
    return ctx.reply([entry])
