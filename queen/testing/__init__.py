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

Known differences from a real 0.15 broker
-----------------------------------------

The project's conformance suite (``tests/conformance``) plays the same raw request sequences
on this broker and on a real Queen 0.15 broker and compares every answer, ids and timestamps
normalised. Everything it compares is equal, except these deliberate simplifications:

+----+----------------------------------------------------+----------------------------------------+
| id | what differs                                       | why                                    |
+====+====================================================+========================================+
| D1 | Queue and partition counters                       | How stale the real numbers are depends |
|    | (``/resources/queues[/:q]``,                       | on the broker's timer, not on the      |
|    | ``/resources/namespaces``, ``/resources/tasks``,   | requests a test sends; a test would    |
|    | ``/status/queues[/:q]``) are always current here.  | have to sleep to see its own messages  |
|    | The real broker reads them from statistics rows a  | counted.                               |
|    | background job refreshes every ~10 s (or ``POST    |                                        |
|    | /api/v1/stats/refresh``); until then it shows      |                                        |
|    | older numbers, and a new partition's first refresh |                                        |
|    | gives provisional ones. The values here are what   |                                        |
|    | two consecutive refreshes leave.                   |                                        |
+----+----------------------------------------------------+----------------------------------------+
| D2 | Dashboard bodies have the real keys (lists are     | They are samples of a broker process   |
|    | lists, their rows are not compared) but zero or    | and of its PostgreSQL (CPU, pools,     |
|    | state-derived figures: ``/api/v1/status`` (all but | event-loop lag, per-minute request     |
|    | its ``queues`` list), ``/analytics/queue-ops``,    | counters) that an in-process engine    |
|    | ``/queue-parked-replicas``, ``/retention``,        | does not have.                         |
|    | ``/system-metrics``, ``/worker-metrics``,          |                                        |
|    | ``/postgres-stats``, ``/resources/overview``, the  |                                        |
|    | lag figures of ``/analytics/queue-lag``.           |                                        |
+----+----------------------------------------------------+----------------------------------------+
| D3 | A wildcard pop with several eligible partitions    | The real order is unspecified and      |
|    | claims them in rotating order here; the real       | shifts with the database's storage;    |
|    | broker takes them in its index's scan order.       | rotating spreads competing consumers   |
|    |                                                    | over partitions, as the real order     |
|    |                                                    | does in practice.                      |
+----+----------------------------------------------------+----------------------------------------+
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
