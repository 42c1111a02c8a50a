"""Fixtures of the core-client tests: the in-process broker on real sockets, a recording
engine that keeps every request it answered, and a scripted fake transport for the few
behaviours (exact backoff sequences) that real sockets cannot pin down."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional, Tuple, Union

import orjson
import pytest

from queen import Queen
from queen._errors import QueenConnectionError
from queen._transport import RawResponse
from queen.testing import QueenTestServer
from queen.testing._engine import Broker
from queen.testing._wire import Request, Response


class RecordingBroker(Broker):
    """The real engine, plus a log of every request it was asked to answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: List[Tuple[int, Request]] = []

    async def handle(self, request: Request, node: int = 0) -> Response:
        self.requests.append((node, request))
        return await super().handle(request, node)

    def seen(self, method: Optional[str] = None, path: Optional[str] = None) -> List[Request]:
        """Requests matching ``method`` and a path prefix, in arrival order."""
        return [
            r
            for _, r in self.requests
            if (method is None or r.method == method) and (path is None or r.path.startswith(path))
        ]

    def bodies(self, method: str, path: str) -> List[Any]:
        return [orjson.loads(r.body) if r.body else None for r in self.seen(method, path)]

    def nodes_of(self, path: str) -> List[int]:
        return [n for n, r in self.requests if r.path.startswith(path)]


def make_client(target: Any, **kwargs: Any) -> Queen:
    """A client with fast retries and no signal handlers (tests never want them)."""
    options: Dict[str, Any] = {
        "handle_signals": False,
        "retry_delay_millis": 5,
        "timeout_millis": 3000,
    }
    options.update(kwargs)
    return Queen(target, **options)


@pytest.fixture
async def server() -> AsyncIterator[QueenTestServer]:
    async with QueenTestServer(broker=RecordingBroker()) as srv:
        yield srv


@pytest.fixture
async def cluster() -> AsyncIterator[QueenTestServer]:
    async with QueenTestServer(nodes=3, broker=RecordingBroker()) as srv:
        yield srv


@pytest.fixture
def broker(server: QueenTestServer) -> RecordingBroker:
    assert isinstance(server.broker, RecordingBroker)
    return server.broker


@pytest.fixture
async def queen(server: QueenTestServer) -> AsyncIterator[Queen]:
    client = make_client(server.url)
    try:
        yield client
    finally:
        await client.close()


Script = Union[RawResponse, BaseException, Callable[[str, str, Optional[bytes]], Any]]


def response(status: int = 200, body: Any = b"", headers: Optional[Dict[str, str]] = None,
             reason: str = "") -> RawResponse:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return RawResponse(status, reason or {200: "OK", 204: "No Content"}.get(status, "Error"),
                       {k.lower(): v for k, v in (headers or {}).items()}, data)


class FakeTransport:
    """A transport answering from a script (one entry per send, the last one repeats)."""

    def __init__(self, *script: Script) -> None:
        self.script: List[Script] = list(script)
        self.sends: List[Tuple[str, str, Optional[bytes], float]] = []
        self.closed = 0

    async def send(self, method: str, url: str, body: Optional[bytes],
                   timeout: float) -> RawResponse:
        self.sends.append((method, url, body, timeout))
        await asyncio.sleep(0)
        entry = self.script[0] if len(self.script) == 1 else self.script.pop(0)
        if isinstance(entry, BaseException):
            raise entry
        if callable(entry):
            return entry(method, url, body)  # type: ignore[no-any-return,unused-ignore]
        return entry

    async def aclose(self) -> None:
        self.closed += 1

    @property
    def urls(self) -> List[str]:
        return [s[1] for s in self.sends]


def refused(url: str = "http://a:6632/x") -> QueenConnectionError:
    return QueenConnectionError(f"GET {url} failed: connection refused", method="GET", url=url)


@pytest.fixture
def fresh_warnings() -> Iterator[None]:
    """Once-per-process warnings (unknown options ...) warn again in this test."""
    import queen._validate

    queen._validate._warned.clear()
    yield
    queen._validate._warned.clear()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> List[float]:
    """Record the policy's sleeps (seconds) instead of sleeping."""
    import queen._http as http_module

    recorded: List[float] = []

    class _Asyncio:
        @staticmethod
        async def sleep(seconds: float) -> None:
            recorded.append(seconds)

    monkeypatch.setattr(http_module, "asyncio", _Asyncio)
    return recorded
