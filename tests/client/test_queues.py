"""create() / delete() / config() and OperationBuilder (§4.1-§4.3, D27, Q20)."""

from __future__ import annotations

from typing import Any, List

import orjson
import pytest

from queen import QUEUE_DEFAULTS, Queen, QueenServerError, QueenValidationError

from .conftest import RecordingBroker

DEFAULT_WIRE = {
    "leaseTime": 300,
    "retryLimit": 3,
    "priority": 0,
    "delayedProcessing": 0,
    "windowBuffer": 0,
    "maxSize": 0,
    "retentionSeconds": 0,
    "completedRetentionSeconds": 0,
    "encryptionEnabled": False,
}


def _configure_bodies(broker: RecordingBroker) -> List[Any]:
    return broker.bodies("POST", "/api/v1/configure")


async def test_create_sends_the_full_default_set(queen: Queen, broker: RecordingBroker) -> None:
    result = await queen.queue("cq").create()
    assert _configure_bodies(broker) == [
        {"queue": "cq", "namespace": None, "task": None, "options": DEFAULT_WIRE}
    ]
    assert result["configured"] is True
    assert result["queue"] == "cq"
    assert result["options"]["leaseTime"] == 300
    assert "queueId" in result and "partitionId" in result


async def test_every_option_snake_to_camel(queen: Queen, broker: RecordingBroker) -> None:
    options = {
        "lease_time": 120, "retry_limit": 5, "priority": 7, "delayed_processing": 1,
        "window_buffer": 2, "max_size": 10, "retention_seconds": 100,
        "completed_retention_seconds": 50, "encryption_enabled": False,
        "dlq_after_max_retries": True, "dead_letter_queue": True,
        "max_wait_time_seconds": 9, "retry_delay": 10, "ttl": 50, "retention_enabled": True,
    }
    result = await queen.queue("allopts").namespace("ns1").task("t1").config(options).create()
    wire = {
        "leaseTime": 120, "retryLimit": 5, "priority": 7, "delayedProcessing": 1,
        "windowBuffer": 2, "maxSize": 10, "retentionSeconds": 100,
        "completedRetentionSeconds": 50, "encryptionEnabled": False,
        "dlqAfterMaxRetries": True, "deadLetterQueue": True, "maxWaitTimeSeconds": 9,
        "retryDelay": 10, "ttl": 50, "retentionEnabled": True,
    }
    (body,) = _configure_bodies(broker)
    assert body == {"queue": "allopts", "namespace": "ns1", "task": "t1", "options": wire}
    assert result["namespace"] == "ns1" and result["task"] == "t1"
    for key, value in wire.items():
        assert result["options"][key] == value, key
    assert broker.state.queues["allopts"].options["leaseTime"] == 120


