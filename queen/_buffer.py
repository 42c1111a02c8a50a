"""Client-side push buffers: bounded, ordered, lossless (client contract §5.7, D11).

One buffer per address ``"<queue>/<partition>"``. Items arrive already encoded (the codec
ran in ``push()``), wait in a compiled :class:`ItemQueue`, and leave as ordinary
``POST /api/v1/push`` requests.

* Admission: an item enters while the buffer holds (waiting or in flight) fewer than
  ``max_size`` messages and its bytes fit in ``max_bytes`` (an oversized item only enters an
  empty buffer); otherwise ``push()`` waits, producers admitted in FIFO order
  (backpressure). ``max_size`` defaults to ``4 * message_count``, and to at least two
  requests of the cap below: one in flight while the next accumulates.
* Triggers: the first item into an empty buffer arms a ``time_millis`` deadline (none when
  ``time_millis`` is None); reaching ``message_count`` flushes at once. Options are checked
  by ``queen._buffer_options`` when ``buffer()`` is called.
* Batching with load: a request carries everything buffered when it leaves, up to
  ``REQUEST_MESSAGES`` messages and ``REQUEST_BYTES`` bytes of items (never fewer than
  ``message_count`` messages while that many wait, and always one). So while one request is
  in flight, what arrives accumulates and goes out together in the next, as soon as the
  flight lands if a trigger is due by then: batches grow with the load instead of a round
  trip capping throughput at ``message_count`` per round trip.
* One request in flight per address keeps order. ``queued``/``duplicate``/``buffered``
  entries are done; ``failed`` entries, error bodies and retriable transport errors put the
  affected items back at the front and retry after ``retry_delay_millis`` (items keep their
  transaction ids, so a resend of a chunk that was in fact stored comes back
  ``duplicate``). Only a non-retriable error drops a chunk, and it is logged, counted and
  handed to ``on_flush_error``.
* Only ``close()`` (or ``async with``) is sure to deliver what is buffered. A client that is
  garbage-collected, or whose event loop stops, with messages still buffered says so once: a
  WARNING on the client logger and a ``ResourceWarning``. A flusher that fails is logged, never
  left as an unretrieved task exception.
"""

from __future__ import annotations

import asyncio
import functools
import time
import warnings
from typing import Any, Callable, Dict, List, Optional, Set

from ._defaults import BUFFER_DEFAULTS
from ._errors import QueenError, QueenServerError
from ._http import HttpClient, decode_json
from ._logging import ClientLogger
from ._speedups import Chunk, ItemQueue
from ._transport import RawResponse

__all__ = ["REQUEST_BYTES", "REQUEST_MESSAGES", "BufferManager"]

# The per-request cap. Measured against a real 0.15 broker (bench/RESULTS.md, "Buffered
# producer: request size"; python -m bench.buffer_cap): a push costs about 7 ms plus 55 us
# per message, and bodies move at up to ~17 MB/s, so one request in flight gets ~96% of its
# messages/s ceiling at 1000 messages and its best MB/s at 1 MiB; larger requests add
# latency (and resend cost after a failure) for little more. A larger message_count still
# sends that many per request.
REQUEST_MESSAGES = 1000
REQUEST_BYTES = 1 << 20


