"""Buffer options are checked at ``buffer()``, buffered messages are never lost silently.

* every option is validated when ``buffer()`` is called (``message_count: 0`` used to make
  the flusher send empty requests in a tight loop while the message never left);
* ``time_millis: None`` means "no time trigger", and nothing is dropped;
* unknown keys (the reference ignored them) are dropped with one WARNING per key and client;
* a failing flusher is logged, never an unretrieved task exception;
* a client garbage-collected, or whose loop stops, with buffered messages warns once;
* ``get_buffer_stats()`` is a plain read, also outside any event loop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import warnings
from typing import Any, Callable, Dict, List

import pytest
from _brokers import BrokerHandle

from queen import Queen, QueenTypeError, QueenValidationError
from queen._buffer import BufferManager
from queen.testing import QueenTestServer

NOWHERE = "http://127.0.0.1:9"  # never contacted: nothing is flushed in these tests


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"message_count": 0}, QueenValidationError, r"message_count must be >= 1, got 0"),
        ({"message_count": -3}, QueenValidationError, r"message_count must be >= 1"),
        ({"message_count": "10"}, QueenTypeError, r"message_count must be an integer, got '10'"),
        ({"message_count": 2.5}, QueenValidationError, r"message_count must be a whole number"),
        ({"message_count": True}, QueenTypeError, r"message_count must be an integer"),
        ({"message_count": None}, QueenTypeError, r"message_count must be an integer"),
        ({"time_millis": -1}, QueenValidationError, r"time_millis must be >= 0 and finite"),
        ({"time_millis": "1s"}, QueenTypeError, r"time_millis must be a number of milliseconds"),
        ({"time_millis": math.nan}, QueenValidationError, r"time_millis must be >= 0 and finite"),
        ({"time_millis": math.inf}, QueenValidationError, r"time_millis must be >= 0 and finite"),
        ({"max_size": 0}, QueenValidationError, r"max_size must be >= 1"),
        ({"max_bytes": 0}, QueenValidationError, r"max_bytes must be >= 1"),
        ({"max_bytes": "16MB"}, QueenTypeError, r"max_bytes must be an integer"),
        ({"retry_delay_millis": -5}, QueenValidationError, r"retry_delay_millis must be >= 0"),
        ({"on_flush_error": "log"}, QueenTypeError, r"on_flush_error must be callable"),
        (None, QueenTypeError, r"buffer options must be a dict, got None"),
        ([("message_count", 5)], QueenTypeError, r"buffer options must be a dict"),
    ],
)
async def test_bad_options_raise_when_given(options: Any, error: type, match: str) -> None:
    async with Queen(NOWHERE, handle_signals=False) as queen:
        with pytest.raises(error, match=match) as info:
            queen.queue("q").buffer(options)
        assert isinstance(info.value, QueenValidationError)  # the root of bad-input errors
        assert "buffer option" in str(info.value)
        assert queen.get_buffer_stats()["totalBufferedMessages"] == 0


async def test_good_options_are_kept() -> None:
    async with Queen(NOWHERE, handle_signals=False) as queen:
        builder = queen.queue("q").buffer(
            {"message_count": 10.0, "time_millis": 0, "max_size": None, "max_bytes": 1,
             "retry_delay_millis": 0.5, "on_flush_error": print}
        )
        assert builder._buffer_options == {
            "message_count": 10, "time_millis": 0, "max_size": None, "max_bytes": 1,
            "retry_delay_millis": 0.5, "on_flush_error": print,
        }


async def test_unknown_keys_warn_once_per_key(
    caplog: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    caplog.set_level(logging.WARNING, logger="queen.client")
    async with Queen(NOWHERE, handle_signals=False) as queen:
        with pytest.warns(UserWarning) as seen:
            for _ in range(3):
                builder = queen.queue("q").buffer({"messageCount": 5, "flush": True})
        assert builder._buffer_options == {}
        texts = [str(w.message) for w in seen]
        assert texts == [r.getMessage().split("] ", 1)[1] for r in caplog.records]
        assert len(texts) == 2
        assert "unknown buffer option 'messageCount' ignored (did you mean 'message_count'?)" in (
            texts[0]
        )
        assert "unknown buffer option 'flush' ignored; known options: message_count" in texts[1]


async def test_time_millis_none_sends_on_count_flush_and_close(any_broker: BrokerHandle) -> None:
    name = any_broker.name("buf-none")
    queen = Queen(any_broker.url, handle_signals=False)
    producer = queen.queue(name).partition("p").buffer({"time_millis": None, "message_count": 3})
    reader = Queen(any_broker.url, handle_signals=False)

    async def stored() -> List[Any]:
        popped = await reader.queue(name).partition("p").batch(20).wait(False).pop()
        if popped:
            await reader.ack(popped)
        return [m["data"] for m in popped]

    try:
        await producer.push([{"data": 1}, {"data": 2}])
        await asyncio.sleep(0.2)  # no timer: nothing may leave before the count is reached
        assert queen.get_buffer_stats()["totalBufferedMessages"] == 2
        await producer.push({"data": 3})  # the count: sent at once
        await _until(lambda: queen.get_buffer_stats()["totalBufferedMessages"] == 0)
        assert await stored() == [1, 2, 3]
        await producer.push({"data": 4})
        await producer.flush_buffer()
        assert await stored() == [4]
        await producer.push({"data": 5})
    finally:
        await queen.close()
    try:
        assert await stored() == [5]
        assert queen.get_buffer_stats()["droppedMessages"] == 0
    finally:
        await reader.close()


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


async def test_a_failing_flusher_is_logged_not_left_unretrieved(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="queen.client")
    loop = asyncio.get_running_loop()
    unhandled: List[Dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))

    async def broken(self: BufferManager, *args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("flusher bug")

    monkeypatch.setattr(BufferManager, "_send_chunk", broken)
    queen = Queen(NOWHERE, handle_signals=False)
    await queen.queue("q").buffer({"message_count": 1}).push({"data": 1})
    await _until(lambda: any("flusher bug" in r.getMessage() for r in caplog.records))
    await asyncio.sleep(0)
    gc.collect()  # an unretrieved task exception is reported when the task is collected
    assert unhandled == []
    assert queen.get_buffer_stats()["totalBufferedMessages"] == 1  # still ours
    monkeypatch.undo()
    await queen.close(timeout_millis=100)
    loop.set_exception_handler(None)


async def test_garbage_collected_client_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="queen.client")
    queen = Queen(NOWHERE, handle_signals=False)
    await queen.queue("q").buffer({"time_millis": None}).push([{"data": 1}, {"data": 2}])
    with pytest.warns(ResourceWarning, match=r"2 buffered message\(s\) not sent: the client was "
                                             r"garbage-collected without close\(\)"):
        del queen
        gc.collect()
    (record,) = [r for r in caplog.records if "not sent" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "close() (or async with) is what delivers buffered messages" in record.getMessage()


def _left_buffered_by_asyncio_run() -> Queen:
    """A client whose asyncio.run() returned without close(), two messages still buffered."""
    clients: List[Queen] = []

    async def main() -> None:
        queen = Queen(NOWHERE, handle_signals=False)
        clients.append(queen)
        await queen.queue("q").buffer({"time_millis": 60000}).push([{"data": 1}, {"data": 2}])
        # returns without close(): asyncio.run cancels the flusher as the loop stops

    asyncio.run(main())
    return clients[0]


def test_stopped_loop_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="queen.client")
    with pytest.warns(ResourceWarning, match="the event loop stopped before the client was"):
        queen = _left_buffered_by_asyncio_run()
    assert sum("not sent" in r.getMessage() for r in caplog.records) == 1
    with warnings.catch_warnings(record=True) as seen:  # said once: not again when collected
        warnings.simplefilter("always")
        del queen
        gc.collect()
    assert not [w for w in seen if "not sent" in str(w.message)]


def test_stats_are_a_plain_read_outside_any_loop() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        queen = _left_buffered_by_asyncio_run()
    # asyncio.run() left no current loop: asyncio.get_event_loop() would raise here.
    stats = queen.get_buffer_stats()
    assert stats["totalBufferedMessages"] == 2 and stats["activeBuffers"] == 1
    assert stats["oldestBufferAge"] >= 0


async def test_a_failing_async_on_flush_error_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="queen.client")
    loop = asyncio.get_running_loop()
    unhandled: List[Dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))

    async def on_flush_error(items: List[Any], error: BaseException) -> None:
        raise RuntimeError("callback bug")

    async with QueenTestServer() as server:
        server.nodes[0].faults.error(400, path="/api/v1/push", count=1)
        queen = Queen(server.url, handle_signals=False)
        await queen.queue("q").buffer({"message_count": 1, "on_flush_error": on_flush_error}).push(
            {"data": 1}
        )
        await _until(lambda: any("callback bug" in r.getMessage() for r in caplog.records))
        await queen.close()
    gc.collect()
    assert unhandled == []
    loop.set_exception_handler(None)
