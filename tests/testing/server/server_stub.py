"""A tiny stand-in for the engine, so the server layer is tested on its own.

It routes just enough of the 0.15 surface to exercise the servers: immediate routes
(``/health``, ``OPTIONS``, the pop-maintenance 204, unknown-route 404s) and deferred,
database-backed ones (push and a long-polling pop that waits on an event).
"""

from __future__ import annotations

import asyncio
import json
from typing import List, Optional, Tuple

from queen.testing._wire import Request, Response

CORS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
]
IMMEDIATE = [("Content-Type", "application/json"), *CORS, ("Access-Control-Max-Age", "86400")]
DEFERRED = [("Content-Type", "application/json"), *CORS]
NOT_FOUND = b"<html><body><h1>File Not Found</h1><hr><i>uWebSockets/20 Server</i></body></html>"


class StubClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class StubBroker:
    """Routes: OPTIONS *, GET /health, GET /api/v1/system/maintenance/pop (toggle via attribute),
    POST /api/v1/push, GET /api/v1/pop/queue/<q>[?wait=true&timeout=ms], GET /slow?ms=N,
    GET /big?n=N (N bytes), GET /boom (raises); anything else is the 404 catch-all."""

    def __init__(self) -> None:
        self.clock = StubClock()
        self.calls: List[Tuple[int, Request]] = []
        self.messages: List[object] = []
        self.pop_paused = False
        self.cancelled = 0
        self._arrived: Optional[asyncio.Condition] = None

    def reset(self) -> None:
        self.messages.clear()

    def is_deferred(self, request: Request) -> bool:
        if request.method == "OPTIONS" or self.pop_paused:
            return False
        return request.path.startswith("/api/v1/") or request.path == "/slow"

    def _cond(self) -> asyncio.Condition:
        if self._arrived is None:
            self._arrived = asyncio.Condition()
        return self._arrived

    async def handle(self, request: Request, node: int = 0) -> Response:
        self.calls.append((node, request))
        path = request.path
        if request.method == "OPTIONS":
            return Response(200, b"", list(IMMEDIATE), "OK")
        if path == "/health" and request.method == "GET":
            return Response(200, b'{"status":"healthy"}', list(IMMEDIATE), "OK")
        if path.startswith("/api/v1/pop/queue/") and request.method == "GET":
            if self.pop_paused:
                body = b'{"messages":[],"paused":true}'
                return Response(204, body, list(IMMEDIATE), "No Content")
            return await self._pop(request)
        if path == "/api/v1/push" and request.method == "POST":
            items = json.loads(request.body)["items"]
            async with self._cond():
                self.messages.extend(item.get("payload") for item in items)
                self._cond().notify_all()
            body = json.dumps([{"index": i, "status": "queued"} for i in range(len(items))])
            return Response(200, body.encode(), list(DEFERRED), "OK")
        if path == "/api/v1/consumer-groups":
            return Response(200, b"", list(DEFERRED), "OK")
        if path == "/big":
            size = int(request.query.partition("n=")[2])
            return Response(200, b"x" * size, [("Content-Type", "text/plain")], "OK")
        if path == "/boom":
            raise RuntimeError("engine bug")
        if path == "/slow":
            ms = int(request.query.partition("ms=")[2] or "0")
            try:
                await asyncio.sleep(ms / 1000)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            return Response(200, b'{"slow":true}', list(DEFERRED), "OK")
        return Response(404, NOT_FOUND, [], "File Not Found")

    async def _pop(self, request: Request) -> Response:
        wait = "wait=true" in request.query
        timeout = 30.0
        if "timeout=" in request.query:
            timeout = int(request.query.split("timeout=")[1].split("&")[0]) / 1000
        cond = self._cond()
        try:
            async with cond:
                if not self.messages and wait:
                    try:
                        await asyncio.wait_for(cond.wait_for(lambda: bool(self.messages)), timeout)
                    except asyncio.TimeoutError:
                        pass
                got = self.messages[:1]
                del self.messages[:1]
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        body = json.dumps({"messages": [{"data": m} for m in got], "success": True})
        return Response(200, body.encode(), list(DEFERRED), "OK")
