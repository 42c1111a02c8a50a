"""Timestamps of the streams runtime: epoch milliseconds in, JS ``toISOString()`` out.

Source messages carry ``createdAt`` as ``2026-11-27T20:30:33.056779Z`` (API Appendix A);
window keys are ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (client contract §8.4). Both conversions run
once per message or window on the hot path, so the common shapes take a fast path with a
per-day cache, and every result is an exact integer (no float rounding: JS truncates the
fraction to milliseconds, and so do we).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Dict, Optional

__all__ = ["epoch_ms", "iso_from_ms", "now_iso", "parse_iso_ms"]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MS = _dt.timedelta(milliseconds=1)
_DAY = 86_400_000
_day_cache: Dict[str, Optional[int]] = {}
_iso_cache: Dict[int, str] = {}
# The broker stamps every message of one push with the same createdAt, so a batch repeats a
# handful of strings: they are parsed once.
_parsed: Dict[str, Optional[int]] = {}
_CACHE_MAX = 4096


def _day_ms(text: str) -> Optional[int]:
    day = _day_cache.get(text)
    if day is None and text not in _day_cache:
        try:
            date = _dt.date.fromisoformat(text)
            day = (date.toordinal() - 719163) * _DAY  # 719163 = date(1970, 1, 1).toordinal()
        except ValueError:
            day = None
        if len(_day_cache) >= _CACHE_MAX:
            _day_cache.clear()
        _day_cache[text] = day
    return day


def _fast(text: str) -> Optional[int]:
    """``YYYY-MM-DDTHH:MM:SS[.f...]Z``, or None when ``text`` has another shape."""
    if (len(text) < 20 or text[-1] != "Z" or text[10] not in "Tt " or text[13] != ":"
            or text[16] != ":"):
        return None
    clock = text[11:13] + text[14:16] + text[17:19]
    frac = text[20:-1]
    if not clock.isdigit() or (len(text) > 20 and (text[19] != "." or not frac.isdigit())):
        return None
    if len(text) == 20 and text[19] != "Z":
        return None
    day = _day_ms(text[:10])
    if day is None:
        return None
    h, m, s = int(clock[0:2]), int(clock[2:4]), int(clock[4:6])
    if h > 23 or m > 59 or s > 59:
        return None
    return day + ((h * 60 + m) * 60 + s) * 1000 + (int((frac + "00")[:3]) if frac else 0)


def _from_datetime(when: _dt.datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)  # a naive value is UTC (§8.4)
    return (when - _EPOCH) // _MS


def parse_iso_ms(text: Any) -> Optional[int]:
    """Epoch ms of an ISO-8601 string (``Z`` or an offset; naive = UTC), None if unparsable."""
    if type(text) is not str:
        return _parse(text) if isinstance(text, str) else None
    ms = _parsed.get(text, _parsed)
    if ms is _parsed:
        ms = _parse(text)
        if len(_parsed) >= _CACHE_MAX:
            _parsed.clear()
        _parsed[text] = ms
    return ms  # type: ignore[return-value]


def _parse(text: str) -> Optional[int]:
    fast = _fast(text)
    if fast is not None:
        return fast
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    # Python 3.9/3.10 accept only 3 or 6 fractional digits: cut or pad to 6.
    dot = value.find(".", 10)
    if dot > 0:
        end = dot + 1
        while end < len(value) and value[end].isdigit():
            end += 1
        value = value[: dot + 1] + (value[dot + 1 : end] + "000000")[:6] + value[end:]
    try:
        return _from_datetime(_dt.datetime.fromisoformat(value))
    except ValueError:
        return None


def epoch_ms(raw: Any) -> Optional[int]:
    """An event-time extractor's result as integer epoch ms: a datetime, a finite number
    (not a bool) or an ISO-8601 string; None for anything else."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return math.floor(raw) if math.isfinite(raw) else None
    if isinstance(raw, _dt.datetime):
        return _from_datetime(raw)
    if isinstance(raw, str):
        return parse_iso_ms(raw)
    return None


def iso_from_ms(ms: int) -> str:
    """``new Date(ms).toISOString()``: always ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    text = _iso_cache.get(ms)
    if text is None:
        when = _EPOCH + _dt.timedelta(milliseconds=ms)
        text = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        if len(_iso_cache) >= _CACHE_MAX:
            _iso_cache.clear()
        _iso_cache[ms] = text
    return text


def now_iso() -> str:
    """The wall clock as ``toISOString()`` (for the runner's metrics)."""
    return iso_from_ms(int(_dt.datetime.now(_dt.timezone.utc).timestamp() * 1000))
