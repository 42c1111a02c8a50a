"""Queue options for ``POST /api/v1/configure`` (client contract §2.2, §4.3; API §4, Q13).

snake_case keys become camelCase by splitting on ``_``; camelCase keys pass through, and a
user-supplied key wins over the default for the same wire name whatever its casing. The
broker casts integer options in SQL and rejects ``60.0``, and it silently drops keys it does
not know, so values are checked here: integral floats become ints (D27); anything else that
the broker would refuse or ignore raises :class:`QueenValidationError` before sending.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ._errors import QueenTypeError, QueenValidationError
from ._speedups import dumps_payload
from ._validate import describe

__all__ = ["BOOLEAN_OPTIONS", "INTEGER_OPTIONS", "queue_options_body", "wire_options"]

INTEGER_OPTIONS = frozenset(
    {
        "leaseTime",
        "retryLimit",
        "retryDelay",
        "priority",
        "delayedProcessing",
        "windowBuffer",
        "maxSize",
        "ttl",
        "retentionSeconds",
        "completedRetentionSeconds",
        "maxWaitTimeSeconds",
    }
)
BOOLEAN_OPTIONS = frozenset(
    {"retentionEnabled", "encryptionEnabled", "deadLetterQueue", "dlqAfterMaxRetries"}
)
_KNOWN = INTEGER_OPTIONS | BOOLEAN_OPTIONS


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _wire_value(name: str, value: Any) -> Any:
    if name in BOOLEAN_OPTIONS:
        if not isinstance(value, bool):
            raise QueenTypeError(f"queue option {name} must be a bool, got {describe(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QueenTypeError(f"queue option {name} must be an integer, got {describe(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise QueenValidationError(f"queue option {name} must be an integer, got {value!r}")
        return int(value)
    return value


def wire_options(options: Mapping[str, Any]) -> Dict[str, Any]:
    """The camelCase ``options`` object for configure, validated."""
    out: Dict[str, Any] = {}
    explicit: set = set()
    for key, value in options.items():
        if not isinstance(key, str):
            raise QueenTypeError(f"queue option names must be strings, got {describe(key)}")
        name = _camel(key)
        if name not in _KNOWN:
            raise QueenValidationError(
                f"unknown queue option {key!r}; the 0.15 broker knows "
                + ", ".join(sorted(_KNOWN))
            )
        # A key spelled exactly as its wire name (a user's camelCase key) beats the
        # snake_case default for the same option, whichever comes first.
        if name in out and name in explicit and key != name:
            continue
        out[name] = _wire_value(name, value)
        if key == name:
            explicit.add(name)
    return out


def queue_options_body(
    queue: str, namespace: Optional[str], task: Optional[str], options: Mapping[str, Any]
) -> bytes:
    return dumps_payload(
        {"queue": queue, "namespace": namespace, "task": task, "options": wire_options(options)}
    )
