"""What the four window operators share (client contract §8.4).

A window operator validates its options, names its state rows with a tag (``tumb:60``,
``slide:60:10``, ``sess:30``, ``cron:hour``, numbers written as JS writes them), and
annotates each envelope with the window(s) its timestamp falls into: ``eventTimeMs``,
``windowStart``/``windowEnd`` (integer epoch ms), ``windowKey`` (``toISOString()`` of the
start), ``operatorTag`` and ``gracePeriodMs``. The timestamp is the event-time extractor's
result (a datetime, epoch-ms number or ISO string) or, without one, the message's
``createdAt``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..._errors import QueenTypeError, QueenValidationError
from .._calls import is_awaitable
from .._time import epoch_ms, iso_from_ms, parse_iso_ms
from ..util.jsjson import js_number

__all__ = [
    "MS_PER_SEC",
    "WindowOperator",
    "every_to_ms",
    "normalise_late_opts",
    "positive_number",
    "to_iso",
]

MS_PER_SEC = 1000
EVERY_MS = {
    "second": 1000,
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
    "week": 604_800_000,
}
ErrorSink = Callable[[BaseException], None]
to_iso = iso_from_ms
_UNPARSED = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def positive_number(value: Any) -> bool:
    """A finite int or float above zero (bools are not numbers here)."""
    return _is_number(value) and value > 0


def normalise_late_opts(on_late: Any) -> str:
    """``None``/``"drop"`` → ``"drop"``, ``"include"`` → ``"include"``, else ValueError."""
    if on_late is None or on_late == "drop":
        return "drop"
    if on_late == "include":
        return "include"
    raise QueenValidationError(f"on_late must be 'drop' or 'include' (got {on_late!r})")


def every_to_ms(every: str) -> int:
    """The period of a cron ``every`` in ms."""
    period = EVERY_MS.get(every)
    if period is None:
        raise QueenValidationError(
            f"window_cron: every must be one of second|minute|hour|day|week (got {every!r})"
        )
    return period


def _seconds_option(method: str, name: str, value: Any) -> Any:
    if not _is_number(value):
        raise QueenValidationError(f"{method}: {name} must be a number of seconds (got {value!r})")
    return value


def _to_ms(seconds: float) -> int:
    return max(0, math.floor(seconds * MS_PER_SEC))


class WindowOperator:
    """Base of the window operators: the options every window has, and annotation."""

    kind = "window"
    window_kind = ""
    method = ""  # the Stream method name, used in error texts
    config_kind = ""

    def _init_common(
        self,
        grace_period: Any,
        idle_flush_ms: Any,
        event_time: Optional[Callable[[Any], Any]],
        allowed_lateness: Any,
        on_late: Any,
        default_idle_ms: int,
    ) -> None:
        grace = 0 if grace_period is None else _seconds_option(self.method, "grace_period",
                                                                 grace_period)
        lateness = 0 if allowed_lateness is None else _seconds_option(
            self.method, "allowed_lateness", allowed_lateness)
        if idle_flush_ms is None:
            idle_flush_ms = default_idle_ms
        if not _is_number(idle_flush_ms):
            raise QueenValidationError(f"{self.method}: idle_flush_ms must be a number (got "
                             f"{idle_flush_ms!r})")
        if event_time is not None and not callable(event_time):
            raise QueenTypeError(f"{self.method}: event_time must be a callable")
        self.grace_period = grace
        self.allowed_lateness = lateness
        self.grace_period_ms = _to_ms(grace)
        self.idle_flush_ms = max(0, int(idle_flush_ms))
        self.event_time_fn = event_time
        self.allowed_lateness_ms = _to_ms(lateness)
        self.on_late_policy = normalise_late_opts(on_late)

    def _config(self, shape: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "kind": self.config_kind,
            **shape,
            "gracePeriod": self.grace_period,
            "idleFlushMs": self.idle_flush_ms,
            "eventTime": self.event_time_fn is not None,
            "allowedLateness": self.allowed_lateness,
            "onLate": self.on_late_policy,
        }

    @staticmethod
    def tag_number(value: Any) -> str:
        return js_number(value)

    # -- timestamps and windows ----------------------------------------------------------

    #: The window length of an operator that puts each timestamp in exactly one window
    #: (:meth:`start_of` gives its start), 0 otherwise.
    single_window_ms = 0

    def start_of(self, ts: int) -> int:
        raise NotImplementedError

    def windows(self, ts: int) -> Iterable[Tuple[int, int]]:
        """The ``(windowStart, windowEnd)`` pairs that contain ``ts``."""
        if self.single_window_ms:
            start = self.start_of(ts)
            return ((start, start + self.single_window_ms),)
        raise NotImplementedError

    def _no_timestamp(self) -> RuntimeError:
        return RuntimeError(f"{self.method} could not determine timestamp for message")

    async def timestamp(self, msg: Any) -> int:
        """The epoch-ms timestamp of a source message, or RuntimeError."""
        fn = self.event_time_fn
        if fn is None:
            ts = parse_iso_ms(msg.get("createdAt")) if isinstance(msg, dict) else None
        else:
            try:
                raw = fn(msg)
                if is_awaitable(raw):
                    raw = await raw
            except Exception as err:
                raise RuntimeError(f"eventTime extractor threw: {err}") from err
            ts = epoch_ms(raw)
        if ts is None:
            raise self._no_timestamp()
        return ts

    def _annotated(self, env: Dict[str, Any], ts: int) -> List[Dict[str, Any]]:
        tag, grace = self.operator_tag, self.grace_period_ms
        size = self.single_window_ms
        if size:  # tumbling and cron: exactly one window, the common case
            start = self.start_of(ts)
            return [{**env, "eventTimeMs": ts, "windowStart": start, "windowEnd": start + size,
                     "windowKey": iso_from_ms(start), "operatorTag": tag,
                     "gracePeriodMs": grace}]
        return [
            {**env, "eventTimeMs": ts, "windowStart": start, "windowEnd": end,
             "windowKey": iso_from_ms(start), "operatorTag": tag, "gracePeriodMs": grace}
            for start, end in self.windows(ts)
        ]

    async def apply(self, envelope: Dict[str, Any]) -> List[Dict[str, Any]]:
        """The annotated copies of one envelope (raises when it has no timestamp)."""
        return self._annotated(envelope, await self.timestamp(envelope.get("msg")))

    async def annotate(self, envelopes: List[Dict[str, Any]], on_error: ErrorSink
                       ) -> List[Dict[str, Any]]:
        """Annotate a batch; an envelope that fails is reported to ``on_error`` and skipped."""
        out: List[Dict[str, Any]] = []
        fn = self.event_time_fn
        for env in envelopes:
            if fn is None:
                # Processing time, inline: the hot path of a windowed job. The runner parsed
                # createdAt already ("createdMs"); a message without one has no timestamp.
                ts = env.get("createdMs", _UNPARSED)
                if ts is _UNPARSED:
                    msg = env["msg"]
                    ts = parse_iso_ms(msg.get("createdAt")) if isinstance(msg, dict) else None
                if ts is None:
                    on_error(self._no_timestamp())
                    continue
            else:
                try:
                    ts = await self.timestamp(env["msg"])
                except RuntimeError as err:
                    on_error(err)
                    continue
            try:
                out.extend(self._annotated(env, ts))
            except (ValueError, OverflowError) as err:  # a timestamp beyond datetime's range
                on_error(err)
        return out

    operator_tag = ""
