"""Connection turnover under load: nginx ends every HTTP/2 connection after 50 requests.

At its request limit nginx sends ``GOAWAY`` on a connection that still carries parked
long-polls and pushes, then goes on answering those streams (and opening flow-control windows
for their bodies) before it closes the socket. The client has to read those answers: a pop
answered by the broker but dropped on the way holds the partition's lease, and every
consumer stalls until it expires; a push re-sent after its answer was dropped is a duplicate.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from typing import Any, Dict, List, Tuple

import pytest

from queen import Queen

PRODUCERS = 10
BATCHES = 20  # per producer, 10 messages each
CONSUMERS = 20
POLL_MILLIS = 2000
GUARD = 15.0  # seconds: a hang guard, not a performance bound


@pytest.mark.parametrize("listener", ["turnover", "turnover-h2c"])
async def test_goaway_at_the_request_limit_loses_and_repeats_nothing(ingress, listener):
    nginx = ingress.nginx
    url = nginx.url(listener)
    options: Dict[str, Any] = {"http2_prior_knowledge": True}
    if url.startswith("https:"):
        options = {"tls_ca_bundle": ingress.pki.ca}
    queen = Queen(url, handle_signals=False, retry_delay_millis=200, **options)
    queue = "turnover-" + uuid.uuid4().hex[:8]
    await queen.queue(queue).create()
    mark = nginx.mark()
    total = PRODUCERS * BATCHES * 10
    seen: List[Tuple[int, int]] = []
    everything = asyncio.Event()

    async def handler(batch: List[Dict[str, Any]]) -> None:
        seen.extend((m["data"]["p"], m["data"]["i"]) for m in batch)
        if len(seen) >= total:
            everything.set()

    async def consume() -> None:
        await (
            queen.queue(queue)
            .concurrency(CONSUMERS)
            .batch(10)
            .timeout_millis(POLL_MILLIS)
            .consume(handler)
        )

    consumer = asyncio.create_task(consume())

    async def produce(p: int) -> None:
        for b in range(BATCHES):
            items = [{"data": {"p": p, "i": b * 10 + k}} for k in range(10)]
            await queen.queue(queue).push(items)

    try:
        await asyncio.sleep(0.3)  # the consumers park their long-polls first
        await asyncio.wait_for(asyncio.gather(*(produce(p) for p in range(PRODUCERS))), GUARD)
        try:
            await asyncio.wait_for(everything.wait(), GUARD)
        except asyncio.TimeoutError:
            raise AssertionError(f"consumption stalled at {len(seen)} of {total}") from None
        await asyncio.sleep(0.3)  # a late duplicate would show up here
        lines = nginx.log_since(mark, listener)  # parked long-polls are not logged yet
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await queen.close()

    counts = collections.Counter(seen)
    expected = {(p, i) for p in range(PRODUCERS) for i in range(BATCHES * 10)}
    assert set(counts) == expected
    assert [key for key, n in counts.items() if n > 1] == []

    # nginx's side: every request it took was answered and read (499: the client went away),
    # no push reached it twice, and the connections really turned over.
    assert {line.protocol for line in lines} == {"HTTP/2.0"}
    assert [line for line in lines if line.status not in (200, 204)] == []
    assert len([line for line in lines if line.uri == "/api/v1/push"]) == PRODUCERS * BATCHES
    per_connection = collections.Counter(line.connection for line in lines)
    assert max(per_connection.values()) <= nginx.TURNOVER_REQUESTS
    assert len(per_connection) >= len(lines) // nginx.TURNOVER_REQUESTS
