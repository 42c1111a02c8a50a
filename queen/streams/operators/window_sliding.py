"""``.window_sliding(size=..., slide=...)``: overlapping windows (client contract §8.4).

An event belongs to ``size / slide`` windows: with ``latest = floor(ts / slide) * slide``
the starts are ``latest - i * slide`` for ``i`` in ``0 ... n-1``, each kept when it contains
``ts``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Tuple

from ..._errors import QueenValidationError
from ._window_common import MS_PER_SEC, WindowOperator, positive_number

__all__ = ["WindowSlidingOperator"]


class WindowSlidingOperator(WindowOperator):
    window_kind = "sliding"
    method = "window_sliding"
    config_kind = "window-sliding"

    def __init__(
        self,
        size: Any = None,
        slide: Any = None,
        grace_period: Any = 0,
        idle_flush_ms: Any = 5000,
        event_time: Optional[Callable[[Any], Any]] = None,
        allowed_lateness: Any = 0,
        on_late: Optional[str] = None,
    ) -> None:
        if not positive_number(size):
            raise QueenValidationError("window_sliding requires size=<positive number>")
        if not positive_number(slide):
            raise QueenValidationError("window_sliding requires slide=<positive number>")
        if size % slide != 0:
            raise QueenValidationError(
                f"window_sliding: size ({self.tag_number(size)}) must be an integer multiple "
                f"of slide ({self.tag_number(slide)}) to keep the per-event window count finite"
            )
        self._init_common(grace_period, idle_flush_ms, event_time, allowed_lateness, on_late,
                          5000)
        self.size = size
        self.slide = slide
        self.size_ms = max(1, round(size * MS_PER_SEC))
        self.slide_ms = max(1, round(slide * MS_PER_SEC))
        self.windows_per_event = round(size / slide)
        self.operator_tag = f"slide:{self.tag_number(size)}:{self.tag_number(slide)}"
        self.config = self._config({"size": size, "slide": slide})

    def windows(self, ts: int) -> Iterable[Tuple[int, int]]:
        size, slide = self.size_ms, self.slide_ms
        latest = ts // slide * slide
        out = []
        for i in range(self.windows_per_event):
            start = latest - i * slide
            if start <= ts < start + size:
                out.append((start, start + size))
        return out
