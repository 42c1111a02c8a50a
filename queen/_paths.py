r"""Names in URL paths and values in query strings (client contract D17, API §1.2, Q15).

One rule for every name (queue, partition, consumer group, namespace, task), in every
position, checked at the first call that takes it: what a 0.15 broker can address in a URL
path. The broker never percent-decodes a path segment, so names travel raw, as UTF-8, and a
name is addressable exactly when its raw form survives the request line (found on a live
0.15.1 broker; ``tests/e2e/test_names.py`` keeps the finding):

* non-ASCII text (``ümlaut``, ``日本``, emoji) and every printable ASCII character except
  ``/`` and ``?`` work in every position, ``#``, ``%`` (taken literally), ``"`` and ``\``
  included;
* ``/`` splits the segment (404) and ``?`` starts the query (the name is cut there);
* a space, a tab or another C0 control character breaks the request line (505); DEL,
  which the broker happens to take, is refused with the other controls;
* more than 255 characters do not fit the broker's ``VARCHAR(255)``: the broker answers
  such a push ``buffered`` and retries it forever, and its NUL character likewise.

Query values are always percent-encoded (``+`` included, since the broker decodes ``+`` to
a space).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Set, Tuple
from urllib.parse import quote

from ._errors import QueenTypeError, QueenValidationError
from ._validate import describe

__all__ = ["MAX_NAME_LENGTH", "check_id", "check_name", "query_string", "segment"]

MAX_NAME_LENGTH = 255  # VARCHAR(255) on the broker
# "/" and "?" end a path segment; controls and spaces end the request line.
_FORBIDDEN = frozenset("/?" + "".join(map(chr, range(0x21))) + "\x7f")


# Names already checked: a producer or consumer names the same few queues on every call.
_CHECKED: Set[str] = set()
_CHECKED_MAX = 4096


def check_name(value: Any, what: str) -> str:
    """``value`` if it is a name the broker can address everywhere (see the module docstring).

    Raises:
        QueenTypeError: not a string.
        QueenValidationError: empty, longer than 255 characters, or holding a character
            that cannot appear raw in a URL path segment.
    """
    if type(value) is str and value in _CHECKED:
        return value
    if not isinstance(value, str):
        raise QueenTypeError(f"{what} must be a string, got {describe(value)}")
    if not value:
        raise QueenValidationError(f"{what} must be a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise QueenValidationError(
            f"{what} is longer than {MAX_NAME_LENGTH} characters ({len(value)}): {value[:40]!r}..."
        )
    if not _FORBIDDEN.isdisjoint(value) or (not value.isascii() and _has_surrogate(value)):
        bad = "".join(sorted({ch for ch in value if ch in _FORBIDDEN or _surrogate(ch)}))
        raise QueenValidationError(
            f"{what} {value!r} contains {bad!r}: the broker addresses names raw in URL paths, "
            "where '/', '?', spaces and control characters cannot appear"
        )
    if len(_CHECKED) < _CHECKED_MAX:
        _CHECKED.add(value)
    return value


def _surrogate(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


def _has_surrogate(value: str) -> bool:
    # Lone surrogates have no UTF-8 form. Other non-ASCII characters, unprintable ones
    # (U+2028, U+00A0 ...) included, travel as their UTF-8 bytes, which the broker takes.
    return any(_surrogate(ch) for ch in value)


def check_id(value: Any, what: str) -> str:
    """A client-chosen id that travels in bodies only (a push item's ``transactionId``): any
    non-empty string of at most 255 characters, as for a plain push (the path rule of
    :func:`check_name` is not for ids)."""
    if not isinstance(value, str):
        raise QueenTypeError(f"{what} must be a string, got {describe(value)}")
    if not value or len(value) > MAX_NAME_LENGTH:
        raise QueenValidationError(
            f"{what} must be a string of 1 to {MAX_NAME_LENGTH} characters, got {value[:40]!r}"
            + ("..." if len(value) > 40 else "")
        )
    return value


def segment(value: Any, what: str) -> str:
    """``value`` as a raw path segment (:func:`check_name`'s rule)."""
    return check_name(value, what)


def query_string(params: Iterable[Tuple[str, Optional[Any]]]) -> str:
    """``?k=v&...`` of the pairs whose value is not None (``""`` when none remain).

    Booleans become ``true``/``false``; every value is percent-encoded.
    """
    parts = []
    for key, value in params:
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{key}={quote(text, safe='')}")
    return "?" + "&".join(parts) if parts else ""
