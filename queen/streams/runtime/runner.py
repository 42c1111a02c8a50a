"""``Runner``: the pop → cycle loop and the idle flush of one stream (client contract §8.10).

Exactly-once rests on one rule: everything a batch changes (state rows, sink messages, the
source cursor) is committed by one ``POST /streams/v1/cycle``, which the broker applies as
one database transaction. A runner that dies before that commit leaves no trace (the batch
comes back when its lease expires); after it, state, output and cursor have moved together.
In-memory bookkeeping (the per-partition watermark, the metrics) changes only after a
commit succeeded.

Races. A cycle reads the partition's state, computes, and commits; an idle flush of the same
partition reads ripe rows and commits their deletion. If they overlapped, the flush could
emit a window that the cycle then upserts again with the flushed values plus new ones (a
double count), or the cycle's upsert could land before the flush's delete (a loss). Both
take the partition's ``asyncio.Lock`` for the whole read-compute-commit sequence, so they
are serialised per partition (D23a); cycles of different partitions run concurrently.
Several runners on one query are kept apart by the broker's partition leases for cycles;
the idle flush of a partition is meant for the runner that cycles it.

Which partitions the idle flush visits: those cycled in the last five minutes, as in the
reference runners, and also, in processing time, every partition until the last window it
holds open has closed (a partition that goes quiet with a one-hour window open is flushed
when that hour ends). A started runner adopts every partition of the source and learns
from its first flush which of them hold open windows, so the windows a stopped or killed
predecessor left open are emitted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from contextvars import ContextVar
from typing import Any, Dict, List, Optional

from ..._errors import QueenValidationError
from .._calls import is_awaitable
from .._options import RUN_ALIASES
from .._plan import CompiledStream
from .._time import now_iso, parse_iso_ms
from ..operators.sink_op import queue_name_of
from ..util.logger import make_logger
from ._emit import finish_emits
from ._gating import gate_cycle
from ._source import SourcePop, client_settings, source_partitions
from ._windowing import Work, flush_partition, session_cycle, window_cycle
from .cycle import commit_cycle
from .register import register_query
from .streams_http_client import StreamsHttpClient

__all__ = ["Runner"]

NO_URL = "Stream.run requires url='<queen-url>' so the SDK can call /streams/v1/* endpoints"
NO_SOURCE = ("Stream.from_() needs the source queue's builder, e.g. queen.queue('name'): "
             "the runner pops it")
IDLE_SLEEP_S = 0.1
POP_ERROR_SLEEP_S = 0.5
PARTITION_RECENCY_MS = 5 * 60 * 1000
STOP_FLUSH_WAIT_S = 1.0
# The camelCase option names of queen-mq's Runner (which Stream.run passes on) as well.
_CAMEL = {"queryId": "query_id", **RUN_ALIASES}
_SNAKE_TO_CAMEL = {snake: camel for camel, snake in _CAMEL.items()}


# The runner whose loop or idle flush runs the current code: set in those tasks, so the user
# functions they call (and the on_error tasks they start) see it.
_RUNNING: ContextVar[Optional[Runner]] = ContextVar("queen_streams_runner", default=None)


class _Seen:
    """A partition the idle flush visits: for the recency period after its last cycle, or
    after its last open window is due to close, whichever is later (epoch ms)."""

    __slots__ = ("cycled", "name", "open_until", "probe")

    def __init__(self, name: Any, cycled: float, open_until: float = 0,
                 probe: bool = False) -> None:
        self.name = name
        self.cycled = cycled
        self.open_until = open_until
        self.probe = probe  # adopted at start-up: its open windows are not known yet

    @property
    def until(self) -> float:
        return max(self.cycled, self.open_until)


class _Group:
    """The messages of one source partition in one pop."""

    __slots__ = ("consumer_group", "lease_id", "messages", "partition_id", "partition_name")

    def __init__(self, partition_id: str, first: Dict[str, Any], group: str) -> None:
        self.partition_id = partition_id
        self.partition_name = first.get("partition")
        self.lease_id = first.get("leaseId")
        self.consumer_group = first.get("consumerGroup") or group
        self.messages: List[Dict[str, Any]] = []


def _order(stamped: Any) -> Any:
    return stamped[0] or 0, stamped[1]


class Runner:
    """A started stream job: ``await runner.stop()``, ``runner.metrics()``.

    Built by :meth:`Stream.run`; options as documented there.
    """

    def __init__(self, stream: CompiledStream, query_id: Optional[str] = None,
                 url: Optional[str] = None, **options: Any) -> None:
        options = {_CAMEL.get(k, k): v for k, v in options.items()}
        query_id = query_id or options.pop("query_id", None)
        if not query_id:
            raise QueenValidationError("run requires query_id=...")
        if not url:
            raise QueenValidationError(NO_URL)
        self.stream = stream
        self.query_id: str = query_id
        # queen-mq's Runner keeps what it was built with, in camelCase, as ``options``.
        self.options: Dict[str, Any] = {"queryId": query_id, "url": url, "stream": stream,
                                        **{_SNAKE_TO_CAMEL.get(k, k): v
                                           for k, v in options.items()}}
        self.batch_size = int(options.get("batch_size") or 200)
        self.max_partitions = int(options.get("max_partitions") or 4)
        wait = options.get("max_wait_millis")
        self.max_wait_millis = 1000 if wait is None else int(wait)
        self.subscription_mode = options.get("subscription_mode")
        self.subscription_from = options.get("subscription_from")
        self.reset = bool(options.get("reset"))
        self.on_error = options.get("on_error")
        self.logger = make_logger(options.get("logger"))
        self.consumer_group: str = options.get("consumer_group") or f"streams.{query_id}"
        inherited = client_settings(stream.source)
        token = options.get("bearer_token") or inherited["bearer_token"]
        self.http = StreamsHttpClient(url, bearer_token=token, headers=inherited["headers"])
        self._source = SourcePop(
            stream.source, group=self.consumer_group, batch=self.batch_size,
            wait_millis=self.max_wait_millis, max_partitions=self.max_partitions,
            subscription_mode=self.subscription_mode, subscription_from=self.subscription_from)
        self._server_query_id: Optional[str] = None
        self._stopped = False
        self._stopping: Optional[asyncio.Future[None]] = None
        self._loop_task: Optional[asyncio.Task[None]] = None
        self._flush_task: Optional[asyncio.Task[None]] = None
        self._pop_task: Optional[asyncio.Future[Any]] = None
        self._flushing = False
        self._locks: Dict[str, asyncio.Lock] = {}
        self._recent: Dict[str, _Seen] = {}  # the partitions the idle flush visits
        self._watermarks: Dict[str, int] = {}  # partition id -> committed watermark
        self._hooks: set[asyncio.Future[Any]] = set()
        self._stats: Dict[str, Any] = {
            "cyclesTotal": 0, "flushCyclesTotal": 0, "messagesTotal": 0, "pushItemsTotal": 0,
            "stateOpsTotal": 0, "lateEventsTotal": 0, "errorsTotal": 0, "lastCycleAt": None,
            "lastFlushAt": None, "lastError": None,
        }

    # -- public API ----------------------------------------------------------------------

    @property
    def server_query_id(self) -> Optional[str]:
        """The broker's id of the query (a UUID), known after :meth:`start`."""
        return self._server_query_id

    async def start(self) -> Runner:
        """Register the query and start the loop (and the idle flush when the window has one).

        Raises:
            QueenValidationError: the source is not a queue builder (nothing is sent).
            StreamsConfigHashMismatch, StreamsRegisterFailed, StreamsHttpError.
        """
        stages = self.stream.stages
        sink = stages.sink
        source = self.stream.source
        source_name = queue_name_of(source, dict_keys=False)
        if not source_name or not callable(getattr(source, "pop", None)):
            await self.http.close()
            raise QueenValidationError(NO_SOURCE)
        try:
            reg = await register_query(
                self.http, name=self.query_id, source_queue=source_name,
                sink_queue=sink.queue_name if sink is not None and sink.kind == "sink" else None,
                config_hash=self.stream.config_hash, reset=self.reset)
        except BaseException:
            await self.http.close()
            raise
        self._server_query_id = reg["queryId"]
        self.logger.info("query registered", {"queryId": self.query_id,
                                              "server_id": reg["queryId"],
                                              "fresh": reg["fresh"],
                                              "didReset": reg["didReset"]})
        if stages.key_by is not None:
            self.logger.warn(
                ".key_by() is set: if the derived key differs from the source partition id, "
                "several workers may contend on the same (query_id, partition_id, key) state "
                "rows.")
        window = stages.window
        # Only a reducer keeps window state, so only then is there anything to flush.
        if window is not None and stages.reducer is not None and window.idle_flush_ms > 0:
            await self._adopt_partitions()
            self._flush_task = asyncio.ensure_future(self._flush_loop(window.idle_flush_ms))
            self.logger.info("idle-flush timer armed", {"intervalMs": window.idle_flush_ms,
                                                        "operator": window.operator_tag})
        self._loop_task = asyncio.ensure_future(self._loop())
        return self

    async def _adopt_partitions(self) -> None:
        # A restarted runner must also flush the windows its predecessor left open in
        # partitions that receive nothing more, so the idle flush starts with every partition
        # of the source instead of only those this runner has cycled.
        try:
            found = await source_partitions(self.stream.source)
        except Exception as err:
            self._report(err, "flush")
            return
        now = time.time() * 1000
        for pid, name in found:
            # Kept as if just cycled until its first flush has probed its open windows.
            self._recent.setdefault(pid, _Seen(name, 0, open_until=now, probe=True))

    async def stop(self) -> None:
        """Stop popping, let in-flight cycles and a running flush (up to 1 s) finish, close.

        Called again, it waits for the same shutdown. Called from the job's own functions (a
        ``foreach`` that stops after its last value, an ``on_error``), it returns at once and
        the shutdown goes on beside the cycle that called it, which still commits.
        """
        self._stopped = True
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._shutdown())
        if _RUNNING.get() is not self:
            await asyncio.shield(self._stopping)

    async def _shutdown(self) -> None:
        flush = self._flush_task
        if flush is not None:
            if self._flushing:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(flush), STOP_FLUSH_WAIT_S)
            flush.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await flush
        if self._pop_task is not None:
            self._pop_task.cancel()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop_task
        if self._hooks:
            await asyncio.wait(list(self._hooks), timeout=STOP_FLUSH_WAIT_S)
        await self.http.close()

    def metrics(self) -> Dict[str, Any]:
        """Counters of this runner (a snapshot)."""
        return {**self._stats, "queryId": self.query_id, "serverQueryId": self._server_query_id}

    # -- errors --------------------------------------------------------------------------

    def _report(self, err: BaseException, phase: str, partition: Optional[str] = None) -> None:
        self._stats["errorsTotal"] += 1
        text = str(err) or "unknown"
        self._stats["lastError"] = text
        ctx: Dict[str, Any] = {"phase": phase}
        if partition is not None:
            ctx["partition"] = partition
        self.logger.error(f"{phase} failed", {"queryId": self.query_id, **ctx, "error": text})
        if self.on_error is None:
            return
        try:
            out = self.on_error(err, ctx)
        except Exception:
            return
        if is_awaitable(out):
            hook = asyncio.ensure_future(out)
            self._hooks.add(hook)
            hook.add_done_callback(self._hook_done)

    def _hook_done(self, hook: asyncio.Future[Any]) -> None:
        self._hooks.discard(hook)
        if not hook.cancelled():
            hook.exception()  # an on_error failure is swallowed (§8.10)

    # -- the main loop -------------------------------------------------------------------

    async def _loop(self) -> None:
        _RUNNING.set(self)
        while not self._stopped:
            try:
                self._pop_task = asyncio.ensure_future(self._source.pop())
                messages = await self._pop_task
            except asyncio.CancelledError:
                if self._stopped:
                    break
                raise
            except Exception as err:
                self._report(err, "pop")
                await asyncio.sleep(POP_ERROR_SLEEP_S)
                continue
            finally:
                self._pop_task = None
            if not messages:
                if not self._stopped:
                    await asyncio.sleep(IDLE_SLEEP_S)
                continue
            # Leased messages are processed even when stop() came meanwhile: committing them
            # now beats leaving them leased until the lease expires.
            groups = self._groups(messages)
            if len(groups) == 1:
                await self._run_group(groups[0])
            else:
                await asyncio.gather(*(self._run_group(g) for g in groups))
        self.logger.info("loop stopped", {"queryId": self.query_id, "stats": self._stats})

    def _groups(self, messages: List[Any]) -> List[_Group]:
        groups: Dict[str, _Group] = {}
        for m in messages:
            pid = dict.get(m, "partitionId") or "unknown"
            g = groups.get(pid)
            if g is None:
                g = groups[pid] = _Group(pid, m, self.consumer_group)
            g.messages.append(m)
        return list(groups.values())

    def _lock(self, partition_id: str) -> asyncio.Lock:
        lock = self._locks.get(partition_id)
        if lock is None:
            lock = self._locks[partition_id] = asyncio.Lock()
        return lock

    def _touch(self, group: _Group) -> None:
        now = time.time() * 1000
        seen = self._recent.get(group.partition_id)
        if seen is None:
            self._recent[group.partition_id] = _Seen(group.partition_name, now)
        else:
            seen.name = group.partition_name or seen.name
            seen.cycled = now
        self._forget_stale(now)

    def _forget_stale(self, now: float) -> None:
        # Called by cycles and by every flush tick, so an idle runner forgets too.
        cutoff = now - PARTITION_RECENCY_MS
        for pid in [p for p, s in self._recent.items() if s.until < cutoff]:
            del self._recent[pid]
            lock = self._locks.get(pid)
            if lock is not None and not lock.locked():
                del self._locks[pid]
            self._watermarks.pop(pid, None)

    async def _run_group(self, group: _Group) -> None:
        self._touch(group)
        try:
            async with self._lock(group.partition_id):
                committed = await self._cycle(group)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self._report(err, "cycle", group.partition_id)
            return
        if committed:
            stats = self._stats
            stats["cyclesTotal"] += 1
            stats["messagesTotal"] += len(group.messages)
            stats["lastCycleAt"] = now_iso()

    # -- one cycle -----------------------------------------------------------------------

    async def _cycle(self, group: _Group) -> bool:
        """Process and commit one partition's batch; False when nothing was committed."""
        stages = self.stream.stages
        pid, pname = group.partition_id, group.partition_name
        get = dict.get
        # In (createdAt, id) order; createdAt is parsed once per message and travels with the
        # envelope as "createdMs" for processing-time windows.
        stamped = sorted(((parse_iso_ms(get(m, "createdAt")), get(m, "id") or "", m)
                          for m in group.messages), key=_order)
        ordered = [t[2] for t in stamped]
        envelopes = [{"msg": m, "key": get(m, "partitionId") or pid, "value": get(m, "data"),
                      "createdMs": ts} for ts, _, m in stamped]
        for op in stages.pre:
            envelopes = await op.run_pre(envelopes)
        if stages.key_by is not None:
            envelopes = await stages.key_by.run_pre(envelopes)
        qid = self._server_query_id
        assert qid is not None

        def report(err: BaseException, phase: str = "window-apply") -> None:
            self._report(err, phase, pid)

        acked, release = len(ordered), True
        if stages.gate is not None:
            outcome = await gate_cycle(self.http, qid, stages, envelopes, ordered, pid, pname,
                                       lambda err: report(err, "gate-eval"))
            if outcome is None:
                return False
            stats = self._stats
            stats["gateAllowsTotal"] = stats.get("gateAllowsTotal", 0) + outcome.allowed
            stats["gateDenialsTotal"] = stats.get("gateDenialsTotal", 0) + outcome.denied
            if outcome.acked == 0:
                return False
            work = Work(outcome.state_ops, outcome.emits)
            acked, release = outcome.acked, outcome.release
        elif stages.window is not None:
            known = self._watermarks.get(pid)
            if stages.window.window_kind == "session":
                work = await session_cycle(self.http, qid, stages, envelopes, pid, known, report)
            else:
                newest = stamped[-1][0] or 0
                work = await window_cycle(self.http, qid, stages, envelopes, newest, pid, known,
                                          report)
        else:
            work = Work([], [{"key": e["key"], "value": e["value"]} for e in envelopes])
        push_items = await finish_emits(stages, work.emits, pid, pname)
        last = ordered[acked - 1]
        ack = {"transactionId": last.get("transactionId"),
               "leaseId": last.get("leaseId") or group.lease_id,
               "status": "completed", "count": acked}
        await commit_cycle(self.http, qid, pid, group.consumer_group, work.state_ops, push_items,
                           ack, release)
        self._committed(pid, work, push_items)
        return True

    def _committed(self, partition_id: str, work: Work, push_items: List[Any]) -> None:
        if work.watermark is not None:
            self._watermarks[partition_id] = work.watermark
        seen = self._recent.get(partition_id)
        if seen is not None and work.open_until is not None:
            # Every open window of the partition was in view: this replaces what was known.
            seen.open_until = work.open_until
            seen.probe = False
        stats = self._stats
        stats["stateOpsTotal"] += len(work.state_ops)
        stats["pushItemsTotal"] += len(push_items)
        stats["lateEventsTotal"] += work.late

    # -- the idle flush ------------------------------------------------------------------

    async def _flush_loop(self, interval_ms: int) -> None:
        # Sequential ticks: a tick that outlasts the interval delays the next one instead of
        # overlapping it.
        _RUNNING.set(self)
        while not self._stopped:
            await asyncio.sleep(interval_ms / 1000.0)
            if self._stopped:
                break
            self._flushing = True
            try:
                await self._flush_tick()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._report(err, "flush-tick")
            finally:
                self._flushing = False

    async def _flush_tick(self) -> None:
        self._forget_stale(time.time() * 1000)
        for pid, seen in list(self._recent.items()):
            if self._stopped:
                break
            try:
                async with self._lock(pid):
                    await self._flush_one(pid, seen)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._report(err, "flush", pid)
        self._stats["lastFlushAt"] = now_iso()

    async def _flush_one(self, partition_id: str, seen: _Seen) -> None:
        stages = self.stream.stages
        window = stages.window
        assert window is not None and self._server_query_id is not None
        if window.event_time_fn is not None:
            # Read under the partition lock: the committed watermark of the last cycle.
            clock: Optional[float] = self._watermarks.get(partition_id)
            if clock is None:
                return
        else:
            clock = math.floor(time.time() * 1000)
        work = await flush_partition(self.http, self._server_query_id, stages, partition_id,
                                     clock, probe=seen.probe)
        push_items: List[Any] = []
        if work.emits or work.state_ops:
            push_items = await finish_emits(stages, work.emits, partition_id, seen.name)
            await commit_cycle(self.http, self._server_query_id, partition_id,
                               self.consumer_group, work.state_ops, push_items, None)
            self._stats["flushCyclesTotal"] += 1
        self._committed(partition_id, work, push_items)
