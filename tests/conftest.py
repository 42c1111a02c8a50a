"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator, Mapping

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _brokers import REAL_BROKER_SKIP, BrokerHandle, real_broker_urls

from queen.testing import QueenTestServer

# QUEEN_TEST_LOOP=uvloop runs every async test and fixture on uvloop's event loop (the
# `uvloop` extra); .ci/run runs the client and consumer suites that way once more.
# (pytest-asyncio >= 1.4 asks this hook for the loop factories; implemented only when wanted,
# since an implementation must name at least one factory.)
if os.environ.get("QUEEN_TEST_LOOP") == "uvloop":

    @pytest.hookimpl(optionalhook=True)
    def pytest_asyncio_loop_factories(
        config: pytest.Config, item: pytest.Item
    ) -> Mapping[str, Callable[[], Any]]:
        import uvloop

        return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(params=["testing", "real"])
async def any_broker(request: pytest.FixtureRequest) -> AsyncIterator[BrokerHandle]:
    """A broker for an end-to-end test: the in-process double, then the real one.

    The ``real`` parameter uses the broker at ``QUEEN_BROKER_URL``/``QUEEN_URL`` and skips
    with a reason when neither is set. Its state outlives the test: name queues with
    ``any_broker.name()``.
    """
    if request.param == "testing":
        async with QueenTestServer() as server:
            yield BrokerHandle("testing", server.urls, server)
        return
    urls = real_broker_urls()
    if urls is None:
        pytest.skip(REAL_BROKER_SKIP)
    yield BrokerHandle("real", urls)


@pytest.fixture
def fresh_warnings() -> Iterator[None]:
    """Once-per-process warnings (unknown options ...) warn again in this test."""
    import queen._validate

    queen._validate._warned.clear()
    yield
    queen._validate._warned.clear()
