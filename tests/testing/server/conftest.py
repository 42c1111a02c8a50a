"""Fixtures of the server-layer tests: a stub engine behind real sockets, raw-socket helpers."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from server_stub import StubBroker

from queen.testing import pytest_plugin
from queen.testing._server import QueenTestServer


def pytest_configure(config: pytest.Config) -> None:
    # The plugin is loaded through its entry point when queen-turbo is installed; from a
    # plain checkout, register it here so the fixture tests run either way.
    if not config.pluginmanager.has_plugin("queen"):
        config.pluginmanager.register(pytest_plugin, "queen")


@pytest.fixture
def stub() -> StubBroker:
    return StubBroker()


@pytest.fixture
async def server(stub: StubBroker) -> AsyncIterator[QueenTestServer]:
    async with QueenTestServer(broker=stub) as srv:
        yield srv
