"""The runner's wire traffic on both brokers, and why re-sending a cycle is safe
(``runtime/cycle.py``): a replayed ack cycle is refused and rolled back, a replayed ack-less
(idle flush) cycle stores nothing twice."""

from __future__ import annotations

from typing import Any

from queen import Queen
from queen.streams.runtime import commit_cycle, get_state, register_query
from queen.streams.runtime.streams_http_client import StreamsHttpClient


async def test_replayed_cycles_store_nothing_twice(any_broker: Any) -> None:
    src, sink, name = any_broker.name("w-src"), any_broker.name("w-sink"), any_broker.name("q")
    group = f"streams.{name}"
    async with Queen(any_broker.url, handle_signals=False) as queen:
        http = StreamsHttpClient(any_broker.url)
        try:
            await queen.queue(src).create()
            await queen.queue(sink).create()
            await queen.queue(src).partition("p").push([{"data": {"i": i}} for i in range(4)])
            reg = await register_query(http, name, src, "h1", sink_queue=sink)
            assert reg["fresh"] is True
            qid = reg["queryId"]
            msgs = await queen.queue(src).group(group).batch(2).wait(False).pop()
            pid = msgs[0]["partitionId"]
            ack = {"transactionId": msgs[-1]["transactionId"], "leaseId": msgs[-1]["leaseId"],
                   "status": "completed", "count": 2}
            ops = [{"type": "upsert", "key": "tumb:1\x1fw\x1fk",
                    "value": {"acc": 1, "windowStart": 0, "windowEnd": 1000}}]
            items = [{"queue": sink, "partition": "p", "payload": {"v": 1}}]
            first = await commit_cycle(http, qid, pid, group, ops, items, ack)
            assert first["ack_result"]["lease_released"] is True
            replay = await http.post("/streams/v1/cycle", {
                "query_id": qid, "partition_id": pid, "consumer_group": group,
                "state_ops": ops, "push_items": items, "ack": ack, "release_lease": True})
            assert replay["success"] is False and replay["error"] == "Invalid or expired lease"

            flush = [{"queue": sink, "partition": "p", "payload": {"v": 2}}]
            await commit_cycle(http, qid, pid, group, [{"type": "delete", "key": ops[0]["key"]}],
                               flush, None)
            again = await http.post("/streams/v1/cycle", {
                "query_id": qid, "partition_id": pid, "consumer_group": group,
                "state_ops": [], "push_items": flush, "ack": None, "release_lease": True})
            assert again["success"] is True
            assert again["push_results"][0]["status"] == "duplicate"
            assert await get_state(http, qid, pid) == {}

            out = await queen.queue(sink).partition("p").batch(10).wait(False).pop()
            assert [m["data"]["v"] for m in out] == [1, 2]
            rest = await queen.queue(src).group(group).batch(10).wait(False).pop()
            assert [m["data"]["i"] for m in rest] == [2, 3]  # the cursor moved exactly once
        finally:
            await http.close()
