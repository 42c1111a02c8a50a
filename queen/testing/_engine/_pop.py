"""Pop: ``GET /api/v1/pop/queue/:queue[/partition/:partition]`` (spec §2.2, §3.4 to §3.7, §6.3).

One attempt claims partition-level leases for (partition, consumer group), reads the messages
after the group's cursor and answers one of the shapes of §2.2. Leases expire lazily (an
expired lease is simply free, §3.4); a claim that finds nothing visible releases its lease at
once but still answers the success shape with the token. Subscription modes apply to named
groups while they have no cursor and no stored subscription on the queue (§3.6); the wildcard
route picks partitions by the stored cursor only, so a new group claims a partition even when
all its messages predate the subscription. Long polling is in :func:`handle_pop`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import orjson

from .._wire import Request, Response
from ._context import Context
from ._longpoll import ticks
from ._query import get_bool, get_int, get_param
from ._responses import immediate_raw
from ._state import QUEUE_MODE, Consumer, Key, Message, Partition, Queue, SubMeta
from ._timefmt import fmt_us, parse_ts

__all__ = ["PopParams", "attempt", "handle_pop"]

_dumps = orjson.dumps
_SORT = orjson.OPT_SORT_KEYS
PAUSED = b'{"messages":[],"paused":true}'


class PopParams:
    """The query parameters of one pop request (§2.2 table)."""

    __slots__ = (
        "auto_ack", "batch", "group", "partition", "partitions", "queue", "sub_from",
        "sub_mode", "timeout", "wait",
    )

    def __init__(self, queue: str, partition: Optional[str], query: str) -> None:
        self.queue = queue
        self.partition = partition
        self.batch = get_int(query, "batch", 1)
        self.wait = get_bool(query, "wait")
        self.timeout = get_int(query, "timeout", 30000)
        group = get_param(query, "consumerGroup")
        self.group = QUEUE_MODE if group is None else group
        self.auto_ack = get_bool(query, "autoAck")
        self.sub_mode = get_param(query, "subscriptionMode") or ""
        self.sub_from = get_param(query, "subscriptionFrom")
        # §3.13: at least one partition; the partition route always claims just its own.
        self.partitions = max(get_int(query, "partitions", 1), 1) if partition is None else 1


def _encode(msg: Message) -> Tuple[bytes, bytes]:
    p = msg.partition
    pre = b"".join((
        b',"createdAt":"', fmt_us(msg.created_us).encode(), b'","data":',
        _dumps(msg.data, option=_SORT), b',"id":"', msg.id.encode(), b'"',
    ))
    post = b"".join((
        b',"partition":', _dumps(p.name), b',"partitionId":"', p.id.encode(),
        b'","producerSub":', _dumps(msg.producer_sub), b',"traceId":', _dumps(msg.trace_id),
        b',"transactionId":', _dumps(msg.tx), b"}",
    ))
    msg.encoded = (pre, post)
    return msg.encoded


def _success(
    group: str, lease: str, q: Queue, claimed: List[Partition], msgs: List[Message]
) -> bytes:
    g = _dumps(group)
    lease_b = _dumps(lease)
    head = b'{"consumerGroup":' + g
    parts = []
    for m in msgs:
        pre, post = m.encoded or _encode(m)
        parts.append(head + pre + b',"leaseId":' + lease_b + post)
    first = claimed[0]
    return b"".join((
        head, b',"leaseId":', lease_b, b',"messages":[', b",".join(parts),
        b'],"partition":', _dumps(first.name), b',"partitionId":"', first.id.encode(),
        b'","partitionsClaimed":', str(len(claimed)).encode(), b',"queue":', _dumps(q.name),
        b',"success":true}',
    ))


def _fail(error: str) -> Dict[str, Any]:
    return {"error": error, "messages": [], "success": False}


def expired_shape(pp: PopParams) -> Dict[str, Any]:
    """The "long poll expired" body (§2.2, no ``partitionsClaimed``)."""
    return {
        "consumerGroup": pp.group, "leaseId": None, "messages": [],
        "partition": pp.partition or "", "partitionId": None, "queue": pp.queue,
        "success": True,
    }


def _sub_ts(ctx: Context, pp: PopParams, q: Queue, p: Partition, now_us: int) -> Optional[int]:
    """Subscription start of a named group without a cursor on ``p`` (§3.6), or ``None``.

    Stored subscription metadata wins; otherwise the request's ``subscriptionFrom`` /
    ``subscriptionMode`` are stored (for the partition of the route, or ``""`` for the
    wildcard) and, as the broker does, every other partition holding messages gets a cursor
    row for the group (touched now, no cursor yet).
    """
    state = ctx.state
    subs = state.subs
    meta = subs.get((pp.group, q.name, p.name)) or subs.get((pp.group, q.name, ""))
    if meta is not None:
        return meta.ts_us
    ts: Optional[int] = None
    mode = ""
    # An unparsable timestamp means "from the beginning", even with subscriptionMode=new.
    if pp.sub_from and pp.sub_from != "now":
        ts, mode = parse_ts(pp.sub_from, now_us), "timestamp"
    elif pp.sub_from == "now" or pp.sub_mode == "new":
        ts, mode = now_us, "new"
    if ts is None:
        return None
    key = (pp.group, q.name, pp.partition or "")
    subs[key] = SubMeta(pp.group, q.name, pp.partition or "", mode, ts, now_us)
    for other in q.partitions.values():
        if other is not p and other.msgs and pp.group not in other.consumers:
            state.consumer(other, pp.group, now_us).last_consumed_us = now_us
    return ts


def _start(ctx: Context, pp: PopParams, q: Queue, p: Partition, c: Optional[Consumer],
           now_us: int) -> Tuple[Optional[Key], bool]:
    """(effective cursor, whether it is a subscription pin) for the group on ``p``."""
    if c is not None and c.cursor is not None:
        return c.cursor, False
    if pp.group == QUEUE_MODE:
        return None, False
    ts = _sub_ts(ctx, pp, q, p, now_us)
    if ts is None:
        return None, False
    # Pin to the last message created before the subscription instant (a future instant
    # therefore pins to the newest message, §3.6).
    at = p.first_at_or_after(ts)
    return (p.keys[at - 1] if at else None), True


def _claim(ctx: Context, pp: PopParams, q: Queue, p: Partition, cursor: Optional[Key],
           pinned: bool, budget: int, token: str, now: float, now_us: int,
           out: List[Message]) -> None:
    state = ctx.state
    c = state.consumer(p, pp.group, now_us)
    if pinned:
        c.cursor = cursor
    start = p.after(cursor)
    delay = q.options.get("delayedProcessing") or 0
    limit_us = now_us - int(delay * 1_000_000) if delay else None
    msgs = p.msgs
    end = min(len(msgs), start + max(budget, 0))
    n = 0
    for i in range(start, end):
        m = msgs[i]
        if limit_us is not None and m.created_us > limit_us:
            break
        out.append(m)
        n += 1
    state.popped += n
    if pp.auto_ack:
        if n:
            c.cursor = msgs[start + n - 1].key
            c.total_consumed += n
            c.batches += 1
            c.last_consumed_us = now_us
        c.release()
        return
    if n:
        c.release()
        state.lease(c, token, now + q.lease_seconds())
        c.batch_size = n
    else:
        c.release()
        if pinned:
            c.last_consumed_us = now_us  # the empty claim's cursor sweep touches the row


def _window_ok(q: Queue, p: Partition, now_us: int) -> bool:
    wb = q.options.get("windowBuffer") or 0
    if not wb or not p.msgs:
        return True
    return now_us - p.msgs[-1].created_us >= int(wb * 1_000_000)


def attempt(ctx: Context, pp: PopParams) -> Tuple[Any, int]:
    """Run one pop attempt; return (body as dict or bytes, number of messages)."""
    state = ctx.state
    now = ctx.clock.now()
    now_us = state.stamp(now)
    q = state.queues.get(pp.queue)
    token = "" if pp.auto_ack else state.ids.next(now)
    out: List[Message] = []
    if pp.partition is not None:
        p = q.partitions.get(pp.partition) if q is not None else None
        if q is None or p is None:
            return _fail("partition_not_found"), 0
        c = p.consumers.get(pp.group)
        if c is not None and c.lease_active(now):
            return _fail("lease_held"), 0
        if not _window_ok(q, p, now_us):
            return {
                "consumerGroup": pp.group, "leaseId": "", "messages": [], "partition": p.name,
                "partitionId": p.id, "queue": q.name, "success": True,
                "windowBufferActive": True,
            }, 0
        cursor, pinned = _start(ctx, pp, q, p, c, now_us)
        _claim(ctx, pp, q, p, cursor, pinned, pp.batch, token, now, now_us, out)
        return _success(pp.group, token, q, [p], out), len(out)
    if q is None or not q.partitions:
        return _fail("no_available_partition"), 0
    budget = pp.batch if pp.batch > 0 else 1  # §2.2: batch=0 on the wildcard behaves like 1
    parts = list(q.partitions.values())
    # Rotate the starting partition so competing consumers spread over partitions.
    offset = q.rr % len(parts)
    q.rr += 1
    claimed: List[Partition] = []
    for p in parts[offset:] + parts[:offset]:
        c = p.consumers.get(pp.group)
        if c is not None and c.lease_active(now):
            continue
        if not _window_ok(q, p, now_us):
            continue
        # Eligibility reads the group's stored cursor, not its subscription start: a group
        # without a cursor claims any partition holding messages, even when they all
        # predate its subscription (the claim then pins the cursor and answers empty).
        if not p.msgs or (c is not None and p.after(c.cursor) >= len(p.msgs)):
            continue
        cursor, pinned = _start(ctx, pp, q, p, c, now_us)
        _claim(ctx, pp, q, p, cursor, pinned, budget - len(out), token, now, now_us, out)
        claimed.append(p)
        if len(out) >= budget or len(claimed) >= pp.partitions:
            break
    if not claimed:
        return _fail("no_available_partition"), 0
    return _success(pp.group, token, q, claimed, out), len(out)


async def handle_pop(ctx: Context, req: Request, queue: str,
                     partition: Optional[str]) -> Response:
    """Pop with optional long polling (§1.6)."""
    if ctx.state.pop_maintenance:
        return immediate_raw(204, PAUSED)
    pp = PopParams(queue, partition, req.query)
    fault = ctx.faults.take("pop")
    if fault is not None:
        return ctx.reply({"error": fault, "success": False}, 500)
    if pp.batch < 0:
        return ctx.reply({"error": "LIMIT must not be negative", "success": False}, 500)
    body, n = attempt(ctx, pp)
    if n or not pp.wait:
        return ctx.reply(body, 200 if n else 204)
    return await _park(ctx, pp)


async def _park(ctx: Context, pp: PopParams) -> Response:
    import asyncio

    loop = asyncio.get_running_loop()
    clock = ctx.clock
    t0_real, t0_clock = loop.time(), clock.now()

    def elapsed() -> float:
        return max(loop.time() - t0_real, clock.now() - t0_clock)

    deadline = max(pp.timeout, 0) / 1000.0
    schedule = ticks()
    next_tick = next(schedule)
    while True:
        target = min(next_tick, deadline) if ctx.prompt else next_tick
        el = elapsed()
        if el < target:
            await ctx.hub.sleep(target - el, pp.queue if ctx.prompt else None)
            el = elapsed()
            if not ctx.prompt and el < target:
                continue  # wire mode acts on its ticks only
        while next_tick <= el:
            next_tick = next(schedule)
        body, n = attempt(ctx, pp)
        if n:
            return ctx.reply(body)
        if el >= deadline:
            return ctx.reply(expired_shape(pp), 204)
