"""``queen.queue(name)``: the fluent builder behind every queue operation (contract §4.2).

Setters change the builder in place and return it; they do no I/O. ``push``, ``consume``,
``create`` and ``delete`` snapshot the state when called; ``pop`` and ``flush_buffer`` are the
coroutines that talk to the broker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Type, Union, cast

from .. import types
from .._buffer_options import check_buffer_options
from .._defaults import CONSUME_DEFAULTS, DEFAULT_PARTITION, QUEUE_DEFAULTS, QUEUE_MODE
from .._errors import (
    QueenServerError,
    QueenTypeError,
    QueenUnsupportedError,
    QueenValidationError,
)
from .._keyed import EXPLICIT_PARTITION, check_partition_count, lane_names
from .._message import Message
from .._options import queue_options_body, wire_options
from .._paths import check_name, query_string, segment
from .._speedups import decode_pop
from .._transport import RawResponse
from .._validate import (
    bool_option,
    callable_option,
    describe,
    int_option,
    mapping_option,
    optional_int,
    str_option,
    timestamp_option,
    warn_once,
)
from ._dlq import DLQBuilder
from ._operation import OperationBuilder
from ._push import PushBuilder

if TYPE_CHECKING:
    from .._client import Queen
    from ._consume import ConsumeBuilder

__all__ = ["EMPTY_POP_ERRORS", "SUBSCRIPTION_MODES", "QueueBuilder", "pop_path"]

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
    broker has no ``GET /api/v1/pop``, D17) and nothing at all raises
    :class:`QueenValidationError` (a ``ValueError``).
    """
    if not queue:
        if namespace or task:
            raise QueenUnsupportedError(NAMESPACE_POP_UNSUPPORTED)
        raise QueenValidationError("Must specify queue, namespace, or task for pop operation")
    path = "/api/v1/pop/queue/" + segment(queue, "queue name")
    if partition is not None and partition != DEFAULT_PARTITION:
        path += "/partition/" + segment(partition, "partition name")
    return path


def affinity_key(queue: Optional[str], partition: Optional[str], group: Optional[str]) -> str:
    """The routing key of a pop (contract §5.6): ``pop()`` passes its partition, ``Default``
    by default, while ``consume()`` passes None for it, which becomes ``*``."""
    return f"{queue}:{partition or '*'}:{group or QUEUE_MODE}"


#: Subscription modes the 0.15 broker recognises; it treats any other as "all" (API §3.6).
SUBSCRIPTION_MODES = ("all", "new")


def _name_required(name: Optional[str], operation: str) -> str:
    if not name:
        raise QueenValidationError(f"Queue name is required for {operation}")
    return name