class _Buffer:
    __slots__ = (
        "address",
        "admission",
        "admitting",
        "deadline",
        "dropped",
        "flight_bytes",
        "flight_count",
        "flusher",
        "items",
        "limit_bytes",
        "limit_count",
        "limit_request",
        "limit_size",
        "options",
        "sending",
        "source",
        "space",
        "timer",
        "users",
        "waiting",
        "wake",
    )

    def __init__(self, address: str, options: Dict[str, Any]) -> None:
        self.address = address
        self.options = options
        self.source: Optional[Dict[str, Any]] = None  # the caller's options, before defaults
        self.limit_size = self.limit_bytes = self.limit_count = self.limit_request = 0
        self.set_limits()
        self.admitting = 0  # producers inside the locked admission path
        self.items = ItemQueue()
        self.admission = asyncio.Lock()  # FIFO among producers waiting for room
        self.space = asyncio.Event()  # set whenever items leave the buffer
        self.wake = asyncio.Event()  # tells the flusher to look again
        self.deadline: Optional[float] = None
        self.timer: Optional[asyncio.TimerHandle] = None
        self.flusher: Optional[asyncio.Task] = None
        self.sending = asyncio.Lock()  # one request in flight per address keeps order
        self.waiting = 0  # producers blocked on a full buffer
        self.users = 0  # producers inside add(): the buffer must stay registered for them
        self.dropped = 0
        # Sent and not yet confirmed: still ours (a retriable failure puts them back), so
        # they count against the bounds.
        self.flight_count = 0
        self.flight_bytes = 0

    def set_limits(self) -> None:
        # Read once per options change, not once per admitted item.
        size = self.options.get("max_size")
        self.limit_count = int(self.options["message_count"])
        self.limit_request = max(self.limit_count, REQUEST_MESSAGES)
        self.limit_size = (
            int(size) if size else max(4 * self.limit_count, 2 * REQUEST_MESSAGES)
        )
        self.limit_bytes = int(self.options["max_bytes"])

    def take_request(self) -> Chunk:
        """The oldest items for one push request: what is buffered, up to the cap."""
        return self.items.take(self.limit_request, REQUEST_BYTES, self.limit_count)

    def has_room(self, item_size: int) -> bool:
        held = len(self.items) + self.flight_count
        if held == 0:
            return True
        return held < self.limit_size and (
            self.items.nbytes + self.flight_bytes + item_size <= self.limit_bytes
        )

    def fits(self, count: int, size: int) -> bool:
        """Whether ``count`` items of ``size`` bytes in all enter without waiting."""
        return len(self.items) + self.flight_count + count <= self.limit_size and (
            self.items.nbytes + self.flight_bytes + size <= self.limit_bytes
        )


_ALL_DONE = object()
# uvloop's clock has millisecond resolution: its timer for a time_millis deadline fires when
# the clock reaches that millisecond, which can be a rounding error below arrival + delay.
_CLOCK_SLACK = 0.001
_DONE_STATUSES = (b'"status":"queued"', b'"status":"duplicate"', b'"status":"buffered"')


def _push_answer(count: int) -> Callable[[RawResponse], Any]:
    """Decode a flush answer, or see at a glance that all ``count`` items are done.

    The broker answers a push with one flat entry per item. When the body is a list whose
    ``"status":`` keys are exactly ``count`` done statuses, nothing needs a retry and the body
    is not decoded (a literal ``"status":"queued"`` cannot occur inside a JSON string, where
    its quotes would be escaped). Anything else is decoded and judged item by item.
    """

    def decode(response: RawResponse) -> Any:
        body = response.body
        if (
            response.status != 204
            and body[:1] == b"["
            and body.count(b'"status":') == count
            and sum(body.count(s) for s in _DONE_STATUSES) == count
        ):
            return _ALL_DONE
        return decode_json(response)

    return decode


