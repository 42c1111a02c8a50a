"""The brokers an end-to-end test can run against: ``queen.testing`` and a real Queen 0.15.

``any_broker`` (in ``tests/conftest.py``) is parametrised over both kinds, so one test body
proves a behaviour on the in-process double and on the real server. The real broker is the
one at ``QUEEN_BROKER_URL`` (or ``QUEEN_URL``); ``.ci/run`` starts one from
``../shared/queen-broker``. Where neither variable is set (a user's clone) the ``real``
parameter skips with that reason.

A real broker keeps its state across tests (one database for the whole run), so a test on
it names its queues with :meth:`BrokerHandle.name`, which is unique per call.
"""

from __future__ import annotations

import os
import uuid
from typing import List, Optional

from queen.testing import QueenTestServer

__all__ = ["REAL_BROKER_SKIP", "BrokerHandle", "real_broker_urls"]

REAL_BROKER_SKIP = (
    "no real Queen broker: set QUEEN_BROKER_URL (or QUEEN_URL) to one, e.g. started with "
    "../shared/queen-broker/queen-broker start, as .ci/run does"
)


def real_broker_urls() -> Optional[List[str]]:
    """The real broker's node URLs from the environment, or ``None`` when none is set."""
    many = os.environ.get("QUEEN_BROKER_URLS")
    one = os.environ.get("QUEEN_BROKER_URL") or os.environ.get("QUEEN_URL")
    if one:
        urls = [u for u in (many or "").split(",") if u]
        return urls if one in urls else [one]
    return None


class BrokerHandle:
    """One broker under test.

    Attributes:
        kind: ``"testing"`` or ``"real"``.
        url: the first node's URL.
        urls: every node's URL.
        server: the :class:`QueenTestServer` for ``kind == "testing"`` (clock, faults,
            engine), ``None`` for the real broker.
    """

    def __init__(self, kind: str, urls: List[str],
                 server: Optional[QueenTestServer] = None) -> None:
        self.kind = kind
        self.urls = urls
        self.url = urls[0]
        self.server = server

    @property
    def real(self) -> bool:
        return self.kind == "real"

    def name(self, prefix: str = "t") -> str:
        """A queue (or group) name no other test of this run uses."""
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def __repr__(self) -> str:
        return f"BrokerHandle({self.kind!r}, {self.url!r})"
