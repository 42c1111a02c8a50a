"""``.window_cron(every=...)``: calendar-aligned tumbling windows (client contract §8.4).

``every`` is ``second``, ``minute``, ``hour``, ``day`` or ``week`` (UTC). Weeks start on
Monday 00:00 UTC: 1970-01-01 was a Thursday, so the epoch is shifted by four days before
flooring.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..._errors import QueenValidationError
from ._window_common import WindowOperator, every_to_ms

__all__ = ["WEEK_EPOCH_OFFSET_MS", "WindowCronOperator"]

WEEK_EPOCH_OFFSET_MS = 4 * 86_400_000


class WindowCronOperator(WindowOperator):
    window_kind = "cron"
    method = "window_cron"
    config_kind = "window-cron"

    def __init__(
        self,
        every: Any = None,
        grace_period: Any = 0,
        idle_flush_ms: Any = 30000,
        event_time: Optional[Callable[[Any], Any]] = None,
        allowed_lateness: Any = 0,
        on_late: Optional[str] = None,
    ) -> None:
        if not isinstance(every, str):
            raise QueenValidationError(
                "window_cron requires every='second'|'minute'|'hour'|'day'|'week'")
        self.window_ms = self.single_window_ms = every_to_ms(every)
        self._init_common(grace_period, idle_flush_ms, event_time, allowed_lateness, on_late,
                          30000)
        self.every = every
        self.operator_tag = f"cron:{every}"
        self.config = self._config({"every": every})

    def start_of(self, ts: int) -> int:
        size = self.window_ms
        shift = WEEK_EPOCH_OFFSET_MS if self.every == "week" else 0
        return (ts - shift) // size * size + shift
