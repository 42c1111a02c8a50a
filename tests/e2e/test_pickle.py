"""Messages from ``pop()`` and ``consume()`` pickle (to reach a process pool) and copy."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any, List

from queen import Queen
from queen._message import Message


def _round_trip(message: Any) -> Any:
    restored = pickle.loads(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored == message and dict(restored) == dict(message)
    assert json.dumps(restored, sort_keys=True) == json.dumps(message, sort_keys=True)
    # The trace helper is bound to a client of this process: it does not travel.
    assert isinstance(restored, Message) and "trace" in restored
    return restored


async def test_popped_and_consumed_messages_round_trip_through_pickle(any_broker: Any) -> None:
    name = any_broker.name("pickle")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        items = [{"data": {"n": n, "nested": [n, {"x": None}]}} for n in (1, 2)]
        await queen.queue(name).push(items)
        popped = await queen.queue(name).group("g").batch(2).timeout_millis(10000).pop()
        consumed: List[Any] = []
        await (
            queen.queue(name).group("g2").wait(False).limit(1).idle_millis(10000)
            .consume(consumed.append)
        )
        for message in (*popped, *consumed):
            restored = _round_trip(message)
            assert restored["data"] == message["data"]
            assert (await restored["trace"]({"data": {}}))["success"] is False
        # A pickled message can still be acknowledged by the client.
        assert (await queen.ack(_round_trip(popped[0]), True, {"group": "g"}))["success"]


async def test_copies_keep_the_trace_binding(any_broker: Any) -> None:
    name = any_broker.name("copy")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).push({"data": {"deep": [1, 2]}})
        (message,) = await queen.queue(name).timeout_millis(10000).pop()
        shallow, deep = copy.copy(message), copy.deepcopy(message)
        for clone in (shallow, deep):
            assert type(clone) is type(message) and clone == message
        assert shallow["data"] is message["data"]
        assert deep["data"] == message["data"] and deep["data"] is not message["data"]
        traced = await deep["trace"]({"data": {"step": "copied"}})
        assert traced["success"] is True
