"""Packaging and the public surface (client contract §1)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import queen
import queen.types

# §1.2 + §1.3 of the contract, plus our additions QueenValidationError, QueenPayloadError,
# QueenTypeError, QueenConnectError and __reference_version__.
EXPECTED_ALL = {
    "Queen",
    "Admin",
    "Message",
    "AckResponse",
    "BufferStats",
    "DLQResponse",
    "TransactionResponse",
    "CLIENT_DEFAULTS",
    "QUEUE_DEFAULTS",
    "CONSUME_DEFAULTS",
    "POP_DEFAULTS",
    "BUFFER_DEFAULTS",
    "__version__",
    "__reference_version__",
    "QueenError",
    "QueenHttpError",
    "QueenConnectionError",
    "QueenConnectError",
    "QueenTimeoutError",
    "QueenServerError",
    "QueenUnsupportedError",
    "QueenValidationError",
    "QueenTypeError",
    "QueenPayloadError",
    "StreamsError",
    "StreamsHttpError",
    "StreamsConfigHashMismatch",
    "StreamsRegisterFailed",
    "StreamsCycleFailed",
    "StreamsStateGetFailed",
    "Stream",
    "token_bucket_gate",
    "sliding_window_gate",
}


def test_all_is_exactly_the_public_contract() -> None:
    assert set(queen.__all__) == EXPECTED_ALL
    assert len(queen.__all__) == len(set(queen.__all__))
    for name in queen.__all__:
        assert hasattr(queen, name), name


def test_streams_entry_points_are_the_same_objects() -> None:
    import queen.streams

    assert queen.Stream is queen.streams.Stream
    assert queen.token_bucket_gate is queen.streams.token_bucket_gate
    assert queen.sliding_window_gate is queen.streams.sliding_window_gate
    for name in ("Stream", "token_bucket_gate", "sliding_window_gate", "StreamsError",
                 "StreamsHttpError", "StreamsConfigHashMismatch", "StreamsRegisterFailed",
                 "StreamsCycleFailed", "StreamsStateGetFailed"):
        assert getattr(queen.streams, name) is getattr(queen, name), name


def test_versions() -> None:
    assert re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", queen.__version__)
    assert queen.__reference_version__ == "0.15.0"


def test_types_module_exposes_the_typing_shapes() -> None:
    for name in (
        "Message", "AckResponse", "BufferStats", "DLQResponse", "TransactionResponse",
        "TraceConfig", "TraceMethod", "MessageWithTrace", "MessageHandler",
        "BatchMessageHandler", "SuccessCallback", "ErrorCallback", "DuplicateCallback",
    ):
        assert hasattr(queen.types, name), name
    assert queen.Message is queen.types.Message


def test_every_module_declares_all() -> None:
    missing = []
    for info in pkgutil.walk_packages(queen.__path__, "queen."):
        module = importlib.import_module(info.name)
        if not isinstance(getattr(module, "__all__", None), (list, tuple)):
            missing.append(info.name)
            continue
        for name in module.__all__:
            if not hasattr(module, name):
                missing.append(f"{info.name}.{name}")
    assert missing == []


def test_error_tree() -> None:
    import httpx

    assert issubclass(queen.QueenHttpError, queen.QueenError)
    assert issubclass(queen.QueenHttpError, httpx.HTTPStatusError)
    assert issubclass(queen.QueenConnectionError, httpx.TransportError)
    assert issubclass(queen.QueenConnectError, queen.QueenConnectionError)
    assert issubclass(queen.QueenConnectError, httpx.ConnectError)
    assert issubclass(queen.QueenTimeoutError, queen.QueenConnectionError)
    assert issubclass(queen.QueenTimeoutError, TimeoutError)
    assert issubclass(queen.QueenTimeoutError, httpx.TimeoutException)
    assert issubclass(queen.QueenUnsupportedError, NotImplementedError)
    assert issubclass(queen.QueenValidationError, ValueError)
    assert issubclass(queen.QueenPayloadError, TypeError)
    assert issubclass(queen.QueenTypeError, TypeError)
    assert issubclass(queen.QueenTypeError, queen.QueenValidationError)
    assert queen.QueenConnectionError("x").retriable is True
    assert queen.QueenError("x").retriable is False
    assert queen.QueenError("x").code is None
    for status, retriable in ((500, True), (503, True), (408, True), (429, True),
                              (400, False), (404, False)):
        err = queen.QueenHttpError("m", status=status)
        assert err.retriable is retriable
        assert err.code == err.status == status


def test_default_tables_are_exact() -> None:
    assert queen.CLIENT_DEFAULTS == {
        "timeout_millis": 30000, "retry_attempts": 3, "retry_delay_millis": 1000,
        "load_balancing_strategy": "affinity", "affinity_hash_ring": 128,
        "enable_failover": True, "health_retry_after_millis": 5000, "bearer_token": None,
        "headers": {}, "handle_signals": True, "logger": None, "retry_429": True,
    }
    assert queen.POP_DEFAULTS == {
        "batch": 1, "wait": False, "timeout_millis": 30000, "auto_ack": False,
    }
    assert queen.QUEUE_DEFAULTS == {
        "lease_time": 300, "retry_limit": 3, "priority": 0, "delayed_processing": 0,
        "window_buffer": 0, "max_size": 0, "retention_seconds": 0,
        "completed_retention_seconds": 0, "encryption_enabled": False,
    }
