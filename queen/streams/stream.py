"""``Stream``: the immutable, fluent description of a streaming job (client contract §8.2).

Each combinator returns a new ``Stream`` with one more operator; nothing runs until
``await stream.run(query_id=..., url=...)``, which validates the chain, computes its
``config_hash``, registers the query and starts a :class:`~queen.streams.runtime.Runner`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Union

from .._errors import QueenValidationError
from ._options import run_options, window_options
from ._plan import CompiledStream, compile_chain
from .operators import (
    AggregateOperator,
    FilterOperator,
    FlatMapOperator,
    ForeachOperator,
    GateOperator,
    KeyByOperator,
    MapOperator,
    ReduceOperator,
    SinkOperator,
    WindowCronOperator,
    WindowSessionOperator,
    WindowSlidingOperator,
    WindowTumblingOperator,
)
from .runtime.runner import Runner

__all__ = ["Stream"]


class Stream:
    """An immutable chain of operators over a source queue.

    Example::

        runner = await (Stream.from_(queen.queue("clicks"))
            .key_by(lambda m: m["data"]["user"])
            .window_tumbling(seconds=60)
            .aggregate({"n": lambda v: 1, "total": lambda v: v["amount"]})
            .to(queen.queue("clicks-per-minute"))
            .run(query_id="clicks-per-minute", url="http://localhost:6632"))
        ...
        await runner.stop()
    """

    __slots__ = ("_operators", "_source", "_source_options")

    def __init__(self, source: Any, operators: Optional[List[Any]] = None,
                 source_options: Optional[Dict[str, Any]] = None) -> None:
        self._source = source
        self._operators: List[Any] = list(operators or [])
        self._source_options: Dict[str, Any] = dict(source_options or {})

    @classmethod
    def from_(cls, queue_builder: Any, **options: Any) -> Stream:
        """A stream reading ``queue_builder``'s queue (``queen.queue("name")``, optionally
        with ``.partition(...)``). ``options`` are stored, as in the reference SDKs."""
        return cls(queue_builder, [], options)

    from_queue = from_

    @property
    def operators(self) -> List[Any]:
        """A copy of the chain."""
        return list(self._operators)

    def _extend(self, operator: Any) -> Stream:
        return Stream(self._source, [*self._operators, operator], self._source_options)

    # -- stateless -----------------------------------------------------------------------

    def map(self, fn: Callable[..., Any]) -> Stream:
        return self._extend(MapOperator(fn))

    def filter(self, predicate: Callable[..., Any]) -> Stream:
        return self._extend(FilterOperator(predicate))

    def flat_map(self, fn: Callable[..., Any]) -> Stream:
        return self._extend(FlatMapOperator(fn))

    flatMap = flat_map

    def key_by(self, fn: Callable[[Any], Any]) -> Stream:
        return self._extend(KeyByOperator(fn))

    keyBy = key_by

    # -- windows -------------------------------------------------------------------------

    def window_tumbling(self, *args: Any, **opts: Any) -> Stream:
        """``seconds`` (required), ``grace_period``, ``idle_flush_ms`` (5000),
        ``event_time``, ``allowed_lateness``, ``on_late``."""
        return self._extend(WindowTumblingOperator(
            **window_options("window_tumbling", ("seconds",), args, opts)))

    def window_sliding(self, *args: Any, **opts: Any) -> Stream:
        """``size`` and ``slide`` (required, ``size`` a multiple of ``slide``), and the
        options of :meth:`window_tumbling`."""
        return self._extend(WindowSlidingOperator(
            **window_options("window_sliding", ("size", "slide"), args, opts)))

    def window_session(self, *args: Any, **opts: Any) -> Stream:
        """``gap`` (required), ``idle_flush_ms`` defaults to 1000."""
        return self._extend(WindowSessionOperator(
            **window_options("window_session", ("gap",), args, opts)))

    def window_cron(self, *args: Any, **opts: Any) -> Stream:
        """``every``: ``second``, ``minute``, ``hour``, ``day`` or ``week`` (UTC);
        ``idle_flush_ms`` defaults to 30000."""
        return self._extend(WindowCronOperator(
            **window_options("window_cron", ("every",), args, opts)))

    windowTumbling = window_tumbling
    windowSliding = window_sliding
    windowSession = window_session
    windowCron = window_cron

    # -- reducers and gates --------------------------------------------------------------

    def reduce(self, fn: Callable[[Any, Any], Any], initial: Any = None) -> Stream:
        return self._extend(ReduceOperator(fn, initial))

    def aggregate(self, extractors: Dict[str, Callable[[Any], Any]]) -> Stream:
        return self._extend(AggregateOperator(extractors))

    def gate(self, fn: Callable[[Any, Any], Any]) -> Stream:
        """Allow or deny each record with per-key state (see ``token_bucket_gate``)."""
        return self._extend(GateOperator(fn))

    # -- sinks ---------------------------------------------------------------------------

    def to(self, queue_builder: Any,
           partition: Optional[Union[str, Callable[[Any], Any]]] = None) -> Stream:
        """Push every emitted value to ``queue_builder``'s queue, exactly once."""
        return self._extend(SinkOperator(queue_builder, partition))

    def foreach(self, fn: Callable[..., Any]) -> Stream:
        """Call ``fn(value[, ctx])`` for every emitted value (at least once)."""
        return self._extend(ForeachOperator(fn))

    # -- running -------------------------------------------------------------------------

    def compile(self) -> CompiledStream:
        """Validate the chain and return the runner's plan (no I/O)."""
        return compile_chain(self._source, self._operators, self._source_options)

    _compile = compile

    @property
    def config_hash(self) -> str:
        """The chain's ``config_hash`` (validates the chain)."""
        return self.compile().config_hash

    async def run(self, query_id: Optional[str] = None, url: Optional[str] = None,
                  **opts: Any) -> Runner:
        """Validate, register and start the job; returns the started :class:`Runner`.

        Options (snake_case or camelCase): ``batch_size`` (200), ``max_partitions`` (4),
        ``max_wait_millis`` (1000), ``subscription_mode``, ``subscription_from``, ``reset``
        (False), ``consumer_group`` (``"streams.<query_id>"``), ``on_error(err, ctx)``,
        ``logger``, ``bearer_token`` (default: the source client's).

        Raises:
            QueenValidationError (a ValueError): no ``query_id`` or ``url``, a source that
                is not a queue builder, or an invalid chain.
            QueenTypeError (a TypeError): an unknown option.
            StreamsConfigHashMismatch: the query exists with another chain and ``reset`` is
                false.
        """
        if query_id is None:
            query_id = opts.pop("queryId", None)
        if not query_id:
            raise QueenValidationError("run requires query_id=...")
        options = run_options(opts)
        compiled = self.compile()
        runner = Runner(compiled, query_id=query_id, url=url, **options)
        await runner.start()
        return runner
