"""``queue(...).dlq(group)``: dead-lettered messages, paged on the client (contract §4.7).

On 0.15 the broker ignores ``limit``, answers nothing for any ``offset`` ≥ 1 and ignores the
``partition``/``from``/``to`` filters (API §2.10, Q30-Q31), so the builder always asks from
offset 0 and filters and slices on its own side. This stays correct if a later broker
applies the filters itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

from .._defaults import DEFAULT_PARTITION
from .._errors import QueenServerError
from .._paths import query_string
from .._validate import int_option, timestamp_option
from ..types import DLQResponse

if TYPE_CHECKING:
    from .._client import Queen

__all__ = ["DLQBuilder"]


class DLQBuilder:
    def __init__(
        self, queen: Queen, queue: str, partition: str, consumer_group: Optional[str]
    ) -> None:
        self._queen = queen
        self._queue = queue
        self._partition = partition
        self._group = consumer_group
        self._limit = 100
        self._offset = 0
        self._from: Optional[str] = None
        self._to: Optional[str] = None

    def limit(self, n: int) -> DLQBuilder:
        """Entries per page (values below 1 mean 1)."""
        self._limit = max(1, int_option(n, "limit", minimum=None))
        return self

    def offset(self, n: int) -> DLQBuilder:
        """Entries to skip (values below 0 mean 0)."""
        self._offset = max(0, int_option(n, "offset", minimum=None))
        return self

    def from_(self, ts: Any) -> DLQBuilder:
        """An ISO-8601 string or a ``datetime``; sent, though the 0.15 broker ignores it."""
        self._from = timestamp_option(ts, "from_", where_parsed=False)
        return self

    def to(self, ts: Any) -> DLQBuilder:
        """An ISO-8601 string or a ``datetime``; sent, though the 0.15 broker ignores it."""
        self._to = timestamp_option(ts, "to", where_parsed=False)
        return self

    @property
    def path(self) -> str:
        """The request ``get()`` sends."""
        partition = self._partition if self._partition != DEFAULT_PARTITION else None
        return "/api/v1/dlq" + query_string(
            [
                ("queue", self._queue),
                ("limit", self._offset + self._limit),
                ("offset", 0),
                ("consumerGroup", self._group),
                ("partition", partition),
                ("from", self._from),
                ("to", self._to),
            ]
        )

    async def get(self) -> DLQResponse:
        """``{"messages": [...], "total": n, "pagination": {"limit", "offset"}}``.

        Raises typed errors for transport failures and error bodies (D12).
        """
        body = await self._queen._http.request("GET", self.path)
        if body is None:
            entries: List[Any] = []
        elif isinstance(body, dict) and "messages" in body:
            entries = body.get("messages") or []
        elif isinstance(body, dict) and body.get("value", 0) is None:
            entries = []  # the LIMIT/OFFSET quirk's empty answer
        else:
            error = body.get("error") if isinstance(body, dict) else None
            raise QueenServerError(str(error or f"Unexpected DLQ answer: {body!r}"), body=body)
        if self._partition != DEFAULT_PARTITION:
            entries = [e for e in entries if e.get("partition") == self._partition]
        return {
            "messages": entries[self._offset : self._offset + self._limit],
            "total": len(entries),
            "pagination": {"limit": self._limit, "offset": self._offset},
        }
