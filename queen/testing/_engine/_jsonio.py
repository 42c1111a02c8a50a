"""JSON in and out, and the three ways a handler can fail.

Bodies are parsed with orjson; a parse failure is reported in the format of the server's JSON
library (nlohmann/json), which the broker copies into ``Invalid JSON: ...`` (spec §1.2). The
exact column/"last read" text cannot match byte for byte; the prefix
``[json.exception.parse_error.101] parse error`` does. Output is serialised with sorted keys,
as the server's JSON library sorts object keys.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import orjson

__all__ = [
    "BadRequest",
    "DbFailure",
    "HandlerFailure",
    "dumps",
    "parse_body",
    "type_error",
    "type_name",
]

_SORT = orjson.OPT_SORT_KEYS
_MISSING: Any = object()


def dumps(obj: Any) -> bytes:
    """Serialise with alphabetically sorted keys."""
    return orjson.dumps(obj, option=_SORT)


class BadRequest(Exception):
    """An immediate ``400 {"error": message}`` (route validation)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HandlerFailure(Exception):
    """An exception inside a route handler: immediate ``500 {"error": message}`` (§1.5)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DbFailure(Exception):
    """The database call failed: a deferred body (wire 200, intended 500, §1.4)."""

    def __init__(self, body: Dict[str, Any]) -> None:
        super().__init__(body.get("error"))
        self.body = body

    @classmethod
    def sql(cls, message: str) -> DbFailure:
        """The ``{"error": ..., "success": false}`` body most routes build from a SQL error."""
        return cls({"error": message, "success": False})

    @classmethod
    def bad_uuid_parameter(cls, value: str) -> DbFailure:
        """A non-UUID path id bound as a statement parameter; PostgreSQL's error context
        shows the parameter as ``'...'``, not its value."""
        return cls.sql(f'ERROR:  invalid input syntax for type uuid: "{value}"\n'
                       "CONTEXT:  unnamed portal parameter $1 = '...'\n")


def type_name(value: Any) -> str:
    """nlohmann's ``type_name()`` for a parsed JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def type_error(expected: str, value: Any) -> HandlerFailure:
    """``[json.exception.type_error.302] type must be <expected>, but is <actual>``."""
    return HandlerFailure(
        f"[json.exception.type_error.302] type must be {expected}, but is {type_name(value)}"
    )


def value_error(container: Any) -> HandlerFailure:
    """``.value()`` called on a non-object: ``type_error.306``."""
    return HandlerFailure(
        f"[json.exception.type_error.306] cannot use value() with {type_name(container)}"
    )


def _parse_error(text: str, exc: orjson.JSONDecodeError) -> str:
    pos = getattr(exc, "pos", 0) or 0
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    if not text.strip():
        return (
            f"[json.exception.parse_error.101] parse error at line {line}, column {col}: "
            "syntax error while parsing value - unexpected end of input; "
            "expected '[', '{', or a literal"
        )
    start = pos
    while start > 0 and text[start - 1] not in " \t\r\n,:[]{}":
        start -= 1
    last = text[start : pos + 1]
    return (
        f"[json.exception.parse_error.101] parse error at line {line}, column {col}: "
        f"syntax error while parsing value - invalid literal; last read: '{last}'"
    )


def parse_body(body: bytes) -> Any:
    """The request body as JSON, or :class:`BadRequest` with the server's texts (§1.2)."""
    if not body:
        raise BadRequest("Empty request body")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        text = body.decode("utf-8", "replace")
        raise BadRequest("Invalid JSON: " + _parse_error(text, exc)) from None


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` when ``obj`` is an object that has it, else ``default``."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    return default


def str_or(obj: Any, key: str, default: Optional[str]) -> Optional[str]:
    """A string field or ``default`` when absent or of another type."""
    value = get(obj, key, _MISSING)
    return value if isinstance(value, str) else default


def value_str(obj: Any, key: str, default: str) -> str:
    """nlohmann ``obj.value(key, default)`` for a string: a wrong type throws (500)."""
    if not isinstance(obj, dict):
        raise value_error(obj)
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return default
    if not isinstance(value, str):
        raise type_error("string", value)
    return value
