"""An in-process Queen 0.15 broker for tests.

``queen.testing`` runs a broker that behaves like a real 0.15 broker on the wire (status
codes, response shapes, empty bodies, the 204-with-a-body quirk, no pipelining, idle
keep-alive closes) on real sockets, so any HTTP client can be tested against it: queen-turbo,
the reference clients, or a raw socket. It needs the ``testing`` extra
(``pip install queen-turbo[testing]``).

In a pytest suite, use the fixtures of the bundled plugin (loaded automatically)::

    def test_roundtrip(queen_broker):
        import httpx

        r = httpx.post(queen_broker.url + "/api/v1/push",
                       json={"items": [{"queue": "q", "payload": {"n": 1}}]})
        assert r.json()[0]["status"] == "queued"

``queen_broker`` is a started :class:`SyncQueenTestServer` (one node, fresh per test);
``queen_cluster`` has three nodes sharing one engine.

In async code, start one yourself::

    from queen.testing import QueenTestServer

    async with QueenTestServer() as server:
        ...  # server.url, server.clock.advance(61), server.nodes[0].faults.error(503)

Outside Python (the Node.js client, curl), run it standalone::

    python -m queen.testing --port 6632

Public names: :class:`QueenTestServer` (asyncio), :class:`SyncQueenTestServer` (its own loop
in a thread), :class:`Node` (one listener), :class:`Broker` (the engine) and :class:`Clock`
(the engine's controllable clock).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

__all__ = ["Broker", "Clock", "Node", "QueenTestServer", "SyncQueenTestServer"]

if TYPE_CHECKING:
    from ._engine import Broker, Clock
    from ._server import Node, QueenTestServer, SyncQueenTestServer

# Imported on first use: the pytest plugin imports this package in every test session of
# every project that has queen-turbo installed, with or without the ``testing`` extra.
_LAZY = {
    "Broker": "._engine",
    "Clock": "._engine",
    "Node": "._server",
    "QueenTestServer": "._server",
    "SyncQueenTestServer": "._server",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
