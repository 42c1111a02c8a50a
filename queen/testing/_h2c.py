"""Cleartext HTTP/2 (h2c, prior knowledge) for the test broker, on the ``h2`` library.

The real 0.15 broker speaks HTTP/1.1 only; this exists so that a client's HTTP/2 transport
can be tested as if an HTTP/2 ingress sat in front of the broker. It is off by default and
enabled per listener (``http2=True``): the HTTP/1.1 protocol sniffs the connection preface
and hands the socket over.

Each stream is one request, handled concurrently with the others (one task per stream).
Response bodies respect the peer's flow-control windows; request bodies are acknowledged as
they arrive. ``RST_STREAM`` cancels that stream's handler; stopping the listener sends
``GOAWAY``. An injected drop resets only the affected stream. Responses carry the same
``date``, ``uwebsockets: 20`` and ``content-length`` headers as on HTTP/1.1.
"""

from __future__ import annotations

import asyncio
from typing import Dict, List, Optional, Tuple

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from ._http1 import Connection, ListenerContext, dispatch, http_date, spawn
from ._wire import Request

__all__ = ["MAX_STREAMS", "H2Protocol"]

MAX_STREAMS = 1000


class _Stream:
    __slots__ = ("body", "headers", "task")

    def __init__(self, headers: List[Tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.body: List[bytes] = []
        self.task: Optional[asyncio.Task[None]] = None


class H2Protocol(asyncio.Protocol, Connection):
    """One h2c connection. Created by the HTTP/1.1 protocol once it has seen the preface."""

    def __init__(self, ctx: ListenerContext) -> None:
        self._ctx = ctx
        self._loop = asyncio.get_running_loop()
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self._conn = h2.connection.H2Connection(config=config)
        # Room for many parked long polls on one connection (h2's default is 100 streams).
        self._conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS},
        )
        self._transport: Optional[asyncio.Transport] = None
        self._streams: Dict[int, _Stream] = {}
        self._unsent: Dict[int, memoryview] = {}  # bodies waiting for flow-control credit
        self._closed = False
        self._idle_since = 0.0
        self._timer: Optional[asyncio.TimerHandle] = None

    def take_over(self, transport: asyncio.Transport, data: bytes) -> None:
        """Start serving on a socket whose first bytes (``data``) include the preface."""
        self._transport = transport
        self._ctx.connections.add(self)
        self._conn.initiate_connection()
        self._flush()
        self._idle_since = self._loop.time()
        self._timer = self._loop.call_later(self._ctx.idle_timeout, self._on_timer)
        self.data_received(data)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._closed = True
        self._ctx.connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()
        self._unsent.clear()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            events = self._conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._flush()
            self._close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self._streams[event.stream_id] = _Stream(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.body.append(event.data)
                self._conn.acknowledge_received_data(
                    event.flow_controlled_length,
                    event.stream_id,
                )
            elif isinstance(event, h2.events.StreamEnded):
                self._dispatch(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self._forget(event.stream_id)
            elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                self._send_unsent()
            elif isinstance(event, h2.events.ConnectionTerminated):
                self._flush()
                self._close()
                return
        self._flush()

    # -- streams ---------------------------------------------------------------------------

    def _dispatch(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        method = "GET"
        target = "/"
        headers: Dict[str, str] = {}
        for raw_name, raw_value in stream.headers:
            name = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            if name == ":method":
                method = value
            elif name == ":path":
                # Names travel as raw UTF-8, never percent-decoded (API §1.2).
                target = raw_value.decode("utf-8", "surrogateescape")
            elif name == ":authority":
                headers["host"] = value
            elif not name.startswith(":"):
                headers[name] = headers[name] + ", " + value if name in headers else value
        path, _, query = target.partition("?")
        request = Request(method, path, query, headers, b"".join(stream.body))
        self._ctx.requests_served += 1
        task = spawn(self._loop, self._run(stream_id, request))
        if not task.done():
            stream.task = task

    async def _run(self, stream_id: int, request: Request) -> None:
        response, _ = await dispatch(self._ctx, request)
        stream = self._streams.get(stream_id)
        if self._closed or stream is None:
            return
        stream.task = None
        conn = self._conn
        try:
            if response is None:
                conn.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                self._forget(stream_id)
            else:
                body = response.body
                headers = [
                    (":status", str(response.status)),
                    *((k.lower(), v) for k, v in response.headers),
                    ("date", http_date()),
                    ("uwebsockets", "20"),
                    ("content-length", str(len(body))),
                ]
                conn.send_headers(stream_id, headers, end_stream=not body)
                if body:
                    self._send_body(stream_id, memoryview(body))
                else:
                    self._forget(stream_id)
        except h2.exceptions.StreamClosedError:
            self._forget(stream_id)
        self._flush()

    def _send_body(self, stream_id: int, data: memoryview) -> None:
        conn = self._conn
        while data:
            window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if window <= 0:
                self._unsent[stream_id] = data
                return
            chunk = data[:window]
            data = data[window:]
            conn.send_data(stream_id, chunk.tobytes(), end_stream=not data)
        self._unsent.pop(stream_id, None)
        self._forget(stream_id)

    def _send_unsent(self) -> None:
        for stream_id, data in list(self._unsent.items()):
            try:
                self._send_body(stream_id, data)
            except h2.exceptions.StreamClosedError:
                self._unsent.pop(stream_id, None)
                self._forget(stream_id)

    def _forget(self, stream_id: int) -> None:
        self._unsent.pop(stream_id, None)
        stream = self._streams.pop(stream_id, None)
        if stream is not None and stream.task is not None:
            stream.task.cancel()
        if not self._streams and not self._closed:
            self._idle_since = self._loop.time()
            if self._timer is None:
                self._timer = self._loop.call_later(self._ctx.idle_timeout, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed or self._streams:
            return
        remaining = self._idle_since + self._ctx.idle_timeout - self._loop.time()
        if remaining <= 0.001:
            self.shutdown()
        else:
            self._timer = self._loop.call_later(remaining, self._on_timer)

    # -- output and closing ----------------------------------------------------------------

    def _flush(self) -> None:
        data = self._conn.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._transport is not None:
                self._transport.close()

    def shutdown(self) -> None:
        """Send ``GOAWAY`` and close the connection (listener stop or idle timeout)."""
        if self._closed:
            return
        try:
            self._conn.close_connection()
        except h2.exceptions.ProtocolError:
            pass
        self._flush()
        self._close()
