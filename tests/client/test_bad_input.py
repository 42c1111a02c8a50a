"""Bad input, at every public entry point, raises a typed QueenError where it is passed.

A value of the wrong type raises :class:`QueenTypeError` (also a ``TypeError``), a value out
of range :class:`QueenValidationError` (also a ``ValueError``); the message names the option
and shows the value, and nothing reaches the broker. The last test checks that every public
method taking an argument has a case here (or a stated reason not to).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable, Iterator, List, Tuple, Type

import pytest

from queen import (
    Admin,
    Queen,
    QueenError,
    QueenTypeError,
    QueenValidationError,
)
from queen._builders._consume import ConsumeBuilder
from queen._builders._dlq import DLQBuilder
from queen._builders._ids import MISSING_ID, MISSING_PARTITION
from queen._builders._operation import OperationBuilder
from queen._builders._push import PushBuilder
from queen._builders._queue import QueueBuilder
from queen._builders._transaction import TransactionBuilder, TransactionQueueBuilder

from .conftest import RecordingBroker

V = QueenValidationError
T = QueenTypeError
MSG = {"transactionId": "t", "partitionId": "p", "leaseId": "l"}
URL = "http://127.0.0.1:1"


def _queen(*args: Any, **kwargs: Any) -> Queen:
    kwargs.setdefault("handle_signals", False)
    return Queen(*args, **kwargs)


def case(entry: str, call: Callable[[Queen], Any], error: Type[QueenError],
         *fragments: str) -> Any:
    return pytest.param(entry, call, error, fragments, id=f"{entry}-{'-'.join(fragments)[:40]}")


CASES = [
    # -- Queen() ------------------------------------------------------------------------------
    case("Queen.__init__", lambda q: _queen("127.0.0.1:6632"), V,
         "'127.0.0.1:6632'", "did you mean 'http://127.0.0.1:6632'"),
    case("Queen.__init__", lambda q: Queen(handle_signals=False), V,
         "Must provide urls or url in configuration"),
    case("Queen.__init__", lambda q: _queen(6632), T, "URL string", "6632 (int)"),
    case("Queen.__init__", lambda q: _queen(urls="http://a:1"), T, "urls", "'http://a:1'"),
    case("Queen.__init__", lambda q: _queen(urls=[]), V, "urls"),
    case("Queen.__init__", lambda q: _queen([URL, 5]), T, "5 (int)"),
    case("Queen.__init__", lambda q: _queen("http://"), V, "'http://'", "no host"),
    case("Queen.__init__", lambda q: _queen("http://a:port"), V, "'http://a:port'"),
    case("Queen.__init__", lambda q: _queen("http://a:1/?x=1"), V, "query"),
    case("Queen.__init__", lambda q: _queen(URL, timeout_millis="30s"), T,
         "timeout_millis", "'30s'"),
    case("Queen.__init__", lambda q: _queen(URL, timeout_millis=0), V,
         "timeout_millis must be >= 1, got 0"),
    case("Queen.__init__", lambda q: _queen({"url": URL, "timeout_millis": None}), T,
         "timeout_millis", "None"),
    case("Queen.__init__", lambda q: _queen(URL, retry_attempts=-1), V, "retry_attempts", "-1"),
    case("Queen.__init__", lambda q: _queen(URL, retry_delay_millis=1.5), V,
         "retry_delay_millis", "1.5"),
    case("Queen.__init__", lambda q: _queen(URL, load_balancing_strategy="random"), V,
         "load_balancing_strategy", "'random'"),
    case("Queen.__init__", lambda q: _queen(URL, affinity_hash_ring=0), V,
         "affinity_hash_ring", "0"),
    case("Queen.__init__", lambda q: _queen(URL, enable_failover="yes"), T,
         "enable_failover", "'yes'"),
    case("Queen.__init__", lambda q: _queen(URL, health_retry_after_millis="5s"), T,
         "health_retry_after_millis", "'5s'"),
    case("Queen.__init__", lambda q: _queen(URL, bearer_token=123), T, "bearer_token", "123"),
    case("Queen.__init__", lambda q: _queen(URL, headers=[("a", "b")]), T,
         "headers", "[('a', 'b')]"),
    case("Queen.__init__", lambda q: _queen(URL, headers={"X-N": 1}), T, "headers", "'X-N'"),
    case("Queen.__init__", lambda q: _queen(URL, headers={"X-N": "a\r\nb"}), V,
         "headers", "'X-N'", "line break"),
    case("Queen.__init__", lambda q: _queen(URL, headers={"bad name": "v"}), V,
         "headers", "'bad name'"),
    case("Queen.__init__", lambda q: Queen(URL, handle_signals="no"), T,
         "handle_signals", "'no'"),
    case("Queen.__init__", lambda q: _queen(URL, logger=object()), T, "logger"),
    case("Queen.__init__", lambda q: _queen(URL, retry_429=1), T, "retry_429", "1"),
    case("Queen.__init__", lambda q: _queen(URL, transport=object()), T, "transport"),
    case("Queen.__init__", lambda q: _queen(URL, http2_prior_knowledge="true"), T,
         "http2_prior_knowledge", "'true'"),
    case("Queen.__init__", lambda q: _queen(URL, tls_ca_bundle="/nonexistent/ca.pem"), V,
         "tls_ca_bundle", "'/nonexistent/ca.pem'"),
    case("Queen.__init__", lambda q: _queen(URL, tls_ca_bundle=__file__), V,
         "tls_ca_bundle", repr(__file__)),
    case("Queen.__init__", lambda q: _queen(URL, tls_ca_bundle=5), T, "tls_ca_bundle", "5"),
    case("Queen.__init__", lambda q: _queen(URL, tls_client_cert=__file__), V,
         "tls_client_cert", repr(__file__)),
    case("Queen.__init__", lambda q: _queen(URL, tls_client_key=__file__), V,
         "tls_client_key", "needs tls_client_cert"),
    case("Queen.__init__", lambda q: _queen(URL, tls_insecure_skip_verify="yes"), T,
         "tls_insecure_skip_verify", "'yes'"),
    # -- Queen methods -------------------------------------------------------------------------
    case("Queen.queue", lambda q: q.queue(123), T, "queue name", "123"),
    case("Queen.queue", lambda q: q.queue("a/b"), V, "queue name", "'a/b'"),
    case("Queen.ack", lambda q: q.ack(MSG, 5), T, "ack status", "5"),
    case("Queen.ack", lambda q: q.ack([{}]), V, MISSING_ID),
    case("Queen.ack", lambda q: q.ack([{"id": "x"}]), V, MISSING_PARTITION),
    case("Queen.ack", lambda q: q.ack(MSG, True, "g"), T, "ack context", "'g'"),
    case("Queen.ack", lambda q: q.ack(MSG, error=5), T, "ack error", "5"),
    case("Queen.renew", lambda q: q.renew("lease", seconds="x"), T, "seconds", "'x'"),
    case("Queen.renew", lambda q: q.renew("lease", seconds=0), V, "seconds must be >= 1, got 0"),
    case("Queen.delete_consumer_group", lambda q: q.delete_consumer_group("a b"), V,
         "consumer group", "'a b'"),
    case("Queen.delete_consumer_group", lambda q: q.delete_consumer_group("g", "yes"), T,
         "delete_metadata", "'yes'"),
    case("Queen.update_consumer_group_timestamp",
         lambda q: q.update_consumer_group_timestamp("g", 5), T, "timestamp", "5"),
    case("Queen.update_consumer_group_timestamp",
         lambda q: q.update_consumer_group_timestamp("a?b", "now"), V, "consumer group", "'a?b'"),
    case("Queen.close", lambda q: q.close(timeout_millis="x"), T, "timeout_millis", "'x'"),
    # -- QueueBuilder --------------------------------------------------------------------------
    case("QueueBuilder.push", lambda q: q.queue("").push({}), V,
         "Queue name is required for push operation"),
    case("QueueBuilder.push", lambda q: q.queue("q").push("x"), T, "push()", "'x'"),
    case("QueueBuilder.push", lambda q: q.queue("q").push([1]), V, "must be dicts"),
    case("QueueBuilder.pop", lambda q: q.queue().pop(), V,
         "Must specify queue, namespace, or task for pop operation"),
    case("QueueBuilder.create", lambda q: q.queue().create(), V,
         "Queue name is required for create operation"),
    case("QueueBuilder.delete", lambda q: q.queue().delete(), V,
         "Queue name is required for delete operation"),
    case("QueueBuilder.flush_buffer", lambda q: q.queue().flush_buffer(), V,
         "Queue name is required for buffer flush"),
    case("QueueBuilder.namespace", lambda q: q.queue("q").namespace(5), T, "namespace", "5"),
    case("QueueBuilder.task", lambda q: q.queue("q").task("a b"), V, "task", "'a b'"),
    case("QueueBuilder.config", lambda q: q.queue("q").config(None), T, "config", "None"),
    case("QueueBuilder.config", lambda q: q.queue("q").config({"lease_time": "60"}), T,
         "leaseTime", "'60'"),
    case("QueueBuilder.config", lambda q: q.queue("q").config({"bogus": 1}), V, "'bogus'"),
    case("QueueBuilder.partition", lambda q: q.queue("q").partition(None), T,
         "partition name", "None"),
    case("QueueBuilder.partition", lambda q: q.queue("q").partition("p/1"), V,
         "partition name", "'p/1'"),
    case("QueueBuilder.group", lambda q: q.queue("q").group(1), T, "consumer group", "1"),
    case("QueueBuilder.concurrency", lambda q: q.queue("q").concurrency("4"), T,
         "concurrency", "'4'"),
    case("QueueBuilder.batch", lambda q: q.queue("q").batch("ten"), T, "batch", "'ten'"),
    case("QueueBuilder.batch", lambda q: q.queue("q").batch(2.5), V, "batch", "2.5"),
    case("QueueBuilder.partitions", lambda q: q.queue("q").partitions(None), T,
         "partitions", "None"),
    case("QueueBuilder.limit", lambda q: q.queue("q").limit("5"), T, "limit", "'5'"),
    case("QueueBuilder.limit", lambda q: q.queue("q").limit(-1), V, "limit", "-1"),
    case("QueueBuilder.idle_millis", lambda q: q.queue("q").idle_millis("1s"), T,
         "idle_millis", "'1s'"),
    case("QueueBuilder.timeout_millis", lambda q: q.queue("q").timeout_millis("x"), T,
         "timeout_millis", "'x'"),
    case("QueueBuilder.timeout_millis", lambda q: q.queue("q").timeout_millis(-1), V,
         "timeout_millis", "-1"),
    case("QueueBuilder.auto_ack", lambda q: q.queue("q").auto_ack("false"), T,
         "auto_ack", "'false'"),
    case("QueueBuilder.renew_lease", lambda q: q.queue("q").renew_lease(1), T,
         "renew_lease", "1"),
    case("QueueBuilder.renew_lease", lambda q: q.queue("q").renew_lease(True, "10s"), T,
         "interval_millis", "'10s'"),
    case("QueueBuilder.subscription_mode", lambda q: q.queue("q").subscription_mode(5), T,
         "subscription_mode", "5"),
    case("QueueBuilder.subscription_from", lambda q: q.queue("q").subscription_from(5), T,
         "subscription_from", "5"),
    case("QueueBuilder.wait", lambda q: q.queue("q").wait("no"), T, "wait", "'no'"),
    case("QueueBuilder.commit_on_delivery", lambda q: q.queue("q").commit_on_delivery(None), T,
         "commit_on_delivery", "None"),
    case("QueueBuilder.dlq", lambda q: q.queue("q").dlq(5), T, "consumer group", "5"),
    case("QueueBuilder.dlq", lambda q: q.queue().dlq(), V,
         "Queue name is required for DLQ operations"),
    case("QueueBuilder.consume", lambda q: q.queue("q").consume(None), T, "handler", "None"),
    case("QueueBuilder.consume", lambda q: q.queue("q").consume(print, signal=5), T,
         "signal", "5"),
    # -- the other builders ---------------------------------------------------------------------
    case("TransactionBuilder.ack", lambda q: q.transaction().ack({}), V, MISSING_ID),
    case("TransactionBuilder.ack", lambda q: q.transaction().ack({"id": "x"}), V,
         MISSING_PARTITION),
    case("TransactionBuilder.ack", lambda q: q.transaction().ack(MSG, 5), T, "ack status", "5"),
    case("TransactionBuilder.ack", lambda q: q.transaction().ack(MSG, "completed", "g"), T,
         "ack context", "'g'"),
    case("TransactionBuilder.queue", lambda q: q.transaction().queue(""), V, "queue name"),
    case("QueueBuilder.keyed", lambda q: q.queue("q").keyed("8"), T,
         "keyed()", "'8'"),
    case("QueueBuilder.keyed", lambda q: q.queue("q").keyed(0), V,
         "keyed()", "from 1 to 65536", "0"),
    case("TransactionQueueBuilder.keyed",
         lambda q: q.transaction().queue("q").keyed(1.5), T, "keyed()", "1.5"),
    case("TransactionQueueBuilder.partition",
         lambda q: q.transaction().queue("q").partition(5), T, "partition name", "5"),
    case("TransactionQueueBuilder.push", lambda q: q.transaction().queue("q").push("x"), V,
         "must be dicts"),
    case("DLQBuilder.limit", lambda q: q.queue("q").dlq().limit("10"), T, "limit", "'10'"),
    case("DLQBuilder.offset", lambda q: q.queue("q").dlq().offset(None), T, "offset", "None"),
    case("DLQBuilder.from_", lambda q: q.queue("q").dlq().from_(5), T, "from_", "5"),
    case("DLQBuilder.to", lambda q: q.queue("q").dlq().to([]), T, "to", "[]"),
    case("PushBuilder.on_success", lambda q: q.queue("q").push({}).on_success(5), T,
         "on_success callback", "5"),
    case("PushBuilder.on_error", lambda q: q.queue("q").push({}).on_error("x"), T,
         "on_error callback", "'x'"),
    case("PushBuilder.on_duplicate", lambda q: q.queue("q").push({}).on_duplicate(None), T,
         "on_duplicate callback", "None"),
    case("ConsumeBuilder.on_success", lambda q: q.queue("q").consume(print).on_success(5), T,
         "on_success callback", "5"),
    case("ConsumeBuilder.on_error", lambda q: q.queue("q").consume(print).on_error(5), T,
         "on_error callback", "5"),
    case("OperationBuilder.on_success", lambda q: q.queue("q").create().on_success(5), T,
         "on_success callback", "5"),
    case("OperationBuilder.on_error", lambda q: q.queue("q").delete().on_error(5), T,
         "on_error callback", "5"),
    # -- Admin ----------------------------------------------------------------------------------
    case("Admin.get_queue", lambda q: q.admin.get_queue("a/b"), V, "queue name", "'a/b'"),
    case("Admin.get_queue_detail", lambda q: q.admin.get_queue_detail(None), T, "queue name"),
    case("Admin.get_queue_messages", lambda q: q.admin.get_queue_messages("a b"), V,
         "queue name", "'a b'"),
    case("Admin.get_message", lambda q: q.admin.get_message("p", "t x"), V,
         "transaction id", "'t x'"),
    case("Admin.delete_message", lambda q: q.admin.delete_message(5, "t"), T,
         "partition id", "5"),
    case("Admin.get_traces_for_message", lambda q: q.admin.get_traces_for_message("p", ""), V,
         "transaction id"),
    case("Admin.get_traces_by_name", lambda q: q.admin.get_traces_by_name(5), T,
         "trace_name", "5"),
    case("Admin.get_consumer_group", lambda q: q.admin.get_consumer_group("g?x"), V,
         "consumer group", "'g?x'"),
    case("Admin.get_lagging_consumers", lambda q: q.admin.get_lagging_consumers("60"), T,
         "min_lag_seconds", "'60'"),
    case("Admin.delete_consumer_group_for_queue",
         lambda q: q.admin.delete_consumer_group_for_queue("g", "q", "x"), T,
         "delete_metadata", "'x'"),
    case("Admin.seek_consumer_group",
         lambda q: q.admin.seek_consumer_group("g", "q", ["toEnd"]), T, "options", "['toEnd']"),
    case("Admin.seek_partition_to_end",
         lambda q: q.admin.seek_partition_to_end("g", "q", "p/1"), V, "partition name", "'p/1'"),
    case("Admin.set_maintenance_mode", lambda q: q.admin.set_maintenance_mode("on"), T,
         "enabled", "'on'"),
    case("Admin.set_pop_maintenance_mode", lambda q: q.admin.set_pop_maintenance_mode(1), T,
         "enabled", "1"),
]


@pytest.mark.parametrize(("entry", "call", "error", "fragments"), CASES)
async def test_bad_input_raises_a_typed_queen_error_naming_it(
    queen: Queen, broker: RecordingBroker, entry: str, call: Callable[[Queen], Any],
    error: Type[QueenError], fragments: Tuple[str, ...],
) -> None:
    with pytest.raises(QueenError) as info:
        result = call(queen)
        if inspect.isawaitable(result):
            await result
    exc = info.value
    assert type(exc) is error, f"{entry}: {type(exc).__name__}: {exc}"
    # The standard bases stay, for code that catches them.
    assert isinstance(exc, TypeError if error is QueenTypeError else ValueError)
    for fragment in fragments:
        assert fragment in str(exc), f"{entry}: {fragment!r} not in {str(exc)!r}"
    assert broker.requests == []


# Public methods taking arguments that need no case above, and why.
EXEMPT = {"QueueBuilder.buffer": "its options are checked with the buffer (tests/consumer)"}
ANY_PARAMS = "takes only **params, passed to the broker's query string as given"
UNSUPPORTED = "raises QueenUnsupportedError for any input (the 0.15 broker lacks the route)"
for _name in ("list_queues", "list_messages", "get_trace_names", "get_status",
              "get_queue_stats", "get_analytics", "get_system_metrics", "get_worker_metrics"):
    EXEMPT[f"Admin.{_name}"] = ANY_PARAMS
for _name in ("clear_queue", "get_partitions", "retry_message", "move_message_to_dlq"):
    EXEMPT[f"Admin.{_name}"] = UNSUPPORTED

PUBLIC_CLASSES = (
    Queen, QueueBuilder, TransactionBuilder, TransactionQueueBuilder, DLQBuilder, PushBuilder,
    ConsumeBuilder, OperationBuilder, Admin,
)


def _entry_points() -> Iterator[str]:
    """``Class.method`` of every public method with an argument; of the constructors only
    Queen's is public (the client builds the others)."""
    for cls in PUBLIC_CLASSES:
        for name, member in vars(cls).items():
            public = not name.startswith("_") or (cls is Queen and name == "__init__")
            if not public or not callable(member):
                continue
            if list(inspect.signature(member).parameters)[1:]:
                yield f"{cls.__name__}.{name}"


