"""The ``queen_broker`` and ``queen_cluster`` fixtures, with the real engine behind them."""

from __future__ import annotations

import httpx

from queen.testing import SyncQueenTestServer


def test_queen_broker_fixture(queen_broker):
    assert isinstance(queen_broker, SyncQueenTestServer)
    health = httpx.get(queen_broker.url + "/health")
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    push = httpx.post(
        queen_broker.url + "/api/v1/push",
        json={"items": [{"queue": "fixture-q", "payload": {"n": 1}}]},
    )
    assert push.json()[0]["status"] == "queued"
    popped = httpx.get(queen_broker.url + "/api/v1/pop/queue/fixture-q").json()
    assert popped["messages"][0]["data"] == {"n": 1}


def test_queen_broker_is_fresh_per_test(queen_broker):
    popped = httpx.get(queen_broker.url + "/api/v1/pop/queue/fixture-q").json()
    assert popped.get("messages") == []


def test_queen_cluster_fixture(queen_cluster):
    assert len(queen_cluster.urls) == 3
    first, second, third = queen_cluster.urls
    httpx.post(first + "/api/v1/push", json={"items": [{"queue": "cq", "payload": 7}]})
    popped = httpx.get(third + "/api/v1/pop/queue/cq").json()
    assert [m["data"] for m in popped["messages"]] == [7]
    queen_cluster.nodes[1].stop()
    assert httpx.get(first + "/health").status_code == 200
    queen_cluster.nodes[1].start()
    assert httpx.get(second + "/health").status_code == 200
