"""A plain httpx client against the server with the real engine: the response shapes of the
spec (§2.1-§2.5) arrive intact through the HTTP layer."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from server_helpers import Raw, get

from queen.testing import QueenTestServer

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
async def real():
    async with QueenTestServer() as server:
        yield server


async def test_push_pop_ack_and_transaction(real):
    async with httpx.AsyncClient(base_url=real.url) as http:
        push = await http.post(
            "/api/v1/push",
            json={
                "items": [
                    {"queue": "flow-q", "partition": "P", "payload": {"i": i}, "transactionId": t}
                    for i, t in enumerate(["t0", "t1"])
                ]
            },
        )
        assert push.status_code == 200  # deferred: 200 on the wire
        results = push.json()
        assert [r["status"] for r in results] == ["queued", "queued"]
        assert [r["transaction_id"] for r in results] == ["t0", "t1"]
        assert all(r["queueName"] == "flow-q" and UUID.match(r["message_id"]) for r in results)

        pop = await http.get("/api/v1/pop/queue/flow-q/partition/P", params={"batch": 2})
        assert pop.status_code == 200
        body = pop.json()
        assert body["success"] is True and body["partitionsClaimed"] == 1
        assert [m["data"] for m in body["messages"]] == [{"i": 0}, {"i": 1}]
        first, second = body["messages"]
        assert first["leaseId"] == body["leaseId"] and UUID.match(first["partitionId"])

        ack = await http.post(
            "/api/v1/ack",
            json={
                "transactionId": first["transactionId"],
                "partitionId": first["partitionId"],
                "leaseId": first["leaseId"],
                "status": "completed",
            },
        )
        assert ack.status_code == 200
        (item,) = ack.json()
        assert item["success"] is True and item["leaseReleased"] is False

        tx = await http.post(
            "/api/v1/transaction",
            json={
                "operations": [
                    {
                        "type": "ack",
                        "transactionId": second["transactionId"],
                        "partitionId": second["partitionId"],
                        "status": "completed",
                    },
                    {"type": "push", "items": [{"queue": "flow-out", "payload": {"done": True}}]},
                ]
            },
        )
        assert tx.status_code == 200
        outcome = tx.json()
        assert outcome["success"] is True
        assert [r["type"] for r in outcome["results"]] == ["ack", "push"]

        out = (await http.get("/api/v1/pop/queue/flow-out")).json()
        assert [m["data"] for m in out["messages"]] == [{"done": True}]
        empty = (await http.get("/api/v1/pop/queue/flow-q/partition/P")).json()
        assert empty["messages"] == []

        bad = await http.post("/api/v1/push", content=b"")
        assert bad.status_code == 400 and bad.json() == {"error": "Empty request body"}


async def test_unknown_route_and_options_with_the_real_engine(real):
    raw = await Raw.open(real.nodes[0].port)
    await raw.send(get("/api/v1/pop?namespace=a&task=b"))
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 404 File Not Found\r\n") and b"Content-Type" not in head
    assert body == (
        b"<html><body><h1>File Not Found</h1><hr><i>uWebSockets/20 Server</i></body></html>"
    )
    await raw.send(b"OPTIONS /api/v1/push HTTP/1.1\r\nHost: t\r\n\r\n")
    head, body = await raw.response()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b""
    await raw.close()


async def test_long_poll_is_deferred_so_pipelining_behind_it_kills_the_connection(real):
    raw = await Raw.open(real.nodes[0].port)
    await raw.send(get("/api/v1/pop/queue/lp-q?wait=true&timeout=3000"))
    await asyncio.sleep(0.05)
    await raw.send(get("/health"))
    assert await raw.eof(2.0) == b""
    await raw.close()
