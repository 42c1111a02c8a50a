"""Fixtures of the streams suite: a client on the broker under test and unique names."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, AsyncIterator, Callable, List

import pytest

from queen import Queen

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
async def make_queen(any_broker: Any) -> AsyncIterator[Callable[[], Queen]]:
    """Fresh ``Queen`` clients on ``any_broker`` (one per simulated process), closed after."""
    clients: List[Queen] = []

    def make() -> Queen:
        q = Queen(any_broker.url, handle_signals=False)
        clients.append(q)
        return q

    yield make
    for q in clients:
        await q.close()
