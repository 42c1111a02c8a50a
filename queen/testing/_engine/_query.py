"""Query-string handling exactly as the 0.15 broker does it (spec §1.2, Q15).

The server finds a parameter by a naive substring search for ``<name>=`` in the raw query
string (first match wins, so ``?xbatch=4`` sets ``batch``), percent-decodes the value, turns
``+`` into a space, parses integers like ``std::stoi`` (``"10abc"`` → 10, unparsable → the
default) and treats only ``true`` and ``1`` as true.
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import unquote_to_bytes

__all__ = ["get_bool", "get_int", "get_param", "percent_decode", "stoi"]

_INT_RE = re.compile(r"^[ \t\n\v\f\r]*([+-]?\d+)")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def percent_decode(raw: str) -> str:
    """Decode ``%XX`` escapes and ``+`` (undecodable bytes become U+FFFD)."""
    if "%" not in raw and "+" not in raw:
        return raw
    return unquote_to_bytes(raw.replace("+", " ")).decode("utf-8", "replace")


def get_param(query: str, name: str) -> Optional[str]:
    """The decoded value of ``name`` or ``None`` when the text ``name=`` is absent."""
    if not query:
        return None
    needle = name + "="
    at = query.find(needle)
    if at < 0:
        return None
    start = at + len(needle)
    end = query.find("&", start)
    raw = query[start:] if end < 0 else query[start:end]
    return percent_decode(raw)


def stoi(text: str) -> Optional[int]:
    """``std::stoi``: leading whitespace, sign, digits; ``None`` where it would throw."""
    m = _INT_RE.match(text)
    if not m:
        return None
    value = int(m.group(1))
    if value < _INT_MIN or value > _INT_MAX:
        return None
    return value


def get_int(query: str, name: str, default: int) -> int:
    """Lenient integer parameter (§1.2: ``batch=2abc`` → 2, ``batch=abc`` → default)."""
    raw = get_param(query, name)
    if raw is None:
        return default
    value = stoi(raw)
    return default if value is None else value


def get_bool(query: str, name: str, default: bool = False) -> bool:
    """Boolean parameter: true only for exactly ``true`` or ``1`` when present."""
    raw = get_param(query, name)
    if raw is None:
        return default
    return raw in ("true", "1")
