"""Errors of an exchange name it, and behave as httpx code written for queen-mq expects.

queen-mq 0.15 let httpx's own errors through, so its users catch ``httpx.HTTPStatusError``
and read ``e.response.status_code`` / ``e.response.json()`` / ``e.request.url``. Ours are
those httpx errors too, with the real request and answer behind them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from queen import Queen, QueenConnectionError, QueenHttpError, QueenTimeoutError
from queen.testing import QueenTestServer


async def test_an_http_error_is_a_real_httpx_status_error(any_broker: Any) -> None:
    group, queue = any_broker.name("g"), any_broker.name("q-ü")
    url = f"{any_broker.url}/api/v1/consumer-groups/{group}/queues/{queue}/seek"
    async with Queen(any_broker.url, handle_signals=False) as queen:
        with pytest.raises(httpx.HTTPStatusError) as info:
            await queen.admin.seek_consumer_group(group, queue)  # {} is refused: 400
    error = info.value
    assert isinstance(error, QueenHttpError) and error.retriable is False
    assert error.response.status_code == error.status == 400
    assert error.response.json() == error.body == {
        "error": "Must specify either 'toEnd': true or 'timestamp'"
    }
    assert error.response.headers["content-type"] == "application/json"
    assert error.request.method == "POST" and error.response.request is error.request
    # The URL object percent-encodes what the wire carried raw.
    assert error.request.url == httpx.URL(url)
    assert error.message == "Must specify either 'toEnd': true or 'timestamp'"
    assert str(error) == f"{error.message} (POST {url})"


async def test_a_connection_error_names_its_request() -> None:
    async with QueenTestServer() as server:
        await server.nodes[0].stop()
        async with Queen(server.url, handle_signals=False, retry_attempts=1) as queen:
            with pytest.raises(httpx.TransportError) as info:
                await queen.admin.health()
    error = info.value
    assert isinstance(error, QueenConnectionError) and error.retriable is True
    assert (error.method, error.url) == ("GET", f"{server.url}/health")
    assert error.request.url == httpx.URL(f"{server.url}/health")
    assert str(error).endswith(f" (GET {server.url}/health)")


async def test_a_timeout_names_its_request() -> None:
    async with QueenTestServer() as server:
        server.nodes[0].faults.latency(1000)
        async with Queen(
            server.url, handle_signals=False, retry_attempts=1, timeout_millis=50
        ) as queen:
            with pytest.raises(httpx.TimeoutException) as info:
                await queen.admin.get_overview()
    error = info.value
    url = f"{server.url}/api/v1/resources/overview"
    assert isinstance(error, QueenTimeoutError) and isinstance(error, TimeoutError)
    assert str(error) == f"Request timeout after 50ms (GET {url})"
    assert error.message == "Request timeout after 50ms"
    assert error.request.url == httpx.URL(url)
