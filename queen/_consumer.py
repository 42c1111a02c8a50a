"""The consumer loop behind ``consume()`` (client contract §5.8; D7-D9, D13-D15).

``concurrency`` workers each pop, hand the messages to the handler, acknowledge, and loop
until the abort signal, ``limit``, ``idle_millis`` or the client's close stops them. Pops
race the stop: a worker parked in a long poll is cancelled at once (the broker drops a
parked poll when its client disconnects). Handlers are never cancelled by a normal stop;
they finish and their messages are acknowledged. A fatal error in one worker cancels its
siblings and is raised from ``await consume(...)``.
"""

from __future__ import annotations

import asyncio
import math
from typing import (
    TYPE_CHECKING,
    AbstractSet,
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Optional,
    Set,
    Tuple,
)

from ._builders._base import call_maybe_async
from ._builders._consume import ConsumeOptions
from ._builders._queue import affinity_key, check_pop_answer, pop_path
from ._errors import QueenError, QueenTimeoutError
from ._message import Message
from ._paths import query_string
from ._signals import shutdown_registry

if TYPE_CHECKING:
    from ._client import Queen

__all__ = ["ConsumerRun"]

EMPTY_POLL_SLEEP = 0.1  # after an empty non-waiting pop
ERROR_PAUSE = 1.0  # after a retriable pop error
DEFAULT_RENEW_INTERVAL_MILLIS = 10000  # D7
STOP_GRACE = 0.05  # how long a stop lets an in-flight pop come back before cancelling it


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


# What a nack's answer says about the lease of the message's partition (API §2.3, §3.8).
_RELEASED = object()  # released: this message and the partition's later ones come back
_HELD = object()  # dead-lettered (leaseReleased is then always false): the lease goes on
_HELD_UNCONFIRMED = object()  # no clear answer: the lease may be held, give the rest back


def _lease_after_nack(answer: Any) -> object:
    if answer.get("success") and answer.get("error") is None:
        if answer.get("leaseReleased") is True:
            return _RELEASED
        if answer.get("dlq") is True:
            return _HELD
    return _HELD_UNCONFIRMED


def _first_per_partition(
    messages: List[Message], skip: AbstractSet[Any] = frozenset()
) -> List[Message]:
    firsts: Dict[Any, Message] = {}
    for message in messages:
        partition = message.get("partitionId")
        if partition not in skip and partition not in firsts:
            firsts[partition] = message
    return list(firsts.values())