class QueueBuilder:
    """Fluent builder for one queue (``name`` may be None for namespace/task use).

    Every setter checks its argument when it is called (:mod:`queen._validate`), so a
    mistake raises at the line that made it.
    """

    _partition_set = False  # partition() was called
    _key_partitions: Optional[int] = None  # keyed(n)

    def __init__(self, queen: Queen, name: Optional[str] = None) -> None:
        if name is not None and name != "":
            # "" is let through: the operations raise the reference's "Queue name is
            # required for ..." for it, as for None.
            check_name(name, "queue name")
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

    def namespace(self, name: Optional[str]) -> QueueBuilder:
        self._namespace = None if name is None else check_name(name, "namespace")
        return self

    def task(self, name: Optional[str]) -> QueueBuilder:
        self._task = None if name is None else check_name(name, "task")
        return self

    def config(self, options: Dict[str, Any]) -> QueueBuilder:
        """Queue options for ``create()``: ``{**QUEUE_DEFAULTS, **options}``, checked now."""
        merged = {**QUEUE_DEFAULTS, **mapping_option(options, "config")}
        wire_options(merged)  # unknown keys and bad values raise here, not at create()
        self._config = merged
        return self

    def create(self) -> OperationBuilder:
        """``POST /api/v1/configure`` with the full option set (configure is a full replace)."""
        name = _name_required(self._queue_name, "create operation")
        body = queue_options_body(
            name, self._namespace, self._task, self._config or QUEUE_DEFAULTS
        )
        return OperationBuilder(self._queen, "POST", "/api/v1/configure", body)

    def delete(self) -> OperationBuilder:
        name = _name_required(self._queue_name, "delete operation")
        path = "/api/v1/resources/queues/" + segment(name, "queue name")
        return OperationBuilder(self._queen, "DELETE", path, None)

    # -- push ---------------------------------------------------------------------------

    def partition(self, name: str) -> QueueBuilder:
        self._partition = check_name(name, "partition name")
        self._partition_set = True
        return self

    def keyed(self, partitions: int) -> QueueBuilder:
        """push(): each item goes to the partition its ``key`` maps to, one of
        ``partitions`` (keyed partitioning, ``queen._keyed``)."""
        self._key_partitions = check_partition_count(partitions)
        return self

    def buffer(self, options: Dict[str, Any]) -> QueueBuilder:
        """Switch ``push()`` to client-side buffering (keys as in ``BUFFER_DEFAULTS``).

        Raises:
            QueenValidationError: an option has a bad value (checked now, not when flushing;
                ``QueenTypeError`` for a value of the wrong type).
        """
        self._buffer_options = check_buffer_options(options, self._queen._log)
        return self

    def push(self, payload: Union[Dict[str, Any], List[Dict[str, Any]]]) -> PushBuilder:
        """Encode the items now and return the awaitable :class:`PushBuilder`."""
        name = _name_required(self._queue_name, "push operation")
        if type(payload) is list or isinstance(payload, tuple):
            items = payload
        elif isinstance(payload, dict):
            items = [payload]
        else:
            raise QueenTypeError(
                f"push() takes a dict or a list of dicts, got {describe(payload)}"
            )
        if self._key_partitions is not None:
            return keyed_push(self, name, list(items), self._key_partitions)
        encoder = self._queen._encoder(name, self._partition)
        return PushBuilder(self._queen, encoder, encoder.items(items), self._buffer_options)

    async def flush_buffer(self) -> None:
        """Flush this queue/partition's client buffer now."""
        name = _name_required(self._queue_name, "buffer flush")
        partitions = (
            lane_names(self._key_partitions) if self._key_partitions else [self._partition]
        )
        for partition in partitions:
            await self._queen._buffers.flush(name, partition)

    # -- consume / pop options ----------------------------------------------------------

    def group(self, name: Optional[str]) -> QueueBuilder:
        self._group = None if name is None else check_name(name, "consumer group")
        return self

    def concurrency(self, count: int) -> QueueBuilder:
        """Consume workers; values below 1 mean 1."""
        self._concurrency = max(1, int_option(count, "concurrency", minimum=None))
        return self

    def batch(self, size: int) -> QueueBuilder:
        """Messages per pop; values below 1 mean 1."""
        self._batch = max(1, int_option(size, "batch", minimum=None))
        return self

    def partitions(self, n: int) -> QueueBuilder:
        """Claim up to ``n`` partitions per pop; ``batch`` stays a global cap."""
        self._max_partitions = max(1, int_option(n, "partitions", minimum=None))
        return self

    def limit(self, count: Optional[int]) -> QueueBuilder:
        """consume() only: messages per worker before it stops (None or 0: no limit)."""
        self._limit = optional_int(count, "limit")
        return self

    def idle_millis(self, millis: Optional[int]) -> QueueBuilder:
        """consume() only: a worker stops after this long without a message (None or 0:
        never)."""
        self._idle_millis = optional_int(millis, "idle_millis")
        return self

    def timeout_millis(self, millis: int) -> QueueBuilder:
        self._timeout_millis = int_option(millis, "timeout_millis")
        return self

    def auto_ack(self, enabled: bool) -> QueueBuilder:
        """consume() only: client-side ack/nack after the handler; never sent on pop."""
        self._auto_ack = bool_option(enabled, "auto_ack")
        return self

    def renew_lease(self, enabled: bool, interval_millis: Optional[int] = None) -> QueueBuilder:
        self._renew_lease = bool_option(enabled, "renew_lease")
        interval = optional_int(interval_millis, "interval_millis")
        if interval:
            self._renew_lease_interval_millis = interval
        return self

    def subscription_mode(self, mode: Optional[str]) -> QueueBuilder:
        """``"new"`` (start at the group's first pop) or ``"all"`` (replay); the broker
        treats any other mode as ``"all"``, which is warned about once."""
        if mode is not None:
            str_option(mode, "subscription_mode")
            if mode not in SUBSCRIPTION_MODES:
                warn_once(
                    "subscription_mode",
                    mode,
                    f"subscription_mode {mode!r} is not one the 0.15 broker knows "
                    f"({', '.join(SUBSCRIPTION_MODES)}): it replays the queue from its oldest "
                    "message, as for 'all'",
                    self._queen._log,
                )
        self._subscription_mode = mode
        return self

    def subscription_from(self, from_: Any) -> QueueBuilder:
        """``"now"``, an ISO-8601 timestamp or a ``datetime`` (naive means UTC)."""
        self._subscription_from = (
            None if from_ is None
            else timestamp_option(from_, "subscription_from", self._queen._log)
        )
        return self

    def each(self) -> QueueBuilder:
        self._each = True
        return self

    def wait(self, enabled: bool) -> QueueBuilder:
        self._wait = bool_option(enabled, "wait")
        return self

    def commit_on_delivery(self, enabled: bool = True) -> QueueBuilder:
        """pop() only: the broker acknowledges at delivery (``autoAck=true``, at-most-once)."""
        self._commit_on_delivery = bool_option(enabled, "commit_on_delivery")
        return self

    def dlq(self, consumer_group: Optional[str] = None) -> DLQBuilder:
        name = _name_required(self._queue_name, "DLQ operations")
        if consumer_group is not None:
            check_name(consumer_group, "consumer group")
        return DLQBuilder(self._queen, name, self._partition, consumer_group)

    def consume(
        self,
        handler: types.Handler,
        *,
        signal: Optional[Any] = None,
    ) -> ConsumeBuilder:
        """A :class:`ConsumeBuilder` running ``handler``; ``await`` it to consume.

        Raises:
            QueenTypeError: ``handler`` is not callable, or ``signal`` has no ``is_set()``.
        """
        from ._consume import ConsumeBuilder, ConsumeOptions

        callable_option(handler, "consume() handler")
        if signal is not None and not callable(getattr(signal, "is_set", None)):
            raise QueenTypeError(
                f"signal must be an asyncio.Event-like object with is_set(), "
                f"got {describe(signal)}"
            )
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

    async def pop(self) -> List[types.Message]:
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
        # Static type: the public shape; runtime: the dict subclass of queen._message.
        return cast("List[types.Message]", check_pop_answer(top, messages))


def keyed_push(
    builder: QueueBuilder, queue: str, items: List[Any], partitions: int
) -> PushBuilder:
    """The push of a keyed queue builder (see ``_keyed_push``)."""
    from ._keyed_push import KeyedPushBuilder

    if builder._partition_set:
        raise QueenValidationError(EXPLICIT_PARTITION)
    return KeyedPushBuilder(builder._queen, queue, items, partitions, builder._buffer_options)


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
