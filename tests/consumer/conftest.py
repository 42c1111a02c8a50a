"""Fixtures of the consumer/producer suite: an in-process broker on real sockets and clients."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, List

import pytest

from queen import Queen
from queen.testing import QueenTestServer


@pytest.fixture
async def server() -> AsyncIterator[QueenTestServer]:
    async with QueenTestServer() as srv:
        yield srv


@pytest.fixture
async def cluster() -> AsyncIterator[QueenTestServer]:
    async with QueenTestServer(nodes=3) as srv:
        yield srv


@pytest.fixture
async def make_client(server: QueenTestServer) -> AsyncIterator[Callable[..., Queen]]:
    clients: List[Queen] = []

    def make(urls: Any = None, **options: Any) -> Queen:
        options.setdefault("handle_signals", False)
        options.setdefault("retry_delay_millis", 20)
        client = Queen(urls if urls is not None else server.url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close(timeout_millis=2000)


@pytest.fixture
async def client(make_client: Callable[..., Queen]) -> Queen:
    return make_client()
