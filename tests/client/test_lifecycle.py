"""close(), async with, and the closed state (§3.7)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from queen import Queen, QueenError
from queen.testing import QueenTestServer

from .conftest import FakeTransport, RecordingBroker, make_client, response


async def test_close_is_idempotent_and_closes_the_pool() -> None:
    transport = FakeTransport(response(200, {}))
    q = make_client("http://a:1", transport=transport)
    await q.close()
    await q.close()
    assert transport.closed == 1


async def test_closed_client_refuses_push_pop_consume(server: QueenTestServer,
                                                      broker: RecordingBroker) -> None:
    q = make_client(server.url)
    await q.close()
    with pytest.raises(QueenError, match=r"^Queen client is closed$"):
        await q.queue("c").push({"data": 1})
    with pytest.raises(QueenError, match=r"^Queen client is closed$"):
        await q.queue("c").wait(False).pop()
    with pytest.raises(QueenError, match=r"^Queen client is closed$"):
        await q.queue("c").wait(False).consume(lambda m: None)
    assert broker.requests == []


async def test_async_with_closes(server: QueenTestServer) -> None:
    async with make_client(server.url) as q:
        assert isinstance(q, Queen)
        await q.queue("aw").push({"data": 1})
    with pytest.raises(QueenError, match=r"^Queen client is closed$"):
        await q.queue("aw").push({"data": 1})


async def test_async_with_does_not_suppress(server: QueenTestServer) -> None:
    transport = FakeTransport(response(200, {}))
    with pytest.raises(RuntimeError, match=r"inside"):
        async with make_client(server.url, transport=transport):
            raise RuntimeError("inside")
    assert transport.closed == 1


async def test_close_logs_the_reference_texts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="queen.client")
    q = make_client("http://a:1", transport=FakeTransport(response(200, {})))
    await q.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    for line in ("Closing Queen client...", "All buffers flushed", "Queen client closed"):
        assert line in text


async def test_close_never_raises() -> None:
    class Broken(FakeTransport):
        async def aclose(self) -> None:
            raise OSError("pool broke")

    q = make_client("http://a:1", transport=Broken(response(200, {})))
    await q.close()


async def test_close_flushes_buffered_pushes(server: QueenTestServer,
                                             broker: RecordingBroker) -> None:
    q = make_client(server.url)
    result = await q.queue("cf").buffer({"message_count": 100, "time_millis": 60000}).push(
        [{"data": 1}, {"data": 2}]
    )
    assert result == {"buffered": True, "count": 2}
    assert broker.seen("POST", "/api/v1/push") == []
    await q.close()
    (body,) = broker.bodies("POST", "/api/v1/push")
    assert [i["payload"] for i in body["items"]] == [1, 2]


async def test_custom_logger_receives_records(server: QueenTestServer) -> None:
    class Sink:
        def __init__(self) -> None:
            self.lines: list = []

        def info(self, msg: Any, *a: Any, **k: Any) -> None:
            self.lines.append(("info", msg))

        def warning(self, msg: Any, *a: Any, **k: Any) -> None:
            self.lines.append(("warning", msg))

        def error(self, msg: Any, *a: Any, **k: Any) -> None:
            self.lines.append(("error", msg))

    sink = Sink()
    q = make_client(server.url, logger=sink)
    await q.close()
    assert ("info", "[Queen.close] Closing Queen client...") in sink.lines


async def test_requests_after_close_fail_at_once(sleeps: Any) -> None:
    transport = FakeTransport(response(200, {}))
    q = make_client("http://a:1", transport=transport, retry_delay_millis=1000)
    await q.close()
    for call in (q.admin.health(), q.queue("x").dlq().get(), q.delete_consumer_group("g"),
                 q.update_consumer_group_timestamp("g", "2030-01-01T00:00:00Z")):
        with pytest.raises(QueenError, match=r"^Queen client is closed$") as info:
            await call
        assert info.value.retriable is False
    assert await q.ack({"transactionId": "t", "partitionId": "p"}) == {
        "success": False, "error": "Queen client is closed",
    }
    renewed: Any = await q.renew("lease")
    assert renewed["error"] == "Queen client is closed"
    assert transport.sends == []
    assert sleeps == []


async def test_requests_after_close_on_a_real_pool(server: QueenTestServer) -> None:
    q = make_client(server.url, retry_delay_millis=1000)
    await q.close()
    with pytest.raises(QueenError, match=r"^Queen client is closed$"):
        await q.admin.health()


def test_queen_client_log_format(capsys: pytest.CaptureFixture) -> None:
    from queen._logging import LOGGER_NAME, ClientLogger, configure_from_env

    base = logging.getLogger(LOGGER_NAME)
    level = base.level
    configure_from_env("true")
    try:
        log = ClientLogger()
        log.info("QueueBuilder.push", {"queue": "orders", "count": 10})
        log.warning("HttpClient.failover", "down")
        log.debug("BufferManager.flushBuffer", "hidden at INFO")
    finally:
        for handler in [h for h in base.handlers if h.get_name() == "queen-env"]:
            base.removeHandler(handler)
        base.setLevel(level)
    out, err = capsys.readouterr()
    import re

    assert re.fullmatch(
        r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] \[INFO\] \[QueueBuilder\.push\] "
        r'\{"queue":"orders","count":10\}\n',
        out,
    )
    assert re.fullmatch(r"\[[^]]+Z\] \[WARN\] \[HttpClient\.failover\] down\n", err)


async def test_runs_on_the_event_loop_the_suite_asked_for() -> None:
    # QUEEN_TEST_LOOP=uvloop (.ci/run) must really put the suites on uvloop.
    import asyncio
    import os

    loop_module = type(asyncio.get_running_loop()).__module__
    if os.environ.get("QUEEN_TEST_LOOP") == "uvloop":
        assert loop_module.startswith("uvloop")
    else:
        assert loop_module.startswith("asyncio")
