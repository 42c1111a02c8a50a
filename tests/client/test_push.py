"""push(): item formatting on the wire, callbacks, errors (§4.4, D4, D17, D19)."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Dict, List, Tuple

import orjson
import pytest

from queen import (
    Queen,
    QueenError,
    QueenHttpError,
    QueenPayloadError,
    QueenServerError,
    QueenValidationError,
)
from queen.testing import QueenTestServer

from .conftest import FakeTransport, RecordingBroker, make_client, response


def _items(broker: RecordingBroker) -> List[Any]:
    return [item for body in broker.bodies("POST", "/api/v1/push") for item in body["items"]]


async def test_payload_rules_on_the_wire_and_round_trip(
    queen: Queen, broker: RecordingBroker
) -> None:
    items: List[Dict[str, Any]] = [
        {"data": {"a": 1}, "transactionId": "t1"},
        {"data": None, "transactionId": "t2"},
        {"data": {}, "transactionId": "t3"},
        {"payload": [1, 2], "transactionId": "t4"},
        {"data": "d", "payload": "p", "transactionId": "t5"},
        {"x": 1, "y": "z", "transactionId": "t6"},
    ]
    result = await queen.queue("fmt").push(items)
    assert [r["status"] for r in result] == ["queued"] * 6
    wire = _items(broker)
    assert [w["payload"] for w in wire] == [
        {"a": 1}, None, {}, [1, 2], "d", {"x": 1, "y": "z", "transactionId": "t6"},
    ]
    for w in wire:
        assert list(w)[:4] == ["queue", "partition", "payload", "transactionId"]
        assert (w["queue"], w["partition"]) == ("fmt", "Default")
    raw = broker.seen("POST", "/api/v1/push")[0].body
    assert b'"payload":null' in raw and b'"payload":{}' in raw
    popped = await queen.queue("fmt").wait(False).batch(10).pop()
    assert [m["data"] for m in popped] == [w["payload"] for w in wire]


async def test_per_item_queue_and_partition_are_ignored(
    queen: Queen, broker: RecordingBroker
) -> None:
    await queen.queue("real").partition("P").push(
        {"queue": "other", "partition": "Q", "data": 1}
    )
    (w,) = _items(broker)
    assert (w["queue"], w["partition"]) == ("real", "P")
    assert "other" not in broker.state.queues


@pytest.mark.parametrize("tx", [None, "", 0, False])
async def test_falsy_transaction_id_gets_a_uuid7(
    queen: Queen, broker: RecordingBroker, tx: Any
) -> None:
    item: dict = {"data": 1}
    if tx is not None:
        item["transactionId"] = tx
    await queen.queue("tx").push([item, {"data": 2}])
    ids = [w["transactionId"] for w in _items(broker)]
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 7
        assert str(parsed) == value
    assert ids[0] < ids[1]


async def test_user_transaction_id_is_kept(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("tx").push({"data": 1, "transactionId": "order-1"})
    assert _items(broker)[0]["transactionId"] == "order-1"


async def test_trace_id_validation(
    queen: Queen, broker: RecordingBroker, caplog: pytest.LogCaptureFixture
) -> None:
    good_v4 = str(uuid.uuid4())
    good_upper = str(uuid.uuid1()).upper()
    caplog.set_level(logging.WARNING, logger="queen.client")
    await queen.queue("tr").push(
        [
            {"data": 1, "traceId": good_v4},
            {"data": 2, "traceId": good_upper},
            {"data": 3, "traceId": "not-a-uuid"},
            {"data": 4, "traceId": good_v4.replace("-", "")},
            {"data": 5, "traceId": 12},
        ]
    )
    wire = _items(broker)
    assert [w.get("traceId") for w in wire] == [good_v4, good_upper, None, None, None]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert any("not-a-uuid" in r.getMessage() for r in warnings)
    popped = await queen.queue("tr").wait(False).batch(5).pop()
    assert popped[0]["traceId"] == good_v4


async def test_partition(queen: Queen) -> None:
    await queen.queue("parts").partition("eu").push({"data": "e"})
    await queen.queue("parts").partition("us").push({"data": "u"})
    eu = await queen.queue("parts").partition("eu").wait(False).pop()
    assert [(m["data"], m["partition"]) for m in eu] == [("e", "eu")]


async def test_duplicates(queen: Queen) -> None:
    first = await queen.queue("dup").push({"data": 1, "transactionId": "same"})
    second = await queen.queue("dup").push({"data": 2, "transactionId": "same"})
    other = await queen.queue("dup").partition("B").push({"data": 3, "transactionId": "same"})
    assert [first[0]["status"], second[0]["status"], other[0]["status"]] == [
        "queued", "duplicate", "queued",
    ]


async def test_callbacks_are_grouped_in_order(queen: Queen) -> None:
    await queen.queue("cbs").push({"data": 0, "transactionId": "d1"})
    calls: List[Tuple[str, Any, Any]] = []

    async def on_duplicate(items: Any, err: Any) -> None:
        calls.append(("dup", items, err))

    result = await (
        queen.queue("cbs")
        .push([{"data": 1, "transactionId": "d1"}, {"data": 2, "transactionId": "n1"}])
        .on_success(lambda items: calls.append(("ok", items, None)))
        .on_duplicate(on_duplicate)
    )
    assert [r["status"] for r in result] == ["duplicate", "queued"]
    assert [c[0] for c in calls] == ["dup", "ok"]
    (dup,) = calls[0][1]
    assert dup["transactionId"] == "d1" and dup["result"]["status"] == "duplicate"
    assert dup["payload"] == 1 and dup["queue"] == "cbs"
    assert isinstance(calls[0][2], QueenError)
    assert str(calls[0][2]) == "Duplicate transaction IDs detected"
    (ok,) = calls[1][1]
    assert ok["transactionId"] == "n1" and ok["result"]["status"] == "queued"


async def test_buffered_entries_go_to_on_success_d19(
    queen: Queen, broker: RecordingBroker
) -> None:
    broker.faults.db_error("push")
    got: List[Any] = []
    result = await queen.queue("buf").push([{"data": 1}, {"data": 2}]).on_success(got.append)
    assert [r["status"] for r in result] == ["buffered", "buffered"]
    assert [i["payload"] for i in got[0]] == [1, 2]


async def test_push_empty_list(queen: Queen, broker: RecordingBroker) -> None:
    assert await queen.queue("e").push([]) == []
    assert broker.requests == []


async def test_non_serialisable_payload(queen: Queen, broker: RecordingBroker) -> None:
    with pytest.raises(QueenPayloadError):
        queen.queue("ns").push({"data": {1, 2}})
    with pytest.raises(TypeError):
        queen.queue("ns").push([{"data": 1}, {"data": object()}])
    assert broker.requests == []


async def test_invalid_items_and_names(queen: Queen, broker: RecordingBroker) -> None:
    with pytest.raises(ValueError, match=r"^Queue name is required for push operation$"):
        queen.queue().push({"data": 1})
    with pytest.raises(QueenValidationError):
        queen.queue("q").push(["not a dict"])  # type: ignore[list-item]
    with pytest.raises(QueenValidationError):
        queen.queue("x" * 256).push({"data": 1})
    with pytest.raises(QueenValidationError):
        queen.queue("q").partition("").push({"data": 1})
    with pytest.raises(QueenValidationError):
        queen.queue("q").push({"data": 1, "transactionId": "t" * 256})
    with pytest.raises(QueenValidationError):
        queen.queue("q").push({"data": 1, "transactionId": 5})
    assert broker.requests == []


async def test_push_snapshot_of_the_builder(queen: Queen, broker: RecordingBroker) -> None:
    b = queen.queue("snap").partition("A")
    pending = b.push({"data": 1})
    b.partition("B")
    await pending
    assert _items(broker)[0]["partition"] == "A"


async def test_push_awaited_twice(queen: Queen, broker: RecordingBroker) -> None:
    p = queen.queue("tw").push({"data": 1})
    assert (await p)[0]["status"] == "queued"
    assert await p is None
    assert len(broker.seen("POST", "/api/v1/push")) == 1


async def test_transport_error_with_and_without_on_error(server: QueenTestServer) -> None:
    server.nodes[0].faults.error(500)
    async with make_client(server.url, retry_attempts=1) as q:
        with pytest.raises(QueenHttpError):
            await q.queue("te").push({"data": 1})
        errors: List[Any] = []
        result = await q.queue("te").push({"data": 1}).on_error(
            lambda items, exc: errors.append((items, exc))
        )
    assert result is None
    (items, exc), = errors
    assert [i["payload"] for i in items] == [1]
    assert isinstance(exc, QueenHttpError) and exc.status == 500


async def test_on_success_exception_goes_to_on_error(queen: Queen) -> None:
    errors: List[Any] = []

    def boom(items: Any) -> None:
        raise RuntimeError("handler broke")

    result = await queen.queue("ose").push({"data": 1}).on_success(boom).on_error(
        lambda items, exc: errors.append(exc)
    )
    assert result is None
    assert str(errors[0]) == "handler broke"
    with pytest.raises(RuntimeError, match=r"handler broke"):
        await queen.queue("ose").push({"data": 2}).on_success(boom)


def _fake_client(*script: Any) -> Tuple[Queen, FakeTransport]:
    transport = FakeTransport(*script)
    return make_client("http://a:1", transport=transport), transport


async def test_failed_items() -> None:
    entries = [
        {"status": "queued"},
        {"status": "failed", "error": "disk full"},
        {"status": "failed", "error": "other"},
    ]
    q, _ = _fake_client(response(200, entries))
    with pytest.raises(QueenServerError, match=r"^disk full$") as info:
        await q.queue("f").push([{"data": 1}, {"data": 2}, {"data": 3}])
    assert info.value.retriable is False
    calls: List[Any] = []
    result = await (
        q.queue("f")
        .push([{"data": 1}, {"data": 2}, {"data": 3}])
        .on_error(lambda items, exc: calls.append(("err", items, exc)))
        .on_success(lambda items: calls.append(("ok", items, None)))
    )
    assert result == entries
    assert [c[0] for c in calls] == ["err", "ok"]
    assert [i["error"] for i in calls[0][1]] == ["disk full", "other"]
    assert str(calls[0][2]) == "disk full"
    # Without on_error the raise comes after on_success ran.
    seen: List[Any] = []
    with pytest.raises(QueenServerError):
        await q.queue("f").push([{"data": 1}, {"data": 2}, {"data": 3}]).on_success(seen.append)
    assert len(seen[0]) == 1


async def test_failed_item_without_error_text() -> None:
    q, _ = _fake_client(response(200, [{"status": "failed"}]))
    with pytest.raises(QueenServerError, match=r"^Push failed$"):
        await q.queue("f").push({"data": 1})


async def test_error_body() -> None:
    q, _ = _fake_client(response(200, {"error": "db down"}))
    with pytest.raises(QueenServerError, match=r"^db down$"):
        await q.queue("f").push({"data": 1})
    errors: List[Any] = []
    result = await q.queue("f").push({"data": 1}).on_error(lambda i, e: errors.append((i, e)))
    assert result == {"error": "db down"}
    assert str(errors[0][1]) == "db down"


async def test_other_answer_shapes() -> None:
    q, _ = _fake_client(response(201, {"odd": True}))
    got: List[Any] = []
    assert await q.queue("f").push({"data": 1}).on_success(got.append) == {"odd": True}
    assert got[0][0]["payload"] == 1


async def test_push_body_is_exact() -> None:
    q, t = _fake_client(response(200, [{"status": "queued"}]))
    await q.queue("q").partition("p").push({"data": {"k": "v"}, "transactionId": "t"})
    assert t.sends[0][2] == (
        b'{"items":[{"queue":"q","partition":"p","payload":{"k":"v"},"transactionId":"t"}]}'
    )
    assert orjson.loads(t.sends[0][2])["items"][0]["payload"] == {"k": "v"}
