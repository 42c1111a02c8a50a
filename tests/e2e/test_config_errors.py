"""A configuration error is raised at once, on both brokers: ``https://`` pointed at the
broker's plain-HTTP port can never work, so it is neither retried nor failed over, and a
consumer raises it instead of retrying forever."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, List

import pytest

from queen import Queen, QueenConnectionError

GUARD = 20.0  # seconds: a hang guard, not a performance bound


async def test_https_to_the_plain_http_port(
    any_broker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="queen.client")
    https = [url.replace("http://", "https://") for url in any_broker.urls]
    handled: List[Any] = []
    async with Queen(https, handle_signals=False, retry_attempts=5) as queen:
        with pytest.raises(QueenConnectionError, match="does not speak TLS") as info:
            await asyncio.wait_for(queen.queue(any_broker.name("tls")).create(), GUARD)
        assert info.value.retriable is False
        assert info.value.url.startswith("https://")
        with pytest.raises(QueenConnectionError, match="does not speak TLS"):
            await asyncio.wait_for(
                queen.queue(any_broker.name("tls")).consume(handled.append), GUARD
            )
    operations = {getattr(r, "queen_operation", None) for r in caplog.records}
    assert not operations & {"HttpClient.retry", "HttpClient.failover"}
    assert handled == []
