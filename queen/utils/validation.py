"""``queen.utils.validation`` of queen-mq 0.15, with queen-turbo's rules.

The checks raise :class:`queen.QueenValidationError` (a ``ValueError``, as the reference's
did) and apply the rules the client itself applies: a queue name is any name the broker can
address (see :mod:`queen._paths`; the reference stripped surrounding spaces, which the
broker cannot address in a URL path at all), a URL must be ``http://`` or ``https://`` with
a host, and a UUID may be of any version (client contract D4; the reference knew v4 only).
"""

from __future__ import annotations

from typing import Any, List

from .._config import check_url
from .._errors import QueenTypeError, QueenValidationError
from .._paths import check_name
from .._speedups import is_uuid
from .._validate import describe

__all__ = ["is_valid_uuid", "validate_queue_name", "validate_url", "validate_urls"]


def is_valid_uuid(s: Any) -> bool:
    """True for a canonical 8-4-4-4-12 hex UUID string of any version and case."""
    return is_uuid(s)


def validate_queue_name(name: Any) -> str:
    """``name`` if the broker can address it as a queue name."""
    return check_name(name, "queue name")


def validate_url(url: Any) -> str:
    """``url`` as a broker base URL (lower-case scheme, no trailing slash)."""
    return check_url(url)


def validate_urls(urls: Any) -> List[str]:
    """Every URL of a non-empty list, validated as by :func:`validate_url`."""
    if not isinstance(urls, list):
        raise QueenTypeError(f"URLs must be a non-empty list, got {describe(urls)}")
    if not urls:
        raise QueenValidationError("URLs must be a non-empty list")
    return [check_url(url) for url in urls]
