"""The payload rule of user push items (client contract §4.4, §4.8).

Shared by the pure push encoder and transactional pushes; the compiled encoder inlines the
same rule (and its tests pin it to the pure twin).
"""

from __future__ import annotations

from typing import Any

from ._errors import QueenValidationError

__all__ = ["item_payload"]


def item_payload(item: Any) -> Any:
    """``item["data"]`` if the key exists (even when None), else ``item["payload"]`` if that
    key exists, else the whole item dict. Non-dict items raise QueenValidationError."""
    if not isinstance(item, dict):
        raise QueenValidationError(f"push items must be dicts, got {type(item).__name__}")
    if "data" in item:
        return item["data"]
    if "payload" in item:
        return item["payload"]
    return item
