"""``queen.queue(name)``: the fluent builder behind every queue operation (contract §4.2).

Setters change the builder in place and return it; they do no I/O. ``push``, ``consume``,
``create`` and ``delete`` snapshot the state when called; ``pop`` and ``flush_buffer`` are the
coroutines that talk to the broker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Type, Union

from .._defaults import CONSUME_DEFAULTS, DEFAULT_PARTITION, QUEUE_DEFAULTS, QUEUE_MODE
from .._errors import QueenServerError, QueenUnsupportedError
from .._message import Message
from .._options import queue_options_body
from .._paths import check_name, query_string, segment
from .._speedups import decode_pop
from .._transport import RawResponse
from ._dlq import DLQBuilder
from ._operation import OperationBuilder
from ._push import PushBuilder

if TYPE_CHECKING:
    from .._client import Queen
    from ._consume import ConsumeBuilder

__all__ = ["EMPTY_POP_ERRORS", "QueueBuilder", "pop_path"]

#: In-band pop "errors" that mean "nothing for you right now" (API §2.2).
EMPTY_POP_ERRORS = frozenset({"no_available_partition", "lease_held", "partition_not_found"})

NAMESPACE_POP_UNSUPPORTED = (
    "Popping by namespace/task needs GET /api/v1/pop, which the 0.15 broker does not serve; "
    "name the queue instead"
)


def pop_path(
    queue: Optional[str],
    partition: Optional[str],
    namespace: Optional[str] = None,
    task: Optional[str] = None,
) -> str:
    """The pop route for ``queue`` (and a partition other than ``Default``).

    Without a queue, a namespace/task pop raises :class:`QueenUnsupportedError` (the 0.15
    broker has no ``GET /api/v1/pop``, D17) and nothing at all raises ``ValueError``.
    """
    if not queue:
        if namespace or task:
            raise QueenUnsupportedError(NAMESPACE_POP_UNSUPPORTED)
        raise ValueError("Must specify queue, namespace, or task for pop operation")
    path = "/api/v1/pop/queue/" + segment(queue, "queue name")
    if partition is not None and partition != DEFAULT_PARTITION:
        path += "/partition/" + segment(partition, "partition name")
    return path


def affinity_key(queue: Optional[str], partition: Optional[str], group: Optional[str]) -> str:
    """The routing key of a pop (contract §5.6): ``pop()`` passes its partition, ``Default``
    by default, while ``consume()`` passes None for it, which becomes ``*``."""
    return f"{queue}:{partition or '*'}:{group or QUEUE_MODE}"


class QueueBuilder:
    """Fluent builder for one queue (``name`` may be None for namespace/task use)."""

    def __init__(self, queen: Queen, name: Optional[str] = None) -> None:
        self._queen = queen
        self._queue_name = name
        self._partition = DEFAULT_PARTITION
        self._namespace: Optional[str] = None
        self._task: Optional[str] = None
        self._group: Optional[str] = None
        self._config: Dict[str, Any] = {}
        self._concurrency: int = CONSUME_DEFAULTS["concurrency"]
        self._batch: int = CONSUME_DEFAULTS["batch"]
        self._limit: Optional[int] = CONSUME_DEFAULTS["limit"]
        self._idle_millis: Optional[int] = CONSUME_DEFAULTS["idle_millis"]
        self._auto_ack: bool = CONSUME_DEFAULTS["auto_ack"]
        self._wait: bool = CONSUME_DEFAULTS["wait"]
        self._timeout_millis: int = CONSUME_DEFAULTS["timeout_millis"]
        self._renew_lease: bool = CONSUME_DEFAULTS["renew_lease"]
        self._renew_lease_interval_millis: Optional[int] = CONSUME_DEFAULTS[
            "renew_lease_interval_millis"
        ]
        self._subscription_mode: Optional[str] = CONSUME_DEFAULTS["subscription_mode"]
        self._subscription_from: Optional[str] = CONSUME_DEFAULTS["subscription_from"]
        self._each = False
        self._max_partitions = 1
        self._commit_on_delivery = False
        self._buffer_options: Optional[Dict[str, Any]] = None
        # (the settings pop() depends on, its path and query, its affinity key): a builder
        # reused in a pop loop builds its request once.
        self._pop_memo: Optional[Tuple[Tuple[Any, ...], str, str]] = None

    @property
    def name(self) -> Optional[str]:
        """The queue name given to ``queen.queue()``."""
        return self._queue_name

    queue_name = name

    # -- queue configuration ------------------------------------------------------------

    def namespace(self, name: str) -> QueueBuilder:
        self._namespace = name
        return self

    def task(self, name: str) -> QueueBuilder:
        self._task = name
        return self

    def config(self, options: Dict[str, Any]) -> QueueBuilder:
        """Queue options for ``create()``: ``{**QUEUE_DEFAULTS, **options}``."""
        self._config = {**QUEUE_DEFAULTS, **options}
        return self

    def create(self) -> OperationBuilder:
        """``POST /api/v1/configure`` with the full option set (configure is a full replace)."""
        name = check_name(self._queue_name, "queue name")
        body = queue_options_body(
            name, self._namespace, self._task, self._config or QUEUE_DEFAULTS
        )
        return OperationBuilder(self._queen, "POST", "/api/v1/configure", body)

    def delete(self) -> OperationBuilder:
        if not self._queue_name:
            raise ValueError("Queue name is required for delete operation")
        path = "/api/v1/resources/queues/" + segment(self._queue_name, "queue name")
        return OperationBuilder(self._queen, "DELETE", path, None)

    # -- push ---------------------------------------------------------------------------

    def partition(self, name: str) -> QueueBuilder:
        self._partition = name
        return self

    def buffer(self, options: Dict[str, Any]) -> QueueBuilder:
        """Switch ``push()`` to client-side buffering (keys as in ``BUFFER_DEFAULTS``)."""
        self._buffer_options = dict(options)
        return self

    def push(self, payload: Union[Dict[str, Any], List[Dict[str, Any]]]) -> PushBuilder:
        """Encode the items now and return the awaitable :class:`PushBuilder`."""
        if not self._queue_name:
            raise ValueError("Queue name is required for push operation")
        encoder = self._queen._encoder(self._queue_name, self._partition)
        items = payload if isinstance(payload, list) else [payload]
        return PushBuilder(self._queen, encoder, encoder.items(items), self._buffer_options)

    async def flush_buffer(self) -> None:
        """Flush this queue/partition's client buffer now."""
        if not self._queue_name:
            raise ValueError("Queue name is required for buffer flush")
        await self._queen._buffers.flush(self._queue_name, self._partition)

    # -- consume / pop options ----------------------------------------------------------

    def group(self, name: str) -> QueueBuilder:
        self._group = name
        return self

    def concurrency(self, count: int) -> QueueBuilder:
        self._concurrency = max(1, int(count))
        return self

    def batch(self, size: int) -> QueueBuilder:
        self._batch = max(1, int(size))
        return self

    def partitions(self, n: int) -> QueueBuilder:
        """Claim up to ``n`` partitions per pop; ``batch`` stays a global cap."""
        self._max_partitions = max(1, int(n))
        return self

    def limit(self, count: Optional[int]) -> QueueBuilder:
        self._limit = count
        return self

    def idle_millis(self, millis: Optional[int]) -> QueueBuilder:
        self._idle_millis = millis
        return self

    def timeout_millis(self, millis: int) -> QueueBuilder:
        self._timeout_millis = millis
        return self

    def auto_ack(self, enabled: bool) -> QueueBuilder:
        """consume() only: client-side ack/nack after the handler; never sent on pop."""
        self._auto_ack = enabled
        return self

    def renew_lease(self, enabled: bool, interval_millis: Optional[int] = None) -> QueueBuilder:
        self._renew_lease = enabled
        if interval_millis:
            self._renew_lease_interval_millis = interval_millis
        return self

    def subscription_mode(self, mode: str) -> QueueBuilder:
        self._subscription_mode = mode
        return self

    def subscription_from(self, from_: str) -> QueueBuilder:
        self._subscription_from = from_
        return self

    def each(self) -> QueueBuilder:
        self._each = True
        return self

    def wait(self, enabled: bool) -> QueueBuilder:
        self._wait = enabled
        return self

    def commit_on_delivery(self, enabled: bool = True) -> QueueBuilder:
        """pop() only: the broker acknowledges at delivery (``autoAck=true``, at-most-once)."""
        self._commit_on_delivery = enabled
        return self

    def dlq(self, consumer_group: Optional[str] = None) -> DLQBuilder:
        if not self._queue_name:
            raise ValueError("Queue name is required for DLQ operations")
        return DLQBuilder(self._queen, self._queue_name, self._partition, consumer_group)

    def consume(
        self,
        handler: Callable[..., Any],
        *,
        signal: Optional[Any] = None,
    ) -> ConsumeBuilder:
        """A :class:`ConsumeBuilder` running ``handler``; ``await`` it to consume."""
        from ._consume import ConsumeBuilder, ConsumeOptions

        options = ConsumeOptions(
            queue=self._queue_name,
            partition=self._partition if self._partition != DEFAULT_PARTITION else None,
            namespace=self._namespace,
            task=self._task,
            group=self._group,
            concurrency=self._concurrency,
            batch=self._batch,
            limit=self._limit,
            idle_millis=self._idle_millis,
            auto_ack=self._auto_ack,
            wait=self._wait,
            timeout_millis=self._timeout_millis,
            renew_lease=self._renew_lease,
            renew_lease_interval_millis=self._renew_lease_interval_millis,
            subscription_mode=self._subscription_mode,
            subscription_from=self._subscription_from,
            each=self._each,
            max_partitions=self._max_partitions,
        )
        return ConsumeBuilder(self._queen, handler, options, signal)

    # -- pop ----------------------------------------------------------------------------

    def pop_request(self) -> str:
        """The path and query ``pop()`` sends (for inspection; no I/O)."""
        target = pop_path(self._queue_name, self._partition, self._namespace, self._task)
        return target + query_string(
            [
                ("batch", self._batch),
                ("wait", self._wait),
                ("timeout", self._timeout_millis),
                ("consumerGroup", self._group),
                ("namespace", self._namespace),
                ("task", self._task),
                ("autoAck", True if self._commit_on_delivery else None),
                ("subscriptionMode", self._subscription_mode),
                ("subscriptionFrom", self._subscription_from),
                ("partitions", self._max_partitions if self._max_partitions > 1 else None),
            ]
        )

    async def pop(self) -> List[Message]:
        """Pop once: a list of messages, ``[]`` when the broker had nothing.

        Raises:
            QueenServerError: an in-band failure other than "nothing available" (retriable).
            QueenHttpError / QueenConnectionError / QueenTimeoutError: transport failures.
        """
        queen = self._queen
        queen._ensure_open()
        settings = (
            self._queue_name, self._partition, self._namespace, self._task, self._batch,
            self._wait, self._timeout_millis, self._group, self._commit_on_delivery,
            self._subscription_mode, self._subscription_from, self._max_partitions,
        )
        memo = self._pop_memo
        if memo is None or memo[0] != settings:
            key = affinity_key(self._queue_name, self._partition, self._group)
            memo = self._pop_memo = (settings, self.pop_request(), key)
        top, messages = await queen._http.request(
            "GET",
            memo[1],
            timeout_millis=self._timeout_millis + 5000,
            affinity_key=memo[2],
            decode=queen._pop_decoder(self._group),
        )
        return check_pop_answer(top, messages)


PopDecoder = Callable[[RawResponse], Tuple[Any, List[Message]]]


def pop_decoder(message_cls: Type[Message]) -> PopDecoder:
    """A decoder of pop answers into ``message_cls`` messages, run inside the HTTP attempt
    (so a garbled body counts as a failed attempt). A 204 is pop maintenance: no messages,
    whatever bytes it carries (API Q4)."""

    def decode(response: RawResponse) -> Tuple[Any, List[Message]]:
        if response.status == 204:
            return None, []
        return decode_pop(response.body, message_cls)

    return decode


def check_pop_answer(top: Any, messages: List[Message]) -> List[Message]:
    """Apply the pop error policy (D12) to a decoded answer."""
    if messages or top is None:
        return messages
    if not isinstance(top, dict):
        raise QueenServerError(f"Unexpected pop answer: {top!r}", body=top, retriable=True)
    error = top.get("error")
    if error is None and top.get("success", True) is not False:
        return messages
    if error in EMPTY_POP_ERRORS:
        return messages
    raise QueenServerError(str(error or "Pop failed"), body=top, retriable=True)
