"""Helpers for driving the engine directly (no sockets)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import orjson
import pytest

from queen.testing._engine import Broker, Clock
from queen.testing._wire import Request, Response

START = 1_800_000_000.0  # a fixed instant keeps timestamps in assertions exact


class Api:
    """A thin synchronous-looking wrapper: ``await api.post(path, body)`` → (status, json)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.clock = broker.clock
        self.last: Optional[Response] = None

    async def raw(self, method: str, path: str, query: str = "", body: Any = None,
                  raw: Optional[bytes] = None, node: int = 0) -> Response:
        data = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
        r = await self.broker.handle(Request(method, path, query, {}, data), node)
        self.last = r
        return r

    async def call(self, method: str, path: str, query: str = "", body: Any = None,
                   raw: Optional[bytes] = None, node: int = 0) -> Any:
        r = await self.raw(method, path, query, body, raw, node)
        return orjson.loads(r.body) if r.body else None

    async def get(self, path: str, query: str = "", **kw: Any) -> Any:
        return await self.call("GET", path, query, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.call("POST", path, body=body, **kw)

    async def delete(self, path: str, query: str = "") -> Any:
        return await self.call("DELETE", path, query)

    # -- shortcuts ---------------------------------------------------------------------
    async def push(self, queue: str, *payloads: Any, partition: Optional[str] = None,
                   txs: Optional[List[str]] = None) -> List[Dict[str, Any]]:
        items = []
        for i, p in enumerate(payloads):
            item: Dict[str, Any] = {"queue": queue, "payload": p}
            if partition is not None:
                item["partition"] = partition
            if txs is not None:
                item["transactionId"] = txs[i]
            items.append(item)
        return await self.post("/api/v1/push", {"items": items})  # type: ignore[no-any-return]

    async def pop(self, queue: str, partition: Optional[str] = None, query: str = "") -> Any:
        path = f"/api/v1/pop/queue/{queue}"
        if partition is not None:
            path += f"/partition/{partition}"
        return await self.get(path, query)

    async def ack(self, msg: Dict[str, Any], status: str = "completed", **extra: Any) -> Any:
        body = {"transactionId": msg["transactionId"], "partitionId": msg["partitionId"],
                "status": status, **extra}
        return (await self.post("/api/v1/ack", body))[0]

    async def ack_batch(self, msgs: List[Dict[str, Any]], status: str = "completed",
                        **extra: Any) -> Any:
        acks = [{"transactionId": m["transactionId"], "partitionId": m["partitionId"],
                 "status": status, "leaseId": m["leaseId"]} for m in msgs]
        return await self.post("/api/v1/ack/batch", {"acknowledgments": acks, **extra})

    async def configure(self, queue: str, **options: Any) -> Any:
        return await self.post("/api/v1/configure", {"queue": queue, "options": options})


@pytest.fixture
def clock() -> Clock:
    return Clock(START, frozen=True)


@pytest.fixture
def broker(clock: Clock) -> Broker:
    return Broker(clock)


@pytest.fixture
def api(broker: Broker) -> Api:
    return Api(broker)


@pytest.fixture
def make_api(clock: Clock) -> Any:
    """Build an :class:`Api` over a new broker with other switches (same clock)."""

    def make(**kwargs: Any) -> Api:
        return Api(Broker(clock, **kwargs))

    return make