def _now() -> float:
    """The clock of the arrival times: the running loop's, else the monotonic clock that the
    standard loops use, so stats can be read outside any loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class BufferManager:
    """All buffers of one client."""

    def __init__(self, http: HttpClient, log: ClientLogger) -> None:
        self._http = http
        self._log = log
        self._buffers: Dict[str, _Buffer] = {}
        # address -> [messages, bytes] sent and not yet confirmed
        self._in_flight: Dict[str, List[int]] = {}
        self.flushes_performed = 0
        self.failed_flushes = 0
        self.dropped_messages = 0
        self._closing = False
        self._warned_unsent = False
        self._callbacks: Set[asyncio.Task] = set()  # running async on_flush_error calls

    # -- admission ------------------------------------------------------------------------

    async def add(
        self, queue: str, partition: str, encoded: List[bytes], options: Dict[str, Any]
    ) -> None:
        """Admit encoded items into ``queue/partition``, waiting while the buffer is full."""
        if self._closing:
            raise QueenError("Queen client is closed")
        address = f"{queue}/{partition}"
        buf = self._buffers.get(address)
        if buf is None or options != buf.source:
            merged = {**BUFFER_DEFAULTS, **options}
            if buf is None:
                buf = _Buffer(address, merged)
                self._buffers[address] = buf
            elif merged != buf.options:
                buf.options = merged  # the latest push's options apply from now on
                buf.set_limits()
                arrived = buf.items.oldest_arrival()
                if arrived is not None:
                    self._arm_for(buf, arrived)
            buf.source = dict(options)
        loop = asyncio.get_running_loop()
        if buf.admitting == 0 and buf.fits(len(encoded), sum(map(len, encoded))):
            # Nobody is queued for room and everything fits: admit at once. Nothing here
            # awaits, so producers still enter in arrival order.
            self._enqueue(buf, queue, partition, encoded, loop)
            return
        buf.users += 1
        buf.admitting += 1
        try:
            await self._admit(buf, queue, partition, encoded, loop)
        finally:
            buf.admitting -= 1
            buf.users -= 1

    def try_add(
        self, queue: str, partition: str, encoded: List[bytes], options: Dict[str, Any]
    ) -> bool:
        """Admit at once when nothing has to wait; False: the caller must ``await add()``."""
        buf = self._buffers.get(queue + "/" + partition)
        if buf is None or buf.admitting or self._closing or options != buf.source:
            return False
        count = len(encoded)
        if not buf.fits(count, len(encoded[0]) if count == 1 else sum(map(len, encoded))):
            return False
        self._enqueue(buf, queue, partition, encoded, asyncio.get_running_loop())
        return True

    def _enqueue(
        self,
        buf: _Buffer,
        queue: str,
        partition: str,
        encoded: List[bytes],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        items = buf.items
        now = loop.time()
        was_empty = not len(items)
        append = items.append
        for item in encoded:
            append(item, now)
        self._landed(buf, queue, partition, was_empty, now)

    async def _admit(
        self,
        buf: _Buffer,
        queue: str,
        partition: str,
        encoded: List[bytes],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        async with buf.admission:
            for item in encoded:
                while not buf.has_room(len(item)):
                    buf.space.clear()
                    self._ensure_flusher(buf, queue, partition)
                    buf.wake.set()
                    buf.waiting += 1
                    try:
                        await buf.space.wait()
                    finally:
                        buf.waiting -= 1
                now = loop.time()
                was_empty = not len(buf.items)
                buf.items.append(item, now)
                self._landed(buf, queue, partition, was_empty, now)

    def _landed(
        self, buf: _Buffer, queue: str, partition: str, was_empty: bool, arrived: float
    ) -> None:
        # After items are appended at ``arrived``: the first into an empty buffer arms the
        # time_millis deadline, reaching batch size wakes the flusher, and a flusher must run.
        if was_empty:
            self._arm_for(buf, arrived)
        if len(buf.items) >= buf.limit_count:
            buf.wake.set()
        self._ensure_flusher(buf, queue, partition)

    def _arm_for(self, buf: _Buffer, arrived: float) -> None:
        """The ``time_millis`` deadline of items that arrived at ``arrived``: armed if earlier
        than the current one; with ``time_millis`` None there is none."""
        millis = buf.options["time_millis"]
        if millis is not None:
            self._arm(buf, arrived + millis / 1000.0)
        elif buf.deadline is not None:
            self._disarm(buf)

    def _disarm(self, buf: _Buffer) -> None:
        if buf.timer is not None:
            buf.timer.cancel()
        buf.timer = None
        buf.deadline = None

    def _arm(self, buf: _Buffer, when: float) -> None:
        if buf.deadline is not None and buf.deadline <= when and buf.timer is not None:
            return
        if buf.timer is not None:
            buf.timer.cancel()
        loop = asyncio.get_running_loop()
        buf.deadline = when
        buf.timer = loop.call_at(when, buf.wake.set)

    def _ensure_flusher(self, buf: _Buffer, queue: str, partition: str) -> None:
        if buf.flusher is None or buf.flusher.done():
            buf.flusher = asyncio.get_running_loop().create_task(
                self._flush_loop(buf, queue, partition)
            )
            buf.flusher.add_done_callback(functools.partial(self._flusher_done, buf))

    def _flusher_done(self, buf: _Buffer, task: asyncio.Task) -> None:
        # Retrieve the outcome: a flusher that failed is reported, not left for the loop to
        # print "Task exception was never retrieved". Its items stay buffered; the next push
        # or close() starts another flusher.
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._log.error(
                "BufferManager.flusher",
                {"address": buf.address, "error": str(exc) or type(exc).__name__,
                 "buffered": len(buf.items)},
            )

    # -- flushing -------------------------------------------------------------------------

    async def _flush_loop(self, buf: _Buffer, queue: str, partition: str) -> None:
        """Background flusher of one address; ends when the buffer is empty."""
        try:
            await self._flush_until_empty(buf, queue, partition)
        except asyncio.CancelledError:
            if not self._closing:  # the event loop is stopping under an open client
                self.warn_unsent("the event loop stopped before the client was closed")
            raise

    async def _flush_until_empty(self, buf: _Buffer, queue: str, partition: str) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not len(buf.items):
                if not buf.sending.locked():
                    break
                # A manual flush has the buffer's items in flight: wait for its outcome
                # (a retriable failure puts them back for us to send).
                async with buf.sending:
                    pass
                continue
            due = buf.deadline is not None and loop.time() >= buf.deadline - _CLOCK_SLACK
            full = len(buf.items) >= buf.limit_count or buf.waiting > 0
            if not (due or full or self._closing):
                buf.wake.clear()
                await buf.wake.wait()
                continue
            async with buf.sending:
                if not len(buf.items):
                    break
                ok = await self._send_chunk(buf, raise_errors=False)
            if not ok:
                await asyncio.sleep(float(buf.options["retry_delay_millis"]) / 1000.0)
                continue
            self._rearm_after_send(buf)
        self._retire(buf)

    def _rearm_after_send(self, buf: _Buffer) -> None:
        arrived = buf.items.oldest_arrival()
        if arrived is None:
            self._disarm(buf)
        else:
            buf.deadline = None
            self._arm_for(buf, arrived)

    def _retire(self, buf: _Buffer) -> None:
        if len(buf.items) or buf.flight_count or buf.users or buf.sending.locked():
            return
        if buf.timer is not None:
            buf.timer.cancel()
            buf.timer = None
        buf.deadline = None
        buf.wake.set()  # a flusher parked on this buffer sees it empty and ends
        if self._buffers.get(buf.address) is buf:
            del self._buffers[buf.address]

    async def _send_chunk(self, buf: _Buffer, *, raise_errors: bool) -> bool:
        """Send one request of the oldest items once; True when nothing needs a retry."""
        chunk = buf.take_request()
        flight = self._in_flight.setdefault(buf.address, [0, 0])
        flight[0] += chunk.count
        flight[1] += chunk.nbytes
        buf.flight_count += chunk.count
        buf.flight_bytes += chunk.nbytes
        try:
            try:
                result = await self._http.request(
                    "POST", "/api/v1/push", body=chunk.body, decode=_push_answer(chunk.count)
                )
            except asyncio.CancelledError:
                buf.items.requeue(chunk)  # not confirmed: it stays ours to deliver or report
                raise
            except Exception as exc:
                return self._failed(buf, chunk, exc, raise_errors)
            retry = None if result is _ALL_DONE else self._retry_items(chunk, result)
            if retry is None:
                self.flushes_performed += 1
                return True
            error = QueenServerError(
                f"Push failed for {retry.count} buffered message(s) on {buf.address}",
                body=result,
                retriable=True,
            )
            if retry.count < chunk.count:
                self.flushes_performed += 1
            return self._failed(buf, retry, error, raise_errors)
        finally:
            flight[0] -= chunk.count
            flight[1] -= chunk.nbytes
            if not flight[0]:
                del self._in_flight[buf.address]
            buf.flight_count -= chunk.count
            buf.flight_bytes -= chunk.nbytes
            buf.space.set()

    @staticmethod
    def _retry_items(chunk: Chunk, result: Any) -> Optional[Chunk]:
        """The part of ``chunk`` that must be re-sent, or None when all of it is done."""
        if isinstance(result, list):
            bad = [
                i
                for i, entry in enumerate(result[: chunk.count])
                if not (
                    isinstance(entry, dict)
                    and entry.get("status") in ("queued", "duplicate", "buffered")
                )
            ]
            bad.extend(range(len(result), chunk.count))  # items the broker did not answer
            if not bad:
                return None
            items = [chunk.items[i] for i in bad]
            return Chunk(items, [chunk.arrivals[i] for i in bad], sum(map(len, items)))
        if isinstance(result, dict) and result.get("error") is None and result.get("success", True):
            return None
        return chunk

    def _failed(self, buf: _Buffer, chunk: Chunk, exc: Exception, raise_errors: bool) -> bool:
        retriable = getattr(exc, "retriable", False) and isinstance(exc, QueenError)
        if retriable:
            buf.items.requeue(chunk)
            self.failed_flushes += 1
            self._log.warning(
                "BufferManager.flushBuffer",
                {"address": buf.address, "count": chunk.count, "error": str(exc), "retry": True},
            )
        else:
            self._drop(buf, chunk, exc)
        if raise_errors:
            raise exc
        return False

    def _drop(self, buf: _Buffer, chunk: Chunk, exc: Exception) -> None:
        self.dropped_messages += chunk.count
        buf.dropped += chunk.count
        self._log.error(
            "BufferManager.flushBuffer",
            {"address": buf.address, "dropped": chunk.count, "error": str(exc)},
        )
        callback: Optional[Callable[..., Any]] = buf.options.get("on_flush_error")
        if callback is not None:
            import orjson

            try:
                result = callback([orjson.loads(i) for i in chunk.items], exc)
                if asyncio.iscoroutine(result):
                    # The loop keeps only weak references to tasks: hold it until it ends.
                    task = asyncio.get_running_loop().create_task(result)
                    self._callbacks.add(task)
                    task.add_done_callback(self._callback_done)
            except Exception as cb_exc:
                self._log.error("BufferManager.onFlushError", {"error": str(cb_exc)})

    def _callback_done(self, task: asyncio.Task) -> None:
        # An async on_flush_error that fails is logged like a sync one, not left unretrieved.
        self._callbacks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("BufferManager.onFlushError", {"error": str(task.exception())})

    # -- manual flush and close -----------------------------------------------------------

    async def flush(self, queue: str, partition: str) -> None:
        """Send everything buffered for ``queue/partition`` now; raise a chunk's error."""
        buf = self._buffers.get(f"{queue}/{partition}")
        if buf is None:
            return
        await self._flush_now(buf)

    async def _flush_now(self, buf: _Buffer) -> None:
        if buf.timer is not None:
            buf.timer.cancel()
            buf.timer = None
            buf.deadline = None
        try:
            while True:
                # Waits for the background flusher's in-flight request, then takes turns.
                async with buf.sending:
                    if not len(buf.items):
                        break
                    await self._send_chunk(buf, raise_errors=True)
        finally:
            if len(buf.items):
                self._rearm_after_send(buf)
            else:
                self._retire(buf)

    async def flush_all(self) -> None:
        """Flush every buffer; raise the first error after trying all of them."""
        first: Optional[BaseException] = None
        for buf in list(self._buffers.values()):
            try:
                await self._flush_now(buf)
            except Exception as exc:
                if first is None:
                    first = exc
                else:
                    self._log.error("BufferManager.flushAll", {"error": str(exc)})
        if first is not None:
            raise first

    async def close(self, timeout: float) -> None:
        """Flush within ``timeout`` seconds, retrying; report what could not be delivered."""
        self._closing = True
        for buf in list(self._buffers.values()):
            buf.wake.set()
        flushers = [b.flusher for b in self._buffers.values() if b.flusher and not b.flusher.done()]
        if flushers:
            await asyncio.wait(flushers, timeout=timeout)
        for buf in list(self._buffers.values()):
            if buf.flusher is not None and not buf.flusher.done():
                buf.flusher.cancel()
                try:
                    await buf.flusher
                except (asyncio.CancelledError, Exception):
                    pass
            left = len(buf.items)
            if left:
                self.dropped_messages += left
                self._log.error(
                    "BufferManager.close",
                    {"address": buf.address, "undelivered": left},
                )
            if buf.timer is not None:
                buf.timer.cancel()
        self._buffers.clear()

    def unsent(self) -> int:
        """Messages buffered or in flight, not yet confirmed by the broker."""
        held = sum(len(buf.items) for buf in self._buffers.values())
        return held + sum(count for count, _ in self._in_flight.values())

    def warn_unsent(self, reason: str) -> None:
        """Say once, at WARNING and as a ResourceWarning, that buffered messages were left."""
        count = self.unsent()
        if not count or self._warned_unsent:
            return
        self._warned_unsent = True
        text = (
            f"{count} buffered message(s) not sent: {reason}; close() (or async with) is what "
            "delivers buffered messages"
        )
        self._log.warning("BufferManager.unsent", text)
        warnings.warn(text, ResourceWarning, stacklevel=2)

    def stats(self) -> Dict[str, Any]:
        oldest: Optional[float] = None
        messages = nbytes = 0
        for buf in self._buffers.values():
            messages += len(buf.items)
            nbytes += buf.items.nbytes
            arrived = buf.items.oldest_arrival()
            if arrived is not None and (oldest is None or arrived < oldest):
                oldest = arrived
        for count, size in self._in_flight.values():
            messages += count
            nbytes += size
        age = 0.0
        if oldest is not None:
            age = max(0.0, _now() - oldest) * 1000
        active = {a for a, b in self._buffers.items() if len(b.items)} | set(self._in_flight)
        return {
            "activeBuffers": len(active),
            "totalBufferedMessages": messages,
            "oldestBufferAge": age,
            "flushesPerformed": self.flushes_performed,
            "totalBufferedBytes": nbytes,
            "failedFlushes": self.failed_flushes,
            "droppedMessages": self.dropped_messages,
        }
