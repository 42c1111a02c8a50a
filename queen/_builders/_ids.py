"""Reading message addresses for acks (client contract §3.3, Appendix A texts)."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .._errors import QueenTypeError, QueenValidationError
from .._validate import describe

__all__ = [
    "MISSING_ID",
    "MISSING_PARTITION",
    "ack_address",
    "ack_entries",
    "check_ack_args",
    "message_address",
    "status_text",
]

MISSING_ID = "Message must have transactionId or id property"
MISSING_PARTITION = "Message must have partitionId property to ensure message uniqueness"


def check_ack_args(status: Any, context: Any, error: Any = None) -> None:
    """The types ``ack()`` and ``transaction().ack()`` take for their other arguments."""
    if not isinstance(status, (bool, str)):
        raise QueenTypeError(
            "ack status must be True, False or a status string ('completed', 'failed', "
            f"'retry', 'dlq'), got {describe(status)}"
        )
    if context is not None and not isinstance(context, Mapping):
        raise QueenTypeError(f"ack context must be a dict, got {describe(context)}")
    if error is not None and not isinstance(error, str):
        raise QueenTypeError(f"ack error must be a string, got {describe(error)}")


def message_address(message: Any) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """``(transactionId or id, partitionId, leaseId or None)`` of a message dict."""
    if not isinstance(message, dict):
        return None, None, None
    tx = message.get("transactionId") or message.get("id")
    lease = message.get("leaseId") or None
    return tx, message.get("partitionId"), lease


def status_text(status: Union[bool, str]) -> str:
    """``True`` → ``completed``, ``False`` → ``failed``, a string as is."""
    if status is True:
        return "completed"
    if status is False:
        return "failed"
    return str(status)


_get = dict.get
_has = dict.__contains__


def ack_entries(
    messages: Sequence[Any], status: Union[bool, str], error: Optional[str]
) -> List[Dict[str, Any]]:
    """The ``acknowledgments`` of ``POST /api/v1/ack/batch`` for ``messages``.

    A message may override the batch's status and error with ``_status`` / ``_error``.
    Raises :class:`QueenValidationError` (a ``ValueError``: ``MISSING_ID`` /
    ``MISSING_PARTITION``) for a message without an address. Messages are plain dicts (or
    the dict subclass ``pop()`` returns), so their fields are read with ``dict.get``
    directly: a batch of 100 is read 100 x 3 times.
    """
    text = status_text(status)
    acks: List[Dict[str, Any]] = []
    append = acks.append
    for message in messages:
        if not isinstance(message, dict):
            raise QueenValidationError(MISSING_ID)
        tx = _get(message, "transactionId") or _get(message, "id")
        if not tx:
            raise QueenValidationError(MISSING_ID)
        partition_id = _get(message, "partitionId")
        if not partition_id:
            raise QueenValidationError(MISSING_PARTITION)
        if _has(message, "_status") or _has(message, "_error"):
            item_text = status_text(_get(message, "_status", status))
            item_error = _get(message, "_error", error)
        else:
            item_text, item_error = text, error
        lease = _get(message, "leaseId")
        if lease:
            append({"transactionId": tx, "partitionId": partition_id, "status": item_text,
                    "error": item_error, "leaseId": lease})
        else:
            append({"transactionId": tx, "partitionId": partition_id, "status": item_text,
                    "error": item_error})
    return acks


def ack_address(message: Any) -> Dict[str, Any]:
    """``{"transactionId", "partitionId"}`` of a message as :func:`ack_entries` sends them
    (for reporting a refused ack by its position)."""
    if not isinstance(message, dict):
        return {"transactionId": None, "partitionId": None}
    return {
        "transactionId": _get(message, "transactionId") or _get(message, "id"),
        "partitionId": _get(message, "partitionId"),
    }