def test_every_public_entry_point_taking_arguments_has_a_case() -> None:
    covered = {param.values[0] for param in CASES}
    missing: List[str] = [e for e in _entry_points() if e not in covered and e not in EXEMPT]
    assert missing == []


# -- accepted with a warning: what the reference accepted and the broker ignores -------------


def test_unknown_config_keys_warn_once_each(fresh_warnings: None) -> None:
    with pytest.warns(UserWarning) as record:
        _queen({"url": URL, "timeoutMillis": 5, "colour": "red"})
        _queen({"url": URL, "timeoutMillis": 5})
    texts = [str(w.message) for w in record]
    assert texts == [
        "Queen() ignores the unknown option 'timeoutMillis'; did you mean 'timeout_millis'?",
        "Queen() ignores the unknown option 'colour'",
    ]
    assert all(w.filename == __file__ for w in record)  # it points at the caller


def test_unknown_subscription_mode_warns_once_and_is_sent(
    queen: Queen, fresh_warnings: None
) -> None:
    with pytest.warns(UserWarning, match="subscription_mode 'bogus'.*as for 'all'") as record:
        builder = queen.queue("q").group("g").subscription_mode("bogus")
        queen.queue("q").subscription_mode("bogus")
    assert len(record) == 1
    assert "subscriptionMode=bogus" in builder.pop_request()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        queen.queue("q").subscription_mode("new").subscription_mode("all")


def test_unparsable_subscription_from_warns_once(queen: Queen, fresh_warnings: None) -> None:
    with pytest.warns(UserWarning, match="subscription_from 'next week' is not 'now'") as record:
        queen.queue("q").subscription_from("next week")
        queen.queue("q").subscription_from("next week")
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for value in ("now", "yesterday", "2026-01-01", "2026-01-01T10:00:00.123Z",
                      "2026-01-01 10:00:00+02:00"):
            queen.queue("q").subscription_from(value)
