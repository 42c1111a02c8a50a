"""``message.trace(config)``: timeline events on a message, never raising (contract §5.9)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ._defaults import QUEUE_MODE
from ._http import HttpClient
from ._logging import ClientLogger
from ._speedups import dumps_payload

__all__ = ["send_trace"]

INVALID_CONFIG = "Invalid trace config: requires { data: {...} }"


def _trace_names(value: Any) -> Optional[list]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        names = [n for n in value if isinstance(n, str) and n]
        return names or None
    return None


async def send_trace(
    http: HttpClient,
    log: ClientLogger,
    message: Mapping[str, Any],
    group: Optional[str],
    config: Any,
) -> Dict[str, Any]:
    """``POST /api/v1/traces`` for ``message``; failures come back as ``success: False``."""
    if not isinstance(config, dict) or "data" not in config:
        return {"success": False, "error": INVALID_CONFIG}
    transaction_id = message.get("transactionId")
    try:
        body = dumps_payload(
            {
                "transactionId": transaction_id,
                "partitionId": message.get("partitionId"),
                "consumerGroup": group or QUEUE_MODE,
                "traceNames": _trace_names(config.get("traceName")),
                "eventType": config.get("eventType", "info"),
                "data": config["data"],
            }
        )
        result = await http.request("POST", "/api/v1/traces", body=body)
    except Exception as exc:
        log.warning(f"[TRACE FAILED] {transaction_id}", {"error": str(exc)})
        return {"success": False, "error": str(exc)}
    if isinstance(result, dict):
        if result.get("success") is False or result.get("error"):
            log.warning(f"[TRACE FAILED] {transaction_id}", {"error": result.get("error")})
        return {"success": True, **result}
    return {"success": True, "result": result}
