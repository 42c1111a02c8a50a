"""The broker's data model (spec §3.1, §6.1).

Messages live in per-partition lists sorted by ``(created_at, id)`` with a parallel key list
for ``bisect``, plus a ``transactionId`` index for duplicate detection and ack lookup (§3.9).
Messages are never marked when consumed; each (partition, consumer group) has a
:class:`Consumer` row with a cursor (the key of the last consumed message) and the
partition-level lease (§3.4). A :class:`Journal` lets a transaction or a streams cycle undo
its mutations when a later operation fails (§2.5: "the whole transaction is rolled back").
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ._ids import UuidV7, uuid4

__all__ = [
    "DEFAULT_OPTIONS",
    "QUEUE_MODE",
    "Consumer",
    "DlqEntry",
    "Journal",
    "Message",
    "Partition",
    "Queue",
    "State",
    "SubMeta",
    "Trace",
]

QUEUE_MODE = "__QUEUE_MODE__"
Key = Tuple[int, str]

#: Server defaults of every queue option (§4, verified by configure echoes).
DEFAULT_OPTIONS: Dict[str, Any] = {
    "completedRetentionSeconds": 0,
    "deadLetterQueue": False,
    "delayedProcessing": 0,
    "dlqAfterMaxRetries": False,
    "encryptionEnabled": False,
    "leaseTime": 300,
    "maxSize": 0,
    "maxWaitTimeSeconds": 0,
    "priority": 0,
    "retentionEnabled": False,
    "retentionSeconds": 0,
    "retryDelay": 1000,
    "retryLimit": 3,
    "ttl": 3600,
    "windowBuffer": 0,
}


class Journal:
    """Undo actions of one transaction, run newest first on rollback."""

    __slots__ = ("_seen", "undo")

    def __init__(self) -> None:
        self.undo: List[Callable[[], object]] = []
        self._seen: Set[int] = set()

    def add(self, action: Callable[[], object]) -> None:
        self.undo.append(action)

    def first_touch(self, obj: object) -> bool:
        """True the first time ``obj`` is seen in this transaction."""
        if id(obj) in self._seen:
            return False
        self._seen.add(id(obj))
        return True

    def rollback(self) -> None:
        for action in reversed(self.undo):
            action()
        self.undo.clear()


class Message:
    __slots__ = (
        "created_us", "data", "encoded", "id", "key", "partition", "producer_sub", "trace_id",
        "tx",
    )

    def __init__(
        self, mid: str, tx: str, data: Any, trace_id: Optional[str], created_us: int,
        partition: Partition,
    ) -> None:
        self.id = mid
        self.tx = tx
        self.data = data
        self.trace_id = trace_id
        self.producer_sub: Optional[str] = None
        self.created_us = created_us
        self.partition = partition
        self.key: Key = (created_us, mid)
        # Pre-encoded static parts of the pop representation, built on first delivery.
        self.encoded: Optional[Tuple[bytes, bytes]] = None


class Consumer:
    """One (partition, consumer group) row: cursor, lease and counters (§3.1)."""

    __slots__ = (
        "acked", "batch_size", "batches", "created_us", "cursor", "expires", "group",
        "last_consumed_us", "partition", "retry", "token", "total_consumed",
    )

    _FIELDS = (
        "acked", "batch_size", "batches", "cursor", "expires", "last_consumed_us", "retry",
        "token", "total_consumed",
    )

    def __init__(self, partition: Partition, group: str, created_us: int) -> None:
        self.partition = partition
        self.group = group
        self.created_us = created_us
        self.cursor: Optional[Key] = None
        self.token: Optional[str] = None
        self.expires = 0.0
        self.batch_size = 0
        self.acked = 0
        self.retry = 0
        self.last_consumed_us: Optional[int] = None
        self.total_consumed = 0
        self.batches = 0

    def lease_active(self, now: float) -> bool:
        return self.token is not None and self.expires > now

    def release(self) -> None:
        self.token = None
        self.expires = 0.0
        self.batch_size = 0
        self.acked = 0

    def fields(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._FIELDS)

    def restore(self, saved: Tuple[Any, ...]) -> None:
        for name, value in zip(self._FIELDS, saved):
            setattr(self, name, value)


class Partition:
    __slots__ = (
        "by_tx", "consumers", "created_us", "id", "keys", "last_activity_us", "msgs", "name",
        "queue",
    )

    def __init__(self, queue: Queue, name: str, created_us: int) -> None:
        self.id = uuid4()
        self.name = name
        self.queue = queue
        self.created_us = created_us
        self.msgs: List[Message] = []
        self.keys: List[Key] = []
        self.by_tx: Dict[str, Message] = {}
        self.consumers: Dict[str, Consumer] = {}
        self.last_activity_us = created_us

    def after(self, cursor: Optional[Key]) -> int:
        """Index of the first message after ``cursor``."""
        return 0 if cursor is None else bisect_right(self.keys, cursor)

    def first_at_or_after(self, ts_us: int) -> int:
        return bisect_left(self.keys, (ts_us, ""))

    def add(self, msg: Message) -> None:
        if not self.keys or msg.key > self.keys[-1]:
            self.msgs.append(msg)
            self.keys.append(msg.key)
        else:
            # Only random-id transactional pushes land out of order (§2.5).
            at = bisect_right(self.keys, msg.key)
            self.keys.insert(at, msg.key)
            self.msgs.insert(at, msg)
        self.by_tx[msg.tx] = msg

    def remove(self, msg: Message) -> None:
        at = bisect_left(self.keys, msg.key)
        if at < len(self.keys) and self.keys[at] == msg.key:
            del self.keys[at]
            del self.msgs[at]
        if self.by_tx.get(msg.tx) is msg:
            del self.by_tx[msg.tx]

    def newest(self) -> Optional[Message]:
        return self.msgs[-1] if self.msgs else None


class Queue:
    __slots__ = ("created_us", "id", "name", "namespace", "options", "partitions", "rr", "task")

    def __init__(self, name: str, created_us: int) -> None:
        self.id = uuid4()
        self.name = name
        dot = name.split(".")
        # §2.1: namespace = text before the first dot, task = between first and second dot.
        self.namespace = dot[0]
        self.task = dot[1] if len(dot) > 1 else ""
        self.options: Dict[str, Any] = dict(DEFAULT_OPTIONS)
        self.created_us = created_us
        self.partitions: Dict[str, Partition] = {}
        self.rr = 0

    def lease_seconds(self) -> float:
        """``leaseTime`` in seconds, 60 when configured as 0 (§2.2)."""
        value = self.options.get("leaseTime") or 0
        return float(value) if value else 60.0


class SubMeta:
    """Subscription metadata of a named group on (queue[, partition]) (§3.6)."""

    __slots__ = ("created_us", "group", "mode", "partition", "queue", "ts_us")

    def __init__(self, group: str, queue: str, partition: str, mode: str, ts_us: int,
                 created_us: int) -> None:
        self.group = group
        self.queue = queue
        self.partition = partition
        self.mode = mode
        self.ts_us = ts_us
        self.created_us = created_us


class DlqEntry:
    __slots__ = ("error", "failed_us", "group", "message", "retry_count")

    def __init__(self, message: Message, group: str, error: str, retry_count: int,
                 failed_us: int) -> None:
        self.message = message
        self.group = group
        self.error = error
        self.retry_count = retry_count
        self.failed_us = failed_us


class Trace:
    __slots__ = ("created_us", "data", "event_type", "group", "id", "message", "names", "worker")

    def __init__(self, message: Message, group: str, event_type: str, data: Any,
                 names: List[str], worker: str, created_us: int) -> None:
        self.id = uuid4()
        self.message = message
        self.group = group
        self.event_type = event_type
        self.data = data
        self.names = names
        self.worker = worker
        self.created_us = created_us


class State:
    """Everything the broker remembers; :meth:`Broker.reset` replaces it wholesale."""

    def __init__(self) -> None:
        self.queues: Dict[str, Queue] = {}
        self.partitions: Dict[str, Partition] = {}
        self.subs: Dict[Tuple[str, str, str], SubMeta] = {}
        self.dlq: List[DlqEntry] = []
        self.traces: List[Trace] = []
        self.leases: Dict[str, List[Consumer]] = {}
        self.ids = UuidV7()
        self.last_us = 0
        self.journal: Optional[Journal] = None
        self.maintenance = False
        self.pop_maintenance = False
        self.buffer: List[Any] = []
        self.streams: Any = None
        # Counters for the dashboard-style endpoints.
        self.pushed = 0
        self.popped = 0
        self.acked = 0
        self.started_us = 0

    # -- time ---------------------------------------------------------------------------
    def stamp(self, now: float) -> int:
        """A database transaction time in microseconds, later than every earlier one.

        Distinct calls never share an instant (a pop's "now" is after the push it follows,
        even on a frozen clock); all rows of one call share its instant (Q28).
        """
        us = int(now * 1_000_000)
        if us <= self.last_us:
            us = self.last_us + 1
        self.last_us = us
        return us

    # -- queues and partitions ------------------------------------------------------------
    def queue(self, name: str, now_us: int) -> Queue:
        q = self.queues.get(name)
        if q is None:
            q = Queue(name, now_us)
            self.queues[name] = q
            j = self.journal
            if j is not None:
                j.add(lambda: self.queues.pop(name, None))
        return q

    def partition(self, q: Queue, name: str, now_us: int) -> Partition:
        p = q.partitions.get(name)
        if p is None:
            p = Partition(q, name, now_us)
            q.partitions[name] = p
            self.partitions[p.id] = p
            j = self.journal
            if j is not None:
                def undo(p: Partition = p) -> None:
                    q.partitions.pop(p.name, None)
                    self.partitions.pop(p.id, None)
                j.add(undo)
        return p

    def add_message(self, p: Partition, msg: Message) -> None:
        p.add(msg)
        p.last_activity_us = msg.created_us
        self.pushed += 1
        j = self.journal
        if j is not None:
            j.add(lambda: p.remove(msg))

    def drop_queue(self, q: Queue) -> None:
        del self.queues[q.name]
        for p in q.partitions.values():
            self.partitions.pop(p.id, None)
            for c in p.consumers.values():
                c.release()
        self.dlq = [e for e in self.dlq if e.message.partition.queue is not q]
        self.traces = [t for t in self.traces if t.message.partition.queue is not q]

    def drop_messages(self, doomed: List[Message]) -> None:
        """Delete messages with their DLQ entries and traces (§2.12, §3.11)."""
        if not doomed:
            return
        ids = {id(m) for m in doomed}
        for m in doomed:
            m.partition.remove(m)
        self.dlq = [e for e in self.dlq if id(e.message) not in ids]
        self.traces = [t for t in self.traces if id(t.message) not in ids]

    # -- consumers and leases ---------------------------------------------------------------
    def consumer(self, p: Partition, group: str, now_us: int) -> Consumer:
        c = p.consumers.get(group)
        if c is None:
            c = Consumer(p, group, now_us)
            p.consumers[group] = c
            j = self.journal
            if j is not None:
                j.add(lambda: p.consumers.pop(group, None))
        return c

    def touch(self, c: Consumer) -> None:
        """Call before mutating a consumer row (records it for rollback)."""
        j = self.journal
        if j is None or not j.first_touch(c):
            return
        saved = c.fields()

        def undo() -> None:
            c.restore(saved)
            if c.token is not None:
                rows = self.leases.setdefault(c.token, [])
                if c not in rows:
                    rows.append(c)

        j.add(undo)

    def lease(self, c: Consumer, token: str, expires: float) -> None:
        c.token = token
        c.expires = expires
        self.leases.setdefault(token, []).append(c)

    def holders(self, token: str) -> List[Consumer]:
        """Consumer rows that still carry ``token`` (stale index entries are dropped)."""
        rows = self.leases.get(token)
        if not rows:
            return []
        live = [c for c in rows if c.token == token]
        if live:
            self.leases[token] = live
        else:
            del self.leases[token]
        return live

    def dead_letter(self, msg: Message, group: str, error: str, retry: int, now_us: int) -> None:
        entry = DlqEntry(msg, group, error, retry, now_us)
        self.dlq.append(entry)
        j = self.journal
        if j is not None:
            j.add(lambda: self.dlq.remove(entry))
