"""The conformance suite needs the real broker; without one every test skips with a reason."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest
from _brokers import REAL_BROKER_SKIP, real_broker_urls
from _conformance import Scenario, run_both


@pytest.fixture
def conform() -> Callable[..., Awaitable[None]]:
    """``await conform(scenario, **queen_test_server_options)``: play on both brokers."""
    urls = real_broker_urls()
    if urls is None:
        pytest.skip(REAL_BROKER_SKIP)
    real_url = urls[0]

    async def run(scenario: Scenario, **options: Any) -> None:
        await run_both(scenario, real_url, **options)

    return run