class ConsumerRun:
    """One ``await consume(...)``: its workers, its stop switch and its fatal error."""

    def __init__(
        self,
        queen: Queen,
        handler: Callable[[Any], Awaitable[Any]],
        options: ConsumeOptions,
        signal: Optional[Any],
        *,
        auto_ack: bool,
        on_error: Optional[Callable[..., Any]],
    ) -> None:
        self._queen = queen
        self._handler = handler
        self.options = options
        self._signal = signal
        self._auto_ack = auto_ack
        self._on_error = on_error
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._workers: List[asyncio.Task] = []
        self._popping: Set[asyncio.Task] = set()
        self._fatal: Optional[BaseException] = None
        self.finished: asyncio.Future = asyncio.get_running_loop().create_future()
        self._group_context: Dict[str, Any] = {"group": options.group} if options.group else {}
        self._path = pop_path(options.queue, options.partition, options.namespace, options.task)
        self._affinity_key = affinity_key(options.queue, options.partition, options.group)
        self._decode = queen._pop_decoder(options.group)
        # The query changes only when an idle deadline caps the long-poll timeout: the parts
        # around the timeout value are built once.
        self._query_around = self._query_parts()
        self._default_query = self._query(options.timeout_millis)

    # -- stopping -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop as if the abort signal fired: cancel parked pops, let handlers finish.

        A pop in flight gets :data:`STOP_GRACE` seconds to come back before it is cancelled:
        a quick pop was most likely already answered by the broker, which claimed its
        partitions; cancelling it would leave them leased until the lease expires. What
        such a pop brings back after the stop is released at once.
        A parked long poll is cancelled after the grace; the broker drops it when the
        connection closes (API §1.6).
        """
        if self._stopping:
            return
        self._stopping = True
        self._stop_event.set()
        loop = asyncio.get_running_loop()
        for task in list(self._popping):
            loop.call_later(STOP_GRACE, self._cancel_pop, task)

    def _cancel_pop(self, task: asyncio.Task) -> None:
        if task in self._popping:
            task.cancel()

    def _should_stop(self) -> bool:
        if self._stopping:
            return True
        signal = self._signal
        if signal is not None and signal.is_set():
            self.stop()
            return True
        return False

    async def _watch_signal(self) -> None:
        signal = self._signal
        assert signal is not None
        wait = getattr(signal, "wait", None)
        if wait is not None and asyncio.iscoroutinefunction(wait):
            stop_wait = asyncio.ensure_future(self._stop_event.wait())
            signal_wait = asyncio.ensure_future(wait())
            try:
                await asyncio.wait({stop_wait, signal_wait}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop_wait.cancel()
                signal_wait.cancel()
        else:
            while not self._stopping and not signal.is_set():
                try:
                    await asyncio.wait_for(self._stop_event.wait(), timeout=0.1)
                except asyncio.TimeoutError:
                    pass
        self.stop()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the run stops."""
        try:
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    # -- running --------------------------------------------------------------------------

    async def run(self) -> None:
        queen = self._queen
        queen._consumers.add(self)
        watcher = None
        if self._signal is not None:
            watcher = asyncio.ensure_future(self._watch_signal())
        self._workers = [
            asyncio.ensure_future(self._worker(i)) for i in range(self.options.concurrency)
        ]
        try:
            await asyncio.gather(*self._workers, return_exceptions=True)
        except asyncio.CancelledError:
            # The gather passed the cancellation on to every worker; each gives back the
            # messages it had not settled (auto-ack) before it ends. Wait for that.
            self.stop()
            await asyncio.gather(*self._workers, return_exceptions=True)
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            queen._consumers.discard(self)
            if not self.finished.done():
                self.finished.set_result(None)
        if self._fatal is not None:
            raise self._fatal
        await shutdown_registry.wait_for_shutdown(queen)

    def _fail(self, exc: BaseException) -> None:
        """Record the first fatal error and cancel every sibling worker (D13)."""
        if self._fatal is None:
            self._fatal = exc
        self._stopping = True
        self._stop_event.set()
        current = asyncio.current_task()
        for task in self._workers:
            if task is not current:
                task.cancel()

    async def _worker(self, index: int) -> None:
        try:
            await self._loop(index)
        except asyncio.CancelledError:
            if self._fatal is None and not self._stopping:
                raise
        except BaseException as exc:
            self._queen._log.error(
                "ConsumerManager.worker", {"worker": index, "error": _error_text(exc)}
            )
            self._fail(exc)

    def _query_parts(self) -> Tuple[str, str]:
        o = self.options
        head = query_string([("batch", o.batch), ("wait", o.wait), ("timeout", 0)])
        tail = query_string(
            [
                ("consumerGroup", o.group),
                ("subscriptionMode", o.subscription_mode),
                ("subscriptionFrom", o.subscription_from),
                ("namespace", o.namespace),
                ("task", o.task),
                ("partitions", o.max_partitions if o.max_partitions > 1 else None),
            ]
        )
        return head[:-1], ("&" + tail[1:]) if tail else ""

    def _query(self, timeout_millis: int) -> str:
        head, tail = self._query_around
        return f"{head}{timeout_millis}{tail}"

    async def _pop(self, timeout_millis: int) -> List[Message]:
        o = self.options
        query = (
            self._default_query
            if timeout_millis == o.timeout_millis
            else self._query(timeout_millis)
        )
        top, messages = await self._queen._http.request(
            "GET",
            self._path + query,
            timeout_millis=timeout_millis + 5000 if o.wait else timeout_millis,
            affinity_key=self._affinity_key,
            decode=self._decode,
        )
        return check_pop_answer(top, messages)

    async def _loop(self, index: int) -> None:
        o = self.options
        loop = asyncio.get_running_loop()
        processed = 0
        last_activity = loop.time()
        while True:
            if self._should_stop() or self._queen._closing:
                return
            if o.limit and processed >= o.limit:
                return
            timeout_millis = o.timeout_millis
            if o.idle_millis:
                remaining = o.idle_millis - (loop.time() - last_activity) * 1000
                if remaining <= 0:
                    return
                if o.wait:
                    timeout_millis = max(1, int(min(timeout_millis, remaining)))
            task = asyncio.current_task()
            assert task is not None
            self._popping.add(task)
            try:
                messages = await self._pop(timeout_millis)
            except asyncio.CancelledError:
                if self._stopping and self._fatal is None:
                    return
                raise
            except QueenTimeoutError:
                if o.wait:
                    continue
                self._queen._log.warning(
                    "ConsumerManager.worker", {"worker": index, "error": "pop timeout"}
                )
                await self._pause(ERROR_PAUSE)
                continue
            except QueenError as exc:
                if not exc.retriable:
                    raise
                self._queen._log.warning(
                    "ConsumerManager.worker", {"worker": index, "error": _error_text(exc)}
                )
                await self._pause(ERROR_PAUSE)
                continue
            finally:
                self._popping.discard(task)
            if self._stopping:
                if messages:  # arrived after the stop, unseen by the handler
                    await self._release_remainder(messages)
                return
            if not messages:
                if not o.wait:
                    await self._pause(EMPTY_POLL_SLEEP)
                continue
            last_activity = loop.time()
            processed = await self._process(messages, processed)
            last_activity = loop.time()

    # -- processing -----------------------------------------------------------------------

    def _renewal(self, messages: List[Message]) -> Optional[asyncio.Task]:
        o = self.options
        if not o.renew_lease or not any(m.get("leaseId") for m in messages):
            return None
        interval = (o.renew_lease_interval_millis or DEFAULT_RENEW_INTERVAL_MILLIS) / 1000.0
        seconds = max(60, math.ceil(2 * interval))
        queen = self._queen

        async def renew_forever() -> None:
            while True:
                await asyncio.sleep(interval)
                results = await queen.renew(list(messages), seconds=seconds)
                for result in results if isinstance(results, list) else [results]:
                    if not result.get("success"):
                        queen._log.warning(
                            "Queen.renew",
                            {"leaseId": result.get("leaseId"), "error": result.get("error")},
                        )

        return asyncio.ensure_future(renew_forever())

    async def _process(self, messages: List[Message], processed: int) -> int:
        renewal = self._renewal(messages)
        try:
            if self.options.each:
                return await self._process_each(messages, processed, renewal)
            arg: Any = messages[0] if self.options.batch == 1 and len(messages) == 1 else messages
            processed += len(messages)
            try:
                await self._handler(arg)
            except asyncio.CancelledError:
                await self._give_back(messages)  # the handler never finished: nothing settled
                raise
            except Exception as exc:
                await self._stop_renewal(renewal)
                renewal = None
                lease = await self._settle(self._handler_failed(arg, exc), messages)
                if lease is _HELD_UNCONFIRMED:
                    await self._give_back(messages)
                return processed
            await self._stop_renewal(renewal)
            renewal = None
            if self._auto_ack:
                acking = (
                    self._queen._settle_batch(arg, True, self._group_context)
                    if isinstance(arg, list)
                    else self._queen.ack(arg, True, self._group_context)
                )
                await self._settle(acking, messages)
            return processed
        finally:
            await self._stop_renewal(renewal)

    async def _process_each(
        self, messages: List[Message], processed: int, renewal: Optional[asyncio.Task]
    ) -> int:
        o = self.options
        released: Set[Any] = set()  # partitions whose lease a nack ended: the rest comes back
        given_back: Set[Any] = set()  # partitions whose nack was not confirmed: give back
        rest: List[Message] = []
        for i, message in enumerate(messages):
            if self._should_stop() or (o.limit and processed >= o.limit):
                rest.extend(messages[i:])
                break
            partition = message.get("partitionId")
            if partition in released:
                continue
            if partition in given_back:
                rest.append(message)
                continue
            processed += 1
            try:
                try:
                    await self._handler(message)
                except Exception as exc:
                    lease = await self._handler_failed(message, exc)
                    if lease is _RELEASED:
                        released.add(partition)
                    elif lease is _HELD_UNCONFIRMED:
                        given_back.add(partition)
                        rest.append(message)  # a retry ack from here releases the lease
                    # _HELD: the message was dead-lettered and the lease is still ours for
                    # the partition's next messages: go on with them.
                    continue
                if self._auto_ack:
                    self._check_ack(await self._queen.ack(message, True, self._group_context))
            except asyncio.CancelledError:
                # This message and everything after it is unsettled (an ack cut short may or
                # may not have landed: a later retry ack then fails on the ended lease).
                await self._give_back(rest + messages[i:], released)
                raise
        await self._stop_renewal(renewal)
        await self._give_back(rest, released)
        return processed

    async def _settle(self, acking: Awaitable[Any], messages: List[Message]) -> Any:
        """Await an ack (or nack) of ``messages``; if cancelled meanwhile, give them back."""
        try:
            return await acking
        except asyncio.CancelledError:
            await self._give_back(messages)
            raise

    async def _give_back(
        self, messages: List[Message], released: AbstractSet[Any] = frozenset()
    ) -> None:
        """With auto-ack, release unsettled messages so they are redelivered at once, not
        after ``lease_time``. Shielded: on cancellation the release is still sent."""
        if self._auto_ack and messages:
            await asyncio.shield(self._release_remainder(messages, released))

    async def _release_remainder(
        self, rest: List[Message], released: AbstractSet[Any] = frozenset()
    ) -> None:
        """Give back unprocessed messages at once with one ``retry`` ack per partition (D15):
        it releases the lease without moving the cursor or spending retry budget. Partitions
        in ``released`` (already released by a nack) are left out."""
        firsts = _first_per_partition(rest, released)
        if firsts:
            self._check_ack(await self._queen._settle_batch(firsts, "retry", self._group_context))

    async def _handler_failed(self, arg: Any, exc: Exception) -> Optional[object]:
        """Nack (auto-ack) or report a failed handler call. With auto-ack and a single
        message: what the broker's answer says about its partition's lease; else None (a
        failed batch is settled here; the ``on_error`` callback owns acknowledgement)."""
        if self._auto_ack:
            context = {**self._group_context, "error": _error_text(exc)}
            self._queen._log.warning(
                "ConsumerManager.processMessage", {"error": _error_text(exc), "status": "nacked"}
            )
            if isinstance(arg, list):
                await self._nack_batch(arg, context)
                return None
            result = await self._queen.ack(arg, False, context)
            self._check_ack(result)
            return _lease_after_nack(result)
        if self._on_error is not None:
            await call_maybe_async(self._on_error, arg, exc)
            return None
        raise exc

    async def _nack_batch(self, messages: List[Message], context: Dict[str, Any]) -> None:
        """Nack a failed batch without losing a message.

        Only the first message of each partition is nacked at first (single acks: a batch
        answer's lease flags follow the broker's processing order, not the request's). With
        retry budget left that releases the lease and the whole batch comes back. When the
        answer says the message was dead-lettered, the lease is still held for the others:
        they are nacked next and, the budget being spent, dead-lettered too. A batch nack of
        everything at once would lose a message when that one nack spends the last retry
        (the first is released, the others dead-lettered past it; API §3.8). A partition
        whose first nack is not confirmed is given back with a ``retry`` ack.
        """
        firsts = _first_per_partition(messages)
        answers = await asyncio.gather(
            *(self._queen.ack(first, False, context) for first in firsts)
        )
        dead: Set[Any] = set()
        unconfirmed: List[Message] = []
        for first, answer in zip(firsts, answers):
            self._check_ack(answer)
            lease = _lease_after_nack(answer)
            if lease is _HELD:
                dead.add(first.get("partitionId"))
            elif lease is _HELD_UNCONFIRMED:
                unconfirmed.append(first)
        rest = [
            m for m in messages if m.get("partitionId") in dead and not any(m is f for f in firsts)
        ]
        if rest:
            self._check_ack(await self._queen._settle_batch(rest, False, context))
        if unconfirmed:
            await self._release_remainder(unconfirmed)

    def _check_ack(self, result: Any) -> None:
        if not result.get("success") or result.get("failed"):
            self._queen._log.warning(
                "ConsumerManager.ack",
                {"error": result.get("error"), "failed": result.get("failed")},
            )

    @staticmethod
    async def _stop_renewal(renewal: Optional[asyncio.Task]) -> None:
        if renewal is not None and not renewal.done():
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)
