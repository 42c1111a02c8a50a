"""``queue(...).buffer(options)``: the options checked once, when they are given (§2.5, §5.7).

A bad value used to surface only inside the background flusher (``message_count: 0`` made it
send empty requests in a tight loop while the messages never left), so every option is
checked here (``queen._validate``): a value of the wrong type raises ``QueenTypeError``, one
out of range ``QueenValidationError``, naming the option. ``time_millis: None`` means no time
trigger: the buffer is sent when it holds ``message_count`` messages, when a producer waits
for room, on ``flush_buffer()`` / ``flush_all_buffers()`` and on ``close()``.

Unknown keys were ignored by the reference client, so code written for it may carry some (a
``messageCount`` that never applied): they are dropped with one warning per key.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional

from ._defaults import BUFFER_DEFAULTS
from ._errors import QueenTypeError, QueenValidationError
from ._logging import ClientLogger
from ._validate import callable_option, describe, int_option, mapping_option, warn_once

__all__ = ["check_buffer_options"]


def _millis(value: Any, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QueenTypeError(f"{option} must be a number of milliseconds, got {describe(value)}")
    if not math.isfinite(value) or value < 0:
        raise QueenValidationError(f"{option} must be >= 0 and finite, got {value!r}")
    return value


def _time_millis(value: Any, option: str) -> Optional[float]:
    return None if value is None else _millis(value, option)


def _max_size(value: Any, option: str) -> Optional[int]:
    return None if value is None else int_option(value, option, minimum=1)


def _on_flush_error(value: Any, option: str) -> Optional[Callable[..., Any]]:
    return None if value is None else callable_option(value, option)


_CHECKS: Dict[str, Callable[[Any, str], Any]] = {
    "message_count": lambda v, o: int_option(v, o, minimum=1),
    "time_millis": _time_millis,
    "max_size": _max_size,
    "max_bytes": lambda v, o: int_option(v, o, minimum=1),
    "retry_delay_millis": _millis,
    "on_flush_error": _on_flush_error,
}
assert set(_CHECKS) == set(BUFFER_DEFAULTS)


def _hint(key: Any) -> str:
    if isinstance(key, str):
        snake = "".join("_" + c.lower() if c.isupper() else c for c in key)
        if snake in _CHECKS:
            return f" (did you mean {snake!r}?)"
    return ""


def check_buffer_options(options: Any, log: ClientLogger) -> Dict[str, Any]:
    """The checked options; an unknown key is dropped with a warning (once per key).

    Raises:
        QueenTypeError: ``options`` is not a dict, or an option has a value of the wrong type.
        QueenValidationError: an option's value is out of range.
    """
    checked: Dict[str, Any] = {}
    for key, value in mapping_option(options, "buffer options").items():
        check = _CHECKS.get(key) if isinstance(key, str) else None
        if check is None:
            warn_once(
                "QueueBuilder.buffer",
                key,
                f"unknown buffer option {key!r} ignored{_hint(key)}; known options: "
                + ", ".join(_CHECKS),
                log,
                stacklevel=4,
            )
            continue
        checked[key] = check(value, f"buffer option {key}")
    return checked
