"""Errors of an exchange name it, and behave as httpx code written for queen-mq expects.

queen-mq 0.15 let httpx's own errors through, so its users catch ``httpx.HTTPStatusError``
and read ``e.response.status_code`` / ``e.response.json()`` / ``e.request.url``. Ours are
those httpx errors too, with the real request and answer behind them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import httpx
import pytest

from queen import (
    Queen,
    QueenConnectError,
    QueenConnectionError,
    QueenHttpError,
    QueenTimeoutError,
)
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


async def _closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


@pytest.mark.parametrize(
    "scheme, options",
    [("http", {}), ("https", {}), ("http", {"http2_prior_knowledge": True})],
    ids=["http", "https", "h2c"],
)
async def test_a_refused_connection_is_an_httpx_connect_error(
    scheme: str, options: Dict[str, Any]
) -> None:
    # queen-mq let httpx.ConnectError through: `except httpx.ConnectError` keeps working.
    url = f"{scheme}://127.0.0.1:{await _closed_port()}"
    async with Queen(url, handle_signals=False, retry_attempts=1, **options) as queen:
        with pytest.raises(httpx.ConnectError) as info:
            await queen.admin.health()
    error = info.value
    assert isinstance(error, QueenConnectError) and isinstance(error, QueenConnectionError)
    assert error.retriable is True and not isinstance(error, QueenTimeoutError)
    assert (error.method, error.url) == ("GET", f"{url}/health")


async def test_an_answer_lost_after_connecting_is_not_a_connect_error() -> None:
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with Queen(url, handle_signals=False, retry_attempts=1) as queen:
            with pytest.raises(QueenConnectionError, match="without an answer") as info:
                await queen.admin.health()
    finally:
        server.close()
        await server.wait_closed()
    assert not isinstance(info.value, httpx.ConnectError)
