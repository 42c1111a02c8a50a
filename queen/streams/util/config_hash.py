"""``config_hash``: the fingerprint of a stream's operator chain (client contract §8.9).

The broker refuses to resume a query whose chain changed shape unless ``reset=True`` is
passed, because the stored state would be read by a different chain. The hash covers each
operator's kind and structural options (window sizes, aggregate fields, the sink queue...),
never user functions, and it must equal the one the JS and Go runtimes compute for the same
chain, byte for byte: ``sha256(JSON.stringify([{kind, ...config}, ...]))`` in lowercase hex.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Iterable, List

from .jsjson import js_stringify

__all__ = ["canonical_chain", "config_hash_of"]


def _describe(op: Any) -> Dict[str, Any]:
    config = getattr(op, "config", None)
    # "kind" first; a "kind" inside the config replaces its value without moving it.
    out: Dict[str, Any] = {"kind": op.kind}
    if isinstance(config, dict):
        out.update(config)
    return out


def canonical_chain(operators: Iterable[Any]) -> str:
    """The JSON text that is hashed: one object per operator, JS number formatting."""
    parts: List[Dict[str, Any]] = [_describe(op) for op in operators]
    return js_stringify(parts)


def config_hash_of(operators: Iterable[Any]) -> str:
    """The lowercase hex SHA-256 of :func:`canonical_chain` (64 characters, no prefix)."""
    return hashlib.sha256(canonical_chain(operators).encode("utf-8")).hexdigest()
