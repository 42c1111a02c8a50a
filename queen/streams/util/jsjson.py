"""JSON text exactly as JavaScript's ``JSON.stringify`` writes it.

The config hash of a stream (client contract §8.9) and the numbers in window state tags
must be byte-for-byte those of the JS and Go runtimes, so numbers follow ECMAScript's
``Number::toString``: an integral value has no fraction (``60``, not ``60.0``), other
values use the shortest round-trip digits, and very large or very small magnitudes switch
to exponent form (``1e+21``, ``1e-7``). Strings are written literally (no ``\\u`` escapes
for non-ASCII), with the escapes ``JSON.stringify`` uses. No whitespace anywhere.
"""

from __future__ import annotations

import math
from typing import Any, List

__all__ = ["js_number", "js_stringify"]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t"}
_SAFE_INT = 2**53


def js_number(value: Any) -> str:
    """``String(value)`` for a JS number built from a Python int or float.

    Non-finite values are written as ``null``, as ``JSON.stringify`` does.
    """
    if isinstance(value, int) and not isinstance(value, bool) and -_SAFE_INT < value < _SAFE_INT:
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "0"  # also -0, as in JS
    sign = "-" if x < 0 else ""
    # repr() gives the shortest round-trip digits, like JS; only the layout differs.
    mantissa, _, exp_text = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + (int(exp_text) if exp_text else 0)  # decimal point position
    zeros = len(digits) - len(digits.lstrip("0"))  # "0.00ddd": each leading zero moves it
    digits, point = digits[zeros:], point - zeros
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") \
            + str(abs(e))
    return sign + text


def _string(text: str, out: List[str]) -> None:
    out.append('"')
    for ch in text:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " " or "\ud800" <= ch <= "\udfff":
            # Control characters, and lone surrogates (well-formed JSON.stringify, ES2019).
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')


def _write(value: Any, out: List[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        _string(value, out)
    elif isinstance(value, (int, float)):
        out.append(js_number(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            _string(str(k), out)
            out.append(":")
            _write(v, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _write(v, out)
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def js_stringify(value: Any) -> str:
    """``JSON.stringify(value)`` for dicts, lists, strings, numbers, booleans and None."""
    out: List[str] = []
    _write(value, out)
    return "".join(out)
