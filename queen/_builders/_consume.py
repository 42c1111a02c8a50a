"""``queue(...).consume(handler)``: the awaitable consumer builder (client contract §4.6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from .._validate import callable_option
from ._base import OnceAwaitable, call_maybe_async

if TYPE_CHECKING:
    from .._client import Queen

__all__ = ["ConsumeBuilder", "ConsumeOptions"]


@dataclass(frozen=True)
class ConsumeOptions:
    """The queue builder's state when ``consume()`` was called."""

    queue: Optional[str]
    partition: Optional[str]  # None for the default partition (wildcard pops)
    namespace: Optional[str]
    task: Optional[str]
    group: Optional[str]
    concurrency: int
    batch: int
    limit: Optional[int]
    idle_millis: Optional[int]
    auto_ack: bool
    wait: bool
    timeout_millis: int
    renew_lease: bool
    renew_lease_interval_millis: Optional[int]
    subscription_mode: Optional[str]
    subscription_from: Optional[str]
    each: bool
    max_partitions: int


class ConsumeBuilder(OnceAwaitable):
    """``await`` it to run the consumer until its workers stop (limit, idle, abort, close).

    ``on_success(cb)`` → ``cb(msg_or_msgs, handler_result)``; ``on_error(cb)`` →
    ``cb(msg_or_msgs, exc)`` with the exception swallowed. Setting either turns client-side
    auto-ack off: the callbacks own acknowledgement then.
    """

    def __init__(
        self,
        queen: Queen,
        handler: Callable[..., Any],
        options: ConsumeOptions,
        signal: Optional[Any],
    ) -> None:
        self._queen = queen
        self._handler = handler
        self.options = options
        self._signal = signal
        self._on_success: Optional[Callable[..., Any]] = None
        self._on_error: Optional[Callable[..., Any]] = None

    def on_success(self, callback: Callable[[Any, Any], Any]) -> ConsumeBuilder:
        """``callback(message_or_messages, handler_result)``; turns auto-ack off."""
        self._on_success = callable_option(callback, "on_success callback")
        return self

    def on_error(self, callback: Callable[[Any, Exception], Any]) -> ConsumeBuilder:
        """``callback(message_or_messages, exc)``, the exception swallowed; turns auto-ack
        off."""
        self._on_error = callable_option(callback, "on_error callback")
        return self

    async def _call_handler(self, arg: Any) -> Any:
        """The user's handler followed by ``on_success``; both count as the handler."""
        result = await call_maybe_async(self._handler, arg)
        if self._on_success is not None:
            await call_maybe_async(self._on_success, arg, result)
        return result

    async def _execute(self) -> None:
        from .._consumer import ConsumerRun

        self._queen._ensure_open()
        run = ConsumerRun(
            self._queen,
            self._call_handler,
            self.options,
            self._signal,
            auto_ack=self.options.auto_ack and self._on_success is None and self._on_error is None,
            on_error=self._on_error,
        )
        await run.run()
