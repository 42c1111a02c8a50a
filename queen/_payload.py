"""What a push payload may hold beyond "has a JSON form" (README "Payloads").

* No NUL character (U+0000) in any string, dict keys included. PostgreSQL's ``jsonb`` cannot
  store ``\\u0000``: the 0.15 broker answers such a push ``buffered``, parks the whole request
  (the valid items too) in its disk failover buffer and retries it forever, and it fails a
  transaction with ``unsupported Unicode escape sequence``.
* No NaN, Infinity or -Infinity floats (values or dict keys). JSON has no such numbers; orjson
  would write ``null`` and the reference client raises.

Both codec twins encode first and call :func:`check_encoded` only when the JSON bytes show a
possible fault, so a normal payload pays for a scan of its bytes and nothing else:

* a NUL is in the payload exactly when the JSON holds the escape ``\\u0000`` preceded by an
  even run of backslashes (``\\\\u0000`` is a backslash followed by the text ``u0000``);
* a non-finite float is written as ``null``, so without the bytes ``null`` there is none;
  with them (a ``None`` somewhere, or the word in a string) the payload is walked.

The walk also names the offending value's path: ``$`` is the payload, ``.key`` or
``["key"]`` a dict entry, ``[3]`` a list item.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, Iterator, List, Optional, Tuple

import orjson

from ._errors import QueenPayloadError

__all__ = [
    "NULL_TOKEN",
    "NUL_ESCAPE",
    "check_encoded",
    "has_nul_escape",
    "maybe_non_finite",
    "payload_fault",
]

NUL_ESCAPE = b"\\u0000"
NULL_TOKEN = b"null"

_NUL_WHY = "contains a NUL character (\\u0000), which the broker cannot store"
_NAN_WHY = "cannot be sent: JSON has no NaN or Infinity"
_NAMES = {math.inf: "Infinity", -math.inf: "-Infinity"}


def has_nul_escape(encoded: bytes) -> bool:
    """Whether JSON ``encoded`` holds a real ``\\u0000`` escape (not an escaped backslash)."""
    at = encoded.find(NUL_ESCAPE)
    while at >= 0:
        run = 0
        while at - run > 0 and encoded[at - run - 1] == 0x5C:  # '\'
            run += 1
        if run % 2 == 0:
            return True
        at = encoded.find(NUL_ESCAPE, at + 1)
    return False


_PLAIN = frozenset({str, int, bool, type(None)})


def maybe_non_finite(value: Any, depth: int = 0) -> bool:
    """False when ``value`` surely holds no NaN/Infinity float (values or keys).

    A quick pre-check: exact dicts, lists and tuples are walked, exact str, int, bool and
    None are fine, and any other object (a subclass, a dataclass, an enum...) is a maybe for
    :func:`check_encoded` to settle. The compiled twin has the same walk in C.
    """
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind in _PLAIN:
        return False
    if depth > 500:
        return True
    if kind is dict:
        for key in value:
            if type(key) is not str and maybe_non_finite(key, depth + 1):
                return True
        children: Any = value.values()
    elif kind is list or kind is tuple:
        children = value
    else:
        return True
    for child in children:
        kind = type(child)
        if kind in _PLAIN:
            continue
        if kind is float:
            if not math.isfinite(child):
                return True
        elif maybe_non_finite(child, depth + 1):
            return True
    return False


def _key_step(key: Any) -> str:
    if isinstance(key, str):
        if key.isidentifier():
            return "." + key
        return "[" + orjson.dumps(key).decode() + "]"
    return f"[{key!r}]"


def _children(value: Any) -> Iterator[Tuple[str, Any, Any]]:
    """``(step, key, child)`` in the order orjson writes them; ``key`` is None for items."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield _key_step(key), key, child
    elif isinstance(value, (list, tuple)):
        for i, child in enumerate(value):
            yield f"[{i}]", None, child
    elif isinstance(value, enum.Enum):
        yield "", None, value.value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield "." + field.name, None, getattr(value, field.name)


def _non_finite(value: Any) -> Optional[str]:
    if isinstance(value, float) and not math.isfinite(value):
        return _NAMES.get(value, "NaN")
    return None


def payload_fault(
    payload: Any, *, nul: bool = True, non_finite: bool = True
) -> Optional[Tuple[str, str]]:
    """The first fault in document order as ``(path, description)``, or None.

    ``nul`` / ``non_finite`` choose what is looked for.
    """
    stack: List[Tuple[str, Any]] = [("$", payload)]
    while stack:
        path, value = stack.pop()
        if nul and isinstance(value, str) and "\x00" in value:
            return path, f"the string at {path} {_NUL_WHY}"
        if non_finite:
            name = _non_finite(value)
            if name is not None:
                return path, f"{name} at {path} {_NAN_WHY}"
        pending: List[Tuple[str, Any]] = []
        for step, key, child in _children(value):
            if key is not None:
                if nul and isinstance(key, str) and "\x00" in key:
                    return path, f"the key {key!r} at {path} {_NUL_WHY}"
                name = _non_finite(key) if non_finite else None
                if name is not None:
                    return path, f"the key {name} at {path} {_NAN_WHY}"
            pending.append((path + step, child))
        stack.extend(reversed(pending))
    return None


def check_encoded(payload: Any, encoded: bytes, index: Optional[int],
                  what: str = "push item") -> None:
    """Raise :class:`QueenPayloadError` if ``payload`` (encoded as ``encoded``) breaks a rule.

    The message names ``what`` with its ``index`` (when not None) and the path of the value.
    """
    nul = NUL_ESCAPE in encoded and has_nul_escape(encoded)
    non_finite = NULL_TOKEN in encoded
    if not (nul or non_finite):
        return
    fault = payload_fault(payload, nul=nul, non_finite=non_finite)
    if fault is None and nul:
        # Only a raw JSON fragment (orjson.Fragment) can carry an escape the walk cannot see.
        fault = ("$", f"the payload {_NUL_WHY}")
    if fault is not None:
        path, description = fault
        label = what if index is None else f"{what} {index}"
        raise QueenPayloadError(f"{label}: {description}", index=index, path=path)
