"""``queen.transaction()``: acks and pushes committed atomically (contract §4.8, §5.10).

Builder calls only stage operations; ``commit()`` sends ``POST /api/v1/transaction``.
Transaction semantics differ from ``/ack`` and ``/push`` on the broker: a ``failed`` ack
dead-letters at once, a duplicate ``transactionId`` aborts the whole transaction, and
``retry`` is rejected (API §2.5, Q22).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Union, cast

from .._errors import QueenError, QueenServerError, QueenValidationError
from .._items import item_payload
from .._keyed import EXPLICIT_PARTITION, check_partition_count, item_key, key_partition
from .._paths import check_id, check_name
from .._speedups import dumps_payload, is_uuid
from ..types import TransactionResponse
from ._ids import MISSING_ID, MISSING_PARTITION, check_ack_args, message_address, status_text

if TYPE_CHECKING:
    from .._client import Queen

__all__ = ["TransactionBuilder", "TransactionQueueBuilder"]


class TransactionBuilder:
    """Stages the operations of one transaction."""

    def __init__(self, queen: Queen) -> None:
        self._queen = queen
        self.operations: List[Dict[str, Any]] = []
        self.required_leases: List[str] = []

    def ack(
        self,
        messages: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]],
        status: Union[str, bool] = "completed",
        context: Optional[Mapping[str, Any]] = None,
    ) -> TransactionBuilder:
        """One ``ack`` operation per message; the group comes from ``context``.

        Raises:
            QueenValidationError: a message without ``transactionId``/``id`` or
                ``partitionId`` (a ``ValueError``); QueenTypeError for a ``status`` or
                ``context`` of the wrong type.
        """
        check_ack_args(status, context)
        group = None
        if context:
            group = context.get("consumer_group", context.get("group"))
        wire_status = status_text(status)
        for message in messages if isinstance(messages, (list, tuple)) else [messages]:
            tx, partition_id, lease = message_address(message)
            if not tx:
                raise QueenValidationError(MISSING_ID)
            if not partition_id:
                raise QueenValidationError(MISSING_PARTITION)
            op: Dict[str, Any] = {
                "type": "ack",
                "transactionId": tx,
                "partitionId": partition_id,
                "status": wire_status,
            }
            if group:
                op["consumerGroup"] = group
            self.operations.append(op)
            if lease and lease not in self.required_leases:
                self.required_leases.append(lease)
        return self

    def queue(self, name: str) -> TransactionQueueBuilder:
        return TransactionQueueBuilder(self, check_name(name, "queue name"))

    @property
    def body(self) -> bytes:
        """The request body ``commit()`` sends."""
        return dumps_payload(
            {"operations": self.operations, "requiredLeases": self.required_leases}
        )

    async def commit(self) -> TransactionResponse:
        """Send the transaction; returns the broker answer when it reports success.

        Raises:
            QueenError: no operations were staged.
            QueenServerError: the broker rolled the transaction back (``body`` attached).
        """
        if not self.operations:
            raise QueenError("Transaction has no operations to commit")
        self._queen._ensure_open()
        result = await self._queen._http.request("POST", "/api/v1/transaction", body=self.body)
        if isinstance(result, dict) and result.get("success"):
            return cast(TransactionResponse, result)
        error = result.get("error") if isinstance(result, dict) else None
        raise QueenServerError(str(error or "Transaction failed"), body=result)


class TransactionQueueBuilder:
    """``.queue(name)[.partition(p)].push(items)`` inside a transaction."""

    def __init__(self, parent: TransactionBuilder, queue: str) -> None:
        self._parent = parent
        self._queue = queue
        self._partition: Optional[str] = None
        self._key_partitions: Optional[int] = None

    def partition(self, key: str) -> TransactionQueueBuilder:
        self._partition = check_name(key, "partition name")
        return self

    def keyed(self, partitions: int) -> TransactionQueueBuilder:
        """push(): each item goes to the partition its ``key`` maps to (``queen._keyed``)."""
        self._key_partitions = check_partition_count(partitions)
        return self

    def push(self, items: Union[Dict[str, Any], List[Dict[str, Any]]]) -> TransactionBuilder:
        """Stage one ``push`` operation and return the parent builder for chaining."""
        wire_items = []
        keyed = self._key_partitions
        if keyed is not None and self._partition is not None:
            raise QueenValidationError(EXPLICIT_PARTITION)
        for item in items if isinstance(items, list) else [items]:
            payload = item_payload(item)
            dumps_payload(payload)  # fail now, not at commit, if it has no JSON form
            wire: Dict[str, Any] = {"queue": self._queue, "payload": payload}
            if keyed is not None:
                wire["partition"] = key_partition(item_key(item), keyed)
            elif self._partition is not None:
                wire["partition"] = self._partition
            tx = item.get("transactionId")
            if tx:
                wire["transactionId"] = check_id(tx, "transactionId")
            trace = item.get("traceId")
            if trace is not None:
                if is_uuid(trace):
                    wire["traceId"] = trace
                else:
                    self._parent._queen._log.warning(
                        "TransactionBuilder.push", {"droppedTraceId": str(trace)}
                    )
            wire_items.append(wire)
        self._parent.operations.append({"type": "push", "items": wire_items})
        return self._parent
