"""The engine of :mod:`queen.testing`: an in-process Queen 0.15 broker without sockets.

The HTTP servers parse a request into a :class:`~queen.testing._wire.Request`, call
``await broker.handle(request, node)`` and write back the
:class:`~queen.testing._wire.Response`. Everything follows ``queen-http-api.md``: wire status
codes (deferred responses are 200, §1.5), exact error strings and shapes, empty bodies for
empty results (Q5) and the server's quirks (§5), so that client bugs show up here as they
would against a real broker.

Modules: ``_broker`` (front door), ``_routes``/``_router`` (route table), ``_state`` (data
model), ``_push``, ``_pop`` + ``_longpoll``, ``_ack``, ``_transaction``, ``_lease``,
``_configure``, ``_resources``, ``_groups``, ``_dlq``, ``_traces``, ``_messages``,
``_status``, ``_system`` (health, metrics, maintenance), ``_streams``, ``_retention``,
``_dbfaults``; helpers ``_clock``, ``_ids``, ``_timefmt``, ``_query``, ``_jsonio``,
``_responses``, ``_stats``.
"""

from __future__ import annotations

from ._broker import Broker
from ._clock import Clock
from ._dbfaults import DbFaults

__all__ = ["Broker", "Clock", "DbFaults"]
