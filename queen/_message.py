"""Messages from ``pop()`` and ``consume()``: plain wire dicts with a ``trace`` helper.

A message holds exactly the decoded wire fields (client contract §4.9, D18), so
``json.dumps(m)``, iteration, ``len``, equality and copies show only those. The trace helper
is reachable as ``m["trace"]``, ``m.get("trace")``, ``m.trace`` and ``m.pop("trace")`` and
``"trace" in m`` holds, but it is never stored. It is bound to the consuming group through
the message *class*: :func:`message_class` builds one subclass per consumer or builder, so
creating a message stays a bare C-level dict copy.

Messages pickle (to hand them to a process pool) as the base :class:`Message`, since the
per-consumer subclasses are built at run time and cannot be found by name: the wire fields
travel, the trace binding (to a client of this process) does not. ``copy.copy`` and
``copy.deepcopy`` keep the class, and so the binding.
"""

from __future__ import annotations

import copy
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple, Type

__all__ = ["Message", "TraceSender", "message_class"]

TraceSender = Callable[["Message", Optional[str], Any], Awaitable[Dict[str, Any]]]

_TRACE = "trace"


class Message(Dict[str, Any]):
    """A message dict whose ``trace`` helper is reachable but not stored."""

    __slots__ = ()
    _trace_sender: Optional[TraceSender] = None
    _trace_group: Optional[str] = None

    def _trace_helper(self) -> Callable[[Any], Awaitable[Dict[str, Any]]]:
        sender = type(self)._trace_sender
        group = type(self)._trace_group

        async def trace(config: Any) -> Dict[str, Any]:
            if sender is None:
                return {"success": False, "error": "Message is not bound to a Queen client"}
            return await sender(self, group, config)

        return trace

    # dict.__getitem__ calls __missing__ only for absent keys, so wire-field access keeps the
    # C fast path.
    def __missing__(self, key: Any) -> Any:
        if key == _TRACE:
            return self._trace_helper()
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key == _TRACE or dict.__contains__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        if key == _TRACE and not dict.__contains__(self, key):
            return self._trace_helper()
        return dict.get(self, key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        if key == _TRACE and not dict.__contains__(self, key):
            return self._trace_helper()
        return dict.pop(self, key, *default)

    @property
    def trace(self) -> Callable[[Any], Awaitable[Dict[str, Any]]]:
        """``await m.trace({"data": {...}, "traceName": ..., "eventType": ...})``."""
        return self._trace_helper()

    # Only pickling and copying read these: creating a message never calls them.
    def __reduce__(self) -> Tuple[Any, ...]:
        return (Message, (dict(self),))

    def __copy__(self) -> Message:
        return type(self)(self)

    def __deepcopy__(self, memo: Dict[int, Any]) -> Message:
        clone = type(self)()
        memo[id(self)] = clone
        for key, value in dict.items(self):
            dict.__setitem__(clone, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return clone


def message_class(sender: Optional[TraceSender], group: Optional[str]) -> Type[Message]:
    """A :class:`Message` subclass whose instances trace through ``sender`` as ``group``."""
    return type(
        "Message",
        (Message,),
        {"__slots__": (), "_trace_sender": sender, "_trace_group": group},
    )
