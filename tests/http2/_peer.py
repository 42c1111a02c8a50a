"""A bare ``h2`` server connection for the HTTP/2 transport tests."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import h2.config
import h2.connection
import h2.exceptions


async def serve_h2(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    config: h2.config.H2Configuration,
    on_event: Callable[[h2.connection.H2Connection, Any], Awaitable[None]],
) -> None:
    """A bare h2 server connection: ``on_event(conn, event)`` for each event, its frames
    written after each read, until the client goes away."""
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    writer.write(conn.data_to_send())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                await on_event(conn, event)
            writer.write(conn.data_to_send())
            await writer.drain()
    except (ConnectionError, h2.exceptions.ProtocolError):
        pass
    finally:
        writer.close()
