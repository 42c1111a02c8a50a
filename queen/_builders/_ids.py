"""Reading message addresses for acks (client contract §3.3, Appendix A texts)."""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

__all__ = ["MISSING_ID", "MISSING_PARTITION", "message_address", "status_text"]

MISSING_ID = "Message must have transactionId or id property"
MISSING_PARTITION = "Message must have partitionId property to ensure message uniqueness"


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
