"""The module paths of ``queen-mq`` 0.15, as thin re-exports (``queen.client``,
``queen.builders.queue_builder``, ``queen.utils.defaults`` ...).

Code written for the reference client imports from them; each re-exports the queen-turbo
object that plays the same public role. The reference's internal machinery (its HTTP client,
load balancer, buffer and consumer managers) has no public counterpart here: the client owns
those pieces, with other constructors. Importing such a name raises an ``ImportError`` that
says so, rather than handing out a class that would not behave as the import expects.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["INTERNAL", "refuse_internal"]

_BUFFERS = (
    "buffering is internal to the client; use queen.queue(name).buffer({...}).push(...), "
    "queen.flush_all_buffers() and queen.get_buffer_stats()"
)
_HTTP = (
    "the HTTP layer is internal to the client; use the Queen(...) options "
    "(urls, timeout_millis, retry_attempts, load_balancing_strategy, ...)"
)

#: The reference's internal classes, each with the public way to what it did.
INTERNAL = {
    "BufferManager": _BUFFERS,
    "MessageBuffer": _BUFFERS,
    "ConsumerManager": (
        "consumers are internal to the client; use queen.queue(name).consume(handler)"
    ),
    "HttpClient": _HTTP,
    "LoadBalancer": _HTTP,
}


def refuse_internal(module: str, *names: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) refusing the reference's internal ``names`` with
    their :data:`INTERNAL` hint; other missing names raise the usual ``AttributeError``."""

    def __getattr__(name: str) -> Any:
        hint = INTERNAL.get(name) if name in names else None
        if hint is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        # An ImportError (not AttributeError) keeps this text for ``from ... import``.
        raise ImportError(
            f"queen-turbo has no public {name} ({module} of queen-mq 0.15): {hint}",
            name=module,
        )

    return __getattr__
