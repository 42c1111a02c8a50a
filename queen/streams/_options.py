"""Option spellings: snake_case and the camelCase of the JS SDK (client contract §8.4, §8.10)."""

from __future__ import annotations

from typing import Any, Dict, Tuple

from .._errors import QueenTypeError, QueenValidationError

__all__ = ["RUN_ALIASES", "RUN_DEFAULTS", "run_options", "window_options"]

_WINDOW_ALIASES = {
    "gracePeriod": "grace_period",
    "idleFlushMs": "idle_flush_ms",
    "eventTime": "event_time",
    "allowedLateness": "allowed_lateness",
    "onLate": "on_late",
}
_WINDOW_OPTIONS = frozenset(_WINDOW_ALIASES.values())

RUN_DEFAULTS: Dict[str, Any] = {
    "batch_size": 200,
    "max_partitions": 4,
    "max_wait_millis": 1000,
    "subscription_mode": None,
    "subscription_from": None,
    "reset": False,
    "consumer_group": None,
    "on_error": None,
    "logger": None,
    "bearer_token": None,
}
RUN_ALIASES = {
    "batchSize": "batch_size",
    "maxPartitions": "max_partitions",
    "maxWaitMillis": "max_wait_millis",
    "subscriptionMode": "subscription_mode",
    "subscriptionFrom": "subscription_from",
    "consumerGroup": "consumer_group",
    "onError": "on_error",
    "bearerToken": "bearer_token",
}


def window_options(method: str, required: Tuple[str, ...], args: Tuple[Any, ...],
                   opts: Dict[str, Any]) -> Dict[str, Any]:
    """Keyword options of a window method, camelCase aliases folded into snake_case
    (QueenTypeError for an option the method does not have).

    A positional dict is taken as the options (the JS calling style); positional numbers
    fill the required options in order (``window_tumbling(60)``).
    """
    merged: Dict[str, Any] = {}
    positional = list(args)
    if len(positional) == 1 and isinstance(positional[0], dict):
        merged.update(positional.pop())
    if len(positional) > len(required):
        raise QueenTypeError(f"{method}() takes at most {len(required)} positional arguments")
    merged.update(zip(required, positional))
    for key, value in opts.items():
        if key in merged:
            raise QueenTypeError(f"{method}() got multiple values for {key!r}")
        merged[key] = value
    out: Dict[str, Any] = {}
    for key, value in merged.items():
        name = _WINDOW_ALIASES.get(key, key)
        if name not in required and name not in _WINDOW_OPTIONS:
            raise QueenTypeError(f"{method}() got an unexpected option {key!r}")
        if name in out:
            raise QueenTypeError(f"{method}() got {key!r} and its other spelling")
        out[name] = value
    return out


def run_options(opts: Dict[str, Any]) -> Dict[str, Any]:
    """``run()`` options in snake_case with defaults; TypeError for an unknown option."""
    out = dict(RUN_DEFAULTS)
    seen = set()
    for key, value in opts.items():
        name = RUN_ALIASES.get(key, key)
        if name not in RUN_DEFAULTS:
            raise QueenTypeError(f"run() got an unexpected option {key!r}")
        if name in seen:
            raise QueenTypeError(f"run() got {key!r} and its other spelling")
        seen.add(name)
        out[name] = value
    if not out["batch_size"]:
        out["batch_size"] = RUN_DEFAULTS["batch_size"]
    if not out["max_partitions"]:
        out["max_partitions"] = RUN_DEFAULTS["max_partitions"]
    if out["max_wait_millis"] is None:
        out["max_wait_millis"] = RUN_DEFAULTS["max_wait_millis"]
    for name in ("batch_size", "max_partitions", "max_wait_millis"):
        value = out[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise QueenValidationError(
                f"run(): {name} must be a non-negative integer (got {value!r})")
    return out
