"""The ``Queen(...)`` configuration: merged, checked, and its URLs normalised (contract §3.1).

Built in the contract's order: a copy of ``CLIENT_DEFAULTS``, the positional config (a URL, a
list of URLs or a dict), then every keyword that is not None. Every option is then checked
once, here, so a mistake raises from the constructor (naming the option and the value)
instead of failing later inside a request or a worker. Unknown keys of a config dict were
kept silently by the reference client; they are still accepted, with one warning per key.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ._balancer import STRATEGIES
from ._defaults import CLIENT_DEFAULTS
from ._errors import QueenTypeError, QueenValidationError
from ._logging import ClientLogger
from ._validate import (
    bool_option,
    describe,
    int_option,
    mapping_option,
    path_option,
    str_option,
    warn_once,
)

__all__ = [
    "KNOWN_OPTIONS",
    "check_url",
    "client_config",
    "request_headers",
    "warn_unknown_options",
]

# Options beyond CLIENT_DEFAULTS that Queen() takes (keywords or config-dict keys).
_EXTRA_OPTIONS = (
    "urls",
    "url",
    "transport",
    "http2_prior_knowledge",
    "tls_ca_bundle",
    "tls_client_cert",
    "tls_client_key",
    "tls_insecure_skip_verify",
)
KNOWN_OPTIONS = frozenset(CLIENT_DEFAULTS) | frozenset(_EXTRA_OPTIONS)

_INT_MINIMUM = {
    "timeout_millis": 1,
    "retry_attempts": 0,  # 0 still makes one attempt, as before
    "retry_delay_millis": 0,
    "affinity_hash_ring": 1,
    "health_retry_after_millis": 0,
}
_BOOLS = ("enable_failover", "handle_signals", "retry_429")
_OPTIONAL_BOOLS = ("http2_prior_knowledge", "tls_insecure_skip_verify")
_PATHS = ("tls_ca_bundle", "tls_client_cert", "tls_client_key")
# RFC 9110 token characters: what a header name may hold.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _normalise(config: Any) -> Dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, str):
        return {"urls": [config]}
    if isinstance(config, (list, tuple)):
        return {"urls": list(config)}
    if isinstance(config, Mapping):
        return dict(config)
    raise QueenTypeError(
        "Queen() takes a URL string, a list of URLs or a config dict, "
        f"got {describe(config)}"
    )


def check_url(url: Any) -> str:
    """A broker base URL, checked and normalised (lower-case scheme, no trailing slash)."""
    if not isinstance(url, str):
        raise QueenTypeError(f"broker URLs must be strings, got {describe(url)}")
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        hint = f"; did you mean 'http://{url}'?" if not sep and url else ""
        raise QueenValidationError(
            f"invalid broker URL {url!r}: it must start with http:// or https://{hint}"
        )
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise QueenValidationError(f"invalid broker URL {url!r}: it holds a space or control")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise QueenValidationError(f"invalid broker URL {url!r}: {exc}") from None
    if not parts.hostname:
        raise QueenValidationError(f"invalid broker URL {url!r}: no host")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise QueenValidationError(
            f"invalid broker URL {url!r}: a base URL takes no query or fragment"
        )
    return scheme.lower() + url[len(scheme):].rstrip("/")


def _urls(config: Dict[str, Any]) -> List[str]:
    if config.get("urls") is not None:
        urls = config["urls"]
        if isinstance(urls, str) or not isinstance(urls, (list, tuple)):
            raise QueenTypeError(f"urls must be a list of URLs, got {describe(urls)}")
        if not urls:
            raise QueenValidationError("urls must be a non-empty list of URLs")
        urls = list(urls)
    elif config.get("url") is not None:
        urls = [config["url"]]
    else:
        raise QueenValidationError("Must provide urls or url in configuration")
    return [check_url(u) for u in urls]


def _headers(value: Any) -> Dict[str, str]:
    if value is None:
        return {}
    headers = mapping_option(value, "headers")
    out: Dict[str, str] = {}
    for name, text in headers.items():
        if not isinstance(name, str) or not name or not _TOKEN.issuperset(name):
            raise QueenValidationError(f"headers: invalid header name {describe(name)}")
        if not isinstance(text, str):
            raise QueenTypeError(
                f"headers: the value of {name!r} must be a string, got {describe(text)}"
            )
        if any(ch in "\r\n\0" for ch in text) or (not text.isascii() and not _latin1(text)):
            raise QueenValidationError(
                f"headers: the value of {name!r} holds a line break, NUL or a character "
                "outside Latin-1"
            )
        out[name] = text
    return out


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _logger(value: Any) -> Any:
    if value is None or isinstance(value, (logging.Logger, logging.LoggerAdapter)):
        return value
    has = [callable(getattr(value, m, None)) for m in ("info", "error", "warning", "warn")]
    if not (has[0] and has[1] and (has[2] or has[3])):
        raise QueenTypeError(
            "logger must be a logging.Logger, a LoggerAdapter or an object with info, error "
            f"and warning (or warn) methods, got {describe(value)}"
        )
    return value


def client_config(config: Any, keywords: Mapping[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """The checked configuration and the unknown keys the config dict carried.

    Raises:
        QueenTypeError / QueenValidationError: an option of the wrong type or out of range,
            a missing or malformed URL.
    """
    merged: Dict[str, Any] = {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in CLIENT_DEFAULTS.items()
    }
    positional = _normalise(config)
    unknown = [k for k in positional if k not in KNOWN_OPTIONS]
    merged.update(positional)
    merged.update({k: v for k, v in keywords.items() if v is not None})
    merged["urls"] = _urls(merged)
    for name, minimum in _INT_MINIMUM.items():
        merged[name] = int_option(merged[name], name, minimum=minimum)
    for name in _BOOLS:
        merged[name] = bool_option(merged[name], name)
    for name in _OPTIONAL_BOOLS:
        if merged.get(name) is not None:
            bool_option(merged[name], name)
    for name in _PATHS:
        if merged.get(name) is not None:
            merged[name] = path_option(merged[name], name)
    strategy = merged["load_balancing_strategy"]
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise QueenValidationError(
            f"load_balancing_strategy must be one of {', '.join(STRATEGIES)}, "
            f"got {describe(strategy)}"
        )
    if merged["bearer_token"] is not None:
        str_option(merged["bearer_token"], "bearer_token", allow_empty=True)
    merged["headers"] = _headers(merged["headers"])
    merged["logger"] = _logger(merged["logger"])
    transport = merged.get("transport")
    if transport is not None and not (
        callable(getattr(transport, "send", None)) and callable(getattr(transport, "aclose", None))
    ):
        raise QueenTypeError(
            f"transport must have async send() and aclose() methods, got {describe(transport)}"
        )
    return merged, unknown


def request_headers(config: Mapping[str, Any]) -> Dict[str, str]:
    """The headers every request carries: the bearer token, then the custom headers (a
    custom header replaces ours whatever its spelling: names are case-insensitive)."""
    headers: Dict[str, str] = {}
    if config["bearer_token"]:
        headers["Authorization"] = f"Bearer {config['bearer_token']}"
    for name, value in config["headers"].items():
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value
    return headers


def warn_unknown_options(unknown: List[str], log: Optional[ClientLogger]) -> None:
    for key in unknown:
        close = difflib.get_close_matches(str(key), sorted(KNOWN_OPTIONS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        warn_once(
            "Queen.constructor",
            key,
            f"Queen() ignores the unknown option {key!r}{hint}",
            log,
            stacklevel=4,
        )