async def test_config_merges_over_defaults(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("merge").config({"retry_limit": 9}).create()
    (body,) = _configure_bodies(broker)
    assert body["options"] == {**DEFAULT_WIRE, "retryLimit": 9}


async def test_user_camel_case_beats_the_default(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("camel").config({"leaseTime": 60, "retryLimit": 1}).create()
    (body,) = _configure_bodies(broker)
    assert body["options"]["leaseTime"] == 60
    assert body["options"]["retryLimit"] == 1
    assert "lease_time" not in body["options"]
    assert broker.state.queues["camel"].options["leaseTime"] == 60


async def test_integral_floats_are_sent_as_ints(queen: Queen, broker: RecordingBroker) -> None:
    result = await queen.queue("floats").config({"lease_time": 60.0, "retry_limit": 2.0}).create()
    (raw,) = broker.seen("POST", "/api/v1/configure")
    assert b'"leaseTime":60,' in raw.body
    assert b'"retryLimit":2,' in raw.body
    assert b"60.0" not in raw.body
    assert result["configured"] is True
    assert broker.state.queues["floats"].options["leaseTime"] == 60


@pytest.mark.parametrize(
    "options",
    [
        {"lease_time": 1.5},
        {"lease_time": "60"},
        {"lease_time": True},
        {"lease_time": None},
        {"encryption_enabled": 1},
        {"encryption_enabled": "true"},
        {"bogus_option": 1},
        {"leasetime": 1},
    ],
)
async def test_bad_options_fail_before_sending(
    queen: Queen, broker: RecordingBroker, options: Any
) -> None:
    # Checked where the options are set, not when the queue is created.
    with pytest.raises(QueenValidationError):
        queen.queue("bad").config(options)
    assert broker.requests == []


async def test_configure_is_a_full_replace(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("fr").namespace("n").config({"lease_time": 30, "retry_limit": 8}).create()
    assert broker.state.queues["fr"].options["leaseTime"] == 30
    await queen.queue("fr").create()
    options = broker.state.queues["fr"].options
    assert options["leaseTime"] == 300
    assert options["retryLimit"] == 3
    assert broker.state.queues["fr"].namespace == ""


async def test_config_does_not_mutate_defaults(queen: Queen) -> None:
    before = dict(QUEUE_DEFAULTS)
    queen.queue("x").config({"lease_time": 1})
    assert before == QUEUE_DEFAULTS


async def test_builder_setters_return_the_builder(queen: Queen) -> None:
    b = queen.queue("s")
    for setter in (
        b.namespace("n"), b.task("t"), b.config({}), b.partition("p"), b.buffer({}),
        b.group("g"), b.concurrency(2), b.batch(2), b.partitions(2), b.limit(1),
        b.idle_millis(1), b.timeout_millis(1), b.auto_ack(False), b.renew_lease(True, 5),
        b.subscription_mode("new"), b.subscription_from("now"), b.each(), b.wait(False),
        b.commit_on_delivery(),
    ):
        assert setter is b
    assert b.name == "s"
    assert queen.queue("s") is not b


async def test_delete(queen: Queen, broker: RecordingBroker) -> None:
    await queen.queue("del").push({"data": 1})
    assert await queen.queue("del").delete() == {"deleted": True, "queue": "del", "existed": True}
    assert "del" not in broker.state.queues
    assert await queen.queue("del").delete() == {
        "deleted": True, "queue": "del", "existed": False,
    }
    (first, _) = broker.seen("DELETE", "/api/v1/resources/queues/del")
    assert first.body == b""


async def test_delete_without_a_name(queen: Queen) -> None:
    with pytest.raises(ValueError, match=r"^Queue name is required for delete operation$"):
        queen.queue().delete()


@pytest.mark.parametrize("name", ["has space", "a/b", "q?x", "t\tab"])
async def test_unaddressable_names_fail_before_sending(
    queen: Queen, broker: RecordingBroker, name: str
) -> None:
    # The full rule, on both brokers, is in tests/e2e/test_names.py.
    with pytest.raises(ValueError):
        queen.queue(name)
    with pytest.raises(ValueError):
        queen.queue("ok").partition(name)
    with pytest.raises(ValueError):
        await queen.delete_consumer_group(name)
    with pytest.raises(ValueError):
        await queen.admin.get_queue(name)
    assert broker.requests == []


async def test_legal_segment_characters_are_sent_as_is(
    queen: Queen, broker: RecordingBroker
) -> None:
    name = "a-b_c.d~e!$&'()*+,;=:@"
    await queen.queue(name).push({"data": 1})
    messages = await queen.queue(name).wait(False).pop()
    assert [m["data"] for m in messages] == [1]
    (pop,) = broker.seen("GET", "/api/v1/pop")
    assert pop.path == "/api/v1/pop/queue/" + name


async def test_operation_builder_callbacks(queen: Queen) -> None:
    got: List[Any] = []

    async def on_success(result: Any) -> None:
        got.append(("ok", result["configured"]))

    result = await queen.queue("cb").create().on_success(on_success)
    assert result["configured"] is True
    # sync callbacks are accepted too (D26)
    await queen.queue("cb").delete().on_success(lambda r: got.append(("del", r["existed"])))
    assert got == [("ok", True), ("del", True)]


async def test_operation_builder_error_body(queen: Queen, broker: RecordingBroker) -> None:
    broker.faults.db_error("configure", "relation does not exist")
    with pytest.raises(QueenServerError, match=r"relation does not exist") as info:
        await queen.queue("e").create()
    assert info.value.body["success"] is False
    assert info.value.retriable is False

    errors: List[Any] = []
    broker.faults.db_error("configure", "again")
    result = await queen.queue("e").create().on_error(errors.append)
    assert result == {"success": False, "error": "again"}
    assert isinstance(errors[0], QueenServerError)


async def test_operation_builder_transport_error(queen: Queen, server: Any) -> None:
    server.nodes[0].faults.error(400, body=b'{"error":"queue is required"}', count=1)
    errors: List[Any] = []
    result = await queen.queue("e").create().on_error(errors.append)
    assert result["success"] is False
    assert result["error"].startswith("queue is required (POST http://")
    assert errors[0].status == 400


async def test_awaiting_twice_runs_once(queen: Queen, broker: RecordingBroker) -> None:
    op = queen.queue("once").create()
    assert (await op)["configured"] is True
    assert await op is None
    assert len(broker.seen("POST", "/api/v1/configure")) == 1


async def test_create_snapshot(queen: Queen, broker: RecordingBroker) -> None:
    b = queen.queue("snap").config({"lease_time": 10})
    op = b.create()
    b.config({"lease_time": 20})
    await op
    assert orjson.loads(broker.seen("POST", "/api/v1/configure")[0].body)["options"][
        "leaseTime"
    ] == 10
