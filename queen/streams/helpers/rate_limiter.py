"""Ready-made gate functions for ``Stream.gate(fn)`` (client contract §8.6).

Both keep their counters in ``ctx.state``, which the runtime stores per key in the cycle that
allows the record; a denied record stops the batch, and the rest is redelivered in order after
the lease expires. The cost of a record is ``cost_fn(value)``: a non-number, a bool, a
non-finite or a negative cost counts as 1.

A partition's sustainable rate is about ``min(refill_per_sec, capacity / lease_seconds)``:
size ``capacity`` near ``refill_per_sec * lease_seconds`` so the lease does not cap it.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..._errors import QueenTypeError, QueenValidationError

__all__ = ["sliding_window_gate", "token_bucket_gate"]

GateFn = Callable[[Any, Any], bool]


def _positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _cost(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) \
            or raw < 0:
        return 1
    return raw


def _one(_value: Any) -> int:
    return 1


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def token_bucket_gate(
    capacity: float,
    refill_per_sec: float,
    cost_fn: Callable[[Any], Any] = _one,
    allow_zero_cost: bool = True,
) -> GateFn:
    """A token bucket of ``capacity`` tokens refilled at ``refill_per_sec``.

    State keys: ``tokens``, ``lastRefillAt``, ``allowedTotal``, ``consumedTotal``.

    Raises:
        QueenValidationError (a ValueError): ``capacity`` or ``refill_per_sec`` is not a
            finite positive number.
        QueenTypeError (a TypeError): ``cost_fn`` is not callable.
    """
    if not _positive(capacity):
        raise QueenValidationError("token_bucket_gate: capacity must be a positive number")
    if not _positive(refill_per_sec):
        raise QueenValidationError("token_bucket_gate: refill_per_sec must be a positive number")
    if not callable(cost_fn):
        raise QueenTypeError("token_bucket_gate: cost_fn must be callable")

    def token_bucket(value: Any, ctx: Any) -> bool:
        now = ctx.stream_time_ms
        state = ctx.state
        if not _number(state.get("tokens")):
            state["tokens"] = capacity
        if not _number(state.get("lastRefillAt")):
            state["lastRefillAt"] = now
        elapsed = max(0, now - state["lastRefillAt"]) / 1000.0
        state["tokens"] = min(capacity, state["tokens"] + elapsed * refill_per_sec)
        state["lastRefillAt"] = now
        cost = _cost(cost_fn(value))
        if cost == 0:
            return allow_zero_cost
        if state["tokens"] >= cost:
            state["tokens"] -= cost
            state["allowedTotal"] = state.get("allowedTotal", 0) + 1
            state["consumedTotal"] = state.get("consumedTotal", 0) + cost
            return True
        return False

    return token_bucket


def sliding_window_gate(
    limit: float,
    window_sec: float,
    cost_fn: Callable[[Any], Any] = _one,
) -> GateFn:
    """At most ``limit`` cost per ``window_sec``, by the two-bucket approximation
    (the previous window's count weighted by how much of it still overlaps).

    State keys: ``window``, ``currentCount``, ``previousCount``.

    Raises:
        QueenValidationError (a ValueError): ``limit`` or ``window_sec`` is not a finite
            positive number.
        QueenTypeError (a TypeError): ``cost_fn`` is not callable.
    """
    if not _positive(limit):
        raise QueenValidationError("sliding_window_gate: limit must be a positive number")
    if not _positive(window_sec):
        raise QueenValidationError("sliding_window_gate: window_sec must be a positive number")
    if not callable(cost_fn):
        raise QueenTypeError("sliding_window_gate: cost_fn must be callable")
    window_ms = window_sec * 1000

    def sliding_window(value: Any, ctx: Any) -> bool:
        now = ctx.stream_time_ms
        state = ctx.state
        current = math.floor(now / window_ms)
        elapsed = (now % window_ms) / window_ms
        if state.get("window") != current:
            state["previousCount"] = (
                state.get("currentCount", 0) if state.get("window") == current - 1 else 0
            )
            state["currentCount"] = 0
            state["window"] = current
        estimated = (state.get("previousCount") or 0) * (1 - elapsed) + (
            state.get("currentCount") or 0
        )
        cost = _cost(cost_fn(value))
        if estimated + cost <= limit:
            state["currentCount"] = (state.get("currentCount") or 0) + cost
            return True
        return False

    return sliding_window
