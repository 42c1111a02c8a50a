"""Timestamp formatting and parsing (spec Appendix A, Q9).

The broker keeps time as integer epoch microseconds. On the wire pop ``createdAt`` carries
six fractional digits, most other fields three, status buckets none, and streams state rows
PostgreSQL's native ``+00:00`` form. Inputs (``subscriptionFrom``, seek ``timestamp``,
``from``/``to``) are parsed as leniently as PostgreSQL's ``timestamptz`` input, in UTC.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

__all__ = ["fmt_ms", "fmt_pg", "fmt_s", "fmt_us", "parse_ts"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def fmt_us(us: int) -> str:
    """``2026-11-27T20:30:33.056779Z`` (pop ``createdAt``)."""
    return _dt(us).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fmt_ms(us: int) -> str:
    """``2026-11-27T20:33:36.349Z`` (most timestamps)."""
    d = _dt(us)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def fmt_s(us: int) -> str:
    """``2026-11-27T20:34:00Z`` (status throughput buckets)."""
    return _dt(us).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_pg(us: int) -> str:
    """``2026-11-27T20:35:32.104006+00:00`` (streams state ``updated_at``).

    PostgreSQL drops the fraction's trailing zeros: 104500 µs is ``.1045``, none is no
    fraction at all.
    """
    d = _dt(us)
    if d.microsecond:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond:06d}".rstrip("0") + "+00:00"
    return d.strftime("%Y-%m-%dT%H:%M:%S+00:00")


_TS_RE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|z|UTC|[+-]\d{1,2}(?::?\d{2})?)?\s*$"
)


_DAY_US = 86_400_000_000
# PostgreSQL's special timestamptz inputs, in any case: (days from today's UTC midnight).
_WORDS = {"today": 0, "tomorrow": 1, "yesterday": -1}


def parse_ts(text: str, now_us: Optional[int] = None) -> Optional[int]:
    """Parse an ISO-8601-ish timestamp into epoch microseconds; ``None`` if unparsable.

    Without an offset the time is taken as UTC (the database session's time zone, §Q9).
    Given ``now_us``, PostgreSQL's special words are read too (``now``, ``today``,
    ``tomorrow``, ``yesterday``, ``epoch``, any case), as the broker's subscription start
    does (seen on a live 0.15.1: ``subscriptionFrom=tomorrow`` starts in the future).
    """
    if now_us is not None:
        word = text.strip().lower()
        if word == "now":
            return now_us
        if word == "epoch":
            return 0
        if word in _WORDS:
            return now_us - now_us % _DAY_US + _WORDS[word] * _DAY_US
    m = _TS_RE.match(text)
    if not m:
        return None
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    try:
        d = datetime(
            int(year),
            int(month),
            int(day),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            int((frac or "0")[:6].ljust(6, "0")),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    if tz and tz[0] in "+-":
        digits = tz[1:].replace(":", "")
        hours = int(digits[:2]) if len(digits) >= 2 else int(digits)
        minutes = int(digits[2:4]) if len(digits) > 2 else 0
        if len(digits) == 3:
            hours, minutes = int(digits[0]), int(digits[1:])
        delta = timedelta(hours=hours, minutes=minutes)
        d = d - delta if tz[0] == "+" else d + delta
    return (d - _EPOCH) // timedelta(microseconds=1)
