"""Fixtures of the consumer/producer suite: a broker on real sockets and clients.

``e2e`` runs a test on both brokers (``queen.testing`` and the real one, see
``tests/_brokers.py``); ``server``/``client``/``make_client`` are the in-process broker alone,
for tests that need its clock, its fault injection or its state.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, List

import pytest
from _brokers import BrokerHandle
from qt_helpers import E2E

from queen import Queen
from queen.testing import QueenTestServer


@pytest.fixture
async def e2e(any_broker: BrokerHandle) -> AsyncIterator[E2E]:
    handle = E2E(any_broker)
    try:
        yield handle
    finally:
        await handle.close()


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
