"""Fixtures shared by every test directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import AsyncIterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _brokers import REAL_BROKER_SKIP, BrokerHandle, real_broker_urls

from queen.testing import QueenTestServer


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
