"""Names in URL paths and values in query strings (client contract D17, API §1.2, Q15).

The 0.15 broker never percent-decodes path segments, so a name can only be addressed in a
path if it needs no escaping. Characters legal in a URI path segment (RFC 3986 unreserved,
sub-delims, ``:`` and ``@``) are sent as they are; any other character makes the name
unaddressable and raises before a request is sent. Query values are always percent-encoded
(``+`` included, since the broker decodes ``+`` to a space).
"""

from __future__ import annotations

import string
from typing import Any, Iterable, Optional, Tuple
from urllib.parse import quote

from ._errors import QueenValidationError

__all__ = ["check_name", "query_string", "segment"]

_SEGMENT_CHARS = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@")
MAX_NAME_LENGTH = 255  # VARCHAR(255) on the broker


def check_name(value: Any, what: str) -> str:
    """A queue/partition/group name for a request body: a non-empty str of ≤ 255 chars."""
    if not isinstance(value, str) or not value:
        raise QueenValidationError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME_LENGTH:
        raise QueenValidationError(
            f"{what} is longer than {MAX_NAME_LENGTH} characters ({len(value)})"
        )
    return value


def segment(value: Any, what: str) -> str:
    """``value`` as a path segment, or :class:`QueenValidationError` if it cannot be one."""
    check_name(value, what)
    bad = sorted({ch for ch in value if ch not in _SEGMENT_CHARS})
    if bad:
        raise QueenValidationError(
            f"{what} {value!r} contains {''.join(bad)!r}: the 0.15 broker does not decode "
            "path segments, so such a name cannot be addressed in a URL path; use letters, "
            "digits and -._~!$&'()*+,;=:@ only"
        )
    return value


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
