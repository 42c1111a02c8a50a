"""The thread-backed server, and the pytest fixtures built on it."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from server_stub import StubBroker

import queen.testing
from queen.testing._server import SyncQueenTestServer


def test_sync_server_serves_from_its_own_thread():
    stub = StubBroker()
    with SyncQueenTestServer(broker=stub) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url + "/health").json() == {"status": "healthy"}
        assert server.broker is stub and server.clock is stub.clock
        # call() runs on the loop thread and awaits awaitables.
        assert server.call(threading.get_ident) == server.loop._thread_id  # type: ignore[attr-defined]
        assert server.call(asyncio.sleep, 0, "done") == "done"
        server.advance(61)
        assert stub.clock.offset == 61
    with pytest.raises(RuntimeError):
        server.call(print)


def test_sync_nodes_stop_and_start_through_the_loop():
    with SyncQueenTestServer(broker=StubBroker(), nodes=2) as server:
        node = server.nodes[1]
        url = node.url
        node.stop()
        assert not node.running
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/health")
        node.start()
        assert node.url == url and httpx.get(url + "/health").status_code == 200
        node.faults.error(503, count=1)
        assert httpx.get(url + "/health").status_code == 503
        assert node.requests_served == 2 and server.requests_served == 2
        assert server.accepted_connections == 2 == node.accepted_connections


def test_sync_server_exceptions_propagate_from_call():
    with SyncQueenTestServer(broker=StubBroker()) as server, pytest.raises(ZeroDivisionError):
        server.call(lambda: 1 / 0)


def test_sync_server_close_stops_the_thread():
    server = SyncQueenTestServer(broker=StubBroker()).start()
    url = server.url
    thread = server._thread
    assert thread is not None and thread.is_alive()
    server.close()
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health")
    server.close()  # idempotent


def test_public_names():
    assert sorted(queen.testing.__all__) == [
        "Broker",
        "Clock",
        "Node",
        "QueenTestServer",
        "SyncQueenTestServer",
    ]
    assert queen.testing.SyncQueenTestServer is SyncQueenTestServer
    with pytest.raises(AttributeError):
        queen.testing.nothing_here  # noqa: B018


def test_the_plugin_imports_nothing_heavy():
    import subprocess
    import sys

    # The servers (httptools, h2) and the engine load only when a fixture is used.
    code = (
        "import sys, queen.testing.pytest_plugin\n"
        "mods = ('queen.testing._server', 'queen.testing._http1', 'queen.testing._h2c',\n"
        "        'queen.testing._engine')\n"
        "print([m for m in mods if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_plugin_is_registered_as_an_entry_point():
    import pathlib
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    root = pathlib.Path(__file__).resolve().parents[3]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"]["queen"] == "queen.testing.pytest_plugin"
