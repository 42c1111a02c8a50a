"""``.window_tumbling(seconds=...)``: fixed, non-overlapping windows (client contract §8.4)."""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..._errors import QueenValidationError
from ._window_common import MS_PER_SEC, WindowOperator, positive_number

__all__ = ["WindowTumblingOperator"]


class WindowTumblingOperator(WindowOperator):
    window_kind = "tumbling"
    method = "window_tumbling"
    config_kind = "window-tumbling"

    def __init__(
        self,
        seconds: Any = None,
        grace_period: Any = 0,
        idle_flush_ms: Any = 5000,
        event_time: Optional[Callable[[Any], Any]] = None,
        allowed_lateness: Any = 0,
        on_late: Optional[str] = None,
    ) -> None:
        if not positive_number(seconds):
            raise QueenValidationError("window_tumbling requires seconds=<positive number>")
        self._init_common(grace_period, idle_flush_ms, event_time, allowed_lateness, on_late,
                          5000)
        self.seconds = seconds
        self.window_ms = self.single_window_ms = max(1, round(seconds * MS_PER_SEC))
        self.operator_tag = f"tumb:{self.tag_number(seconds)}"
        self.config = self._config({"seconds": seconds})

    def start_of(self, ts: int) -> int:
        return ts // self.window_ms * self.window_ms
