"""Checks of the values users pass, where they pass them.

Every public entry point checks its arguments when it is called, before anything is staged
or sent, so a mistake surfaces at the line that made it rather than inside a worker later.
A value of the wrong type raises :class:`QueenTypeError` (also a ``TypeError``), a value of
the right type outside its range :class:`QueenValidationError` (also a ``ValueError``); the
message names the option and shows the value. Input that the reference client accepted and
that the broker silently ignores is let through with one warning per distinct value
(:func:`warn_once`), so code written for the reference keeps running.
"""

from __future__ import annotations

import datetime
import operator
import os
import re
import threading
import warnings
from typing import Any, Callable, Mapping, Optional, Set, Tuple

from ._errors import QueenTypeError, QueenValidationError
from ._logging import ClientLogger

__all__ = [
    "bool_option",
    "callable_option",
    "describe",
    "int_option",
    "mapping_option",
    "optional_int",
    "path_option",
    "str_option",
    "timestamp_option",
    "warn_once",
]

def describe(value: Any) -> str:
    """``value`` for an error message: its repr (shortened) and, for non-strings, its type."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return text
    return f"{text} ({type(value).__name__})"


def int_option(value: Any, option: str, *, minimum: Optional[int] = 0) -> int:
    """An integer (an integral float is accepted and converted, as the reference sent them)."""
    if type(value) is int and (minimum is None or value >= minimum):
        return value  # the common case, first: builders call this per message
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        raise QueenTypeError(f"{option} must be an integer, got {describe(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise QueenValidationError(f"{option} must be a whole number, got {value!r}")
        number = int(value)
    else:
        try:
            number = operator.index(value)  # int and int-likes (numpy integers ...)
        except TypeError:
            raise QueenTypeError(
                f"{option} must be an integer, got {describe(value)}"
            ) from None
    if minimum is not None and number < minimum:
        raise QueenValidationError(f"{option} must be >= {minimum}, got {value!r}")
    return number


def optional_int(value: Any, option: str, *, minimum: Optional[int] = 0) -> Optional[int]:
    """:func:`int_option`, or None."""
    return None if value is None else int_option(value, option, minimum=minimum)


def bool_option(value: Any, option: str) -> bool:
    """``True`` or ``False`` only: ``"false"`` or ``0`` passed by mistake would be truthy or
    silently mean something else."""
    if value is True or value is False:
        return value
    raise QueenTypeError(f"{option} must be True or False, got {describe(value)}")


def str_option(value: Any, option: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise QueenTypeError(f"{option} must be a string, got {describe(value)}")
    if not value and not allow_empty:
        raise QueenValidationError(f"{option} must not be empty")
    return value


def path_option(value: Any, option: str) -> str:
    """A file-system path (``str`` or ``os.PathLike``) as a string."""
    if isinstance(value, str):
        if not value:
            raise QueenValidationError(f"{option} must not be empty")
        return value
    if isinstance(value, os.PathLike):
        return os.fsdecode(value)
    raise QueenTypeError(f"{option} must be a path (str or os.PathLike), got {describe(value)}")


def callable_option(value: Any, option: str) -> Callable[..., Any]:
    if not callable(value):
        raise QueenTypeError(f"{option} must be callable, got {describe(value)}")
    return value


def mapping_option(value: Any, option: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise QueenTypeError(f"{option} must be a dict, got {describe(value)}")
    return value


_warned: Set[Tuple[str, str]] = set()
_warned_lock = threading.Lock()


def warn_once(what: str, value: Any, message: str, log: Optional[ClientLogger] = None, *,
              stacklevel: int = 3) -> None:
    """Warn about ``value`` of ``what`` once per process: a ``UserWarning`` pointing at the
    caller's line (``stacklevel`` frames up) and a WARNING record on the client's logger."""
    key = (what, repr(value))
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    (log or ClientLogger()).warning(what, message)
    warnings.warn(message, UserWarning, stacklevel=stacklevel)


# What the broker's timestamp parser (PostgreSQL's) takes besides ISO 8601.
_SPECIAL_TIMES = frozenset({"now", "today", "tomorrow", "yesterday", "epoch"})
_ISO_8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"(?:Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


def timestamp_option(value: Any, option: str, log: Optional[ClientLogger] = None, *,
                     where_parsed: bool = True) -> str:
    """A timestamp for the broker: a ``datetime`` (naive means UTC) becomes ISO 8601 UTC; a
    string is sent as given. Where the broker parses it (``where_parsed``: a subscription
    start) a string that is neither ISO 8601 nor one of the words the broker's parser knows
    is warned about, since the broker ignores what it cannot parse."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    if not isinstance(value, str):
        raise QueenTypeError(
            f"{option} must be an ISO-8601 string or a datetime, got {describe(value)}"
        )
    if (
        where_parsed
        and value.strip().lower() not in _SPECIAL_TIMES
        and _ISO_8601.fullmatch(value) is None
    ):
        warn_once(
            option,
            value,
            f"{option} {value!r} is not 'now' or an ISO-8601 timestamp: the broker ignores a "
            "timestamp it cannot parse (a consumer group then starts at the oldest message)",
            log,
            stacklevel=4,
        )
    return value
