"""pytest fixtures for testing code against an in-process Queen broker.

Registered as the ``queen`` pytest plugin (``pytest11`` entry point), so the fixtures are
available in any project that has queen-turbo installed. Importing this module is cheap and
needs nothing beyond the standard library: the broker (and httptools/h2, from the
``testing`` extra) is imported only when a test asks for a fixture.

Fixtures:

``queen_broker``
    A started :class:`queen.testing.SyncQueenTestServer` with one node, fresh for every test
    (function scope). Point a client at ``queen_broker.url``; move time with
    ``queen_broker.advance(seconds)``; inject faults with ``queen_broker.nodes[0].faults``.

``queen_cluster``
    The same with three nodes (``queen_cluster.urls``) sharing one engine, like three broker
    instances on one database. Stop and restart a node with ``queen_cluster.nodes[i].stop()``
    and ``.start()`` (it comes back on the same port).

Both run their own event loop in a daemon thread, so they work in synchronous tests and in
async tests alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from queen.testing._server import SyncQueenTestServer

__all__ = ["queen_broker", "queen_cluster"]


def _server(nodes: int) -> SyncQueenTestServer:
    from queen.testing._server import SyncQueenTestServer

    return SyncQueenTestServer(nodes=nodes)


@pytest.fixture
def queen_broker() -> Iterator[SyncQueenTestServer]:
    """A started one-node in-process Queen broker; use ``queen_broker.url``."""
    with _server(1) as server:
        yield server


@pytest.fixture
def queen_cluster() -> Iterator[SyncQueenTestServer]:
    """A started three-node in-process Queen broker sharing one engine; ``.urls``."""
    with _server(3) as server:
        yield server
