"""The module paths of queen-mq 0.15 (every module of its package but ``queen.streams``).

Public names re-export the queen-turbo objects with the same role; the reference's internal
machinery raises an ImportError that names the public way.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from typing import Dict, List

import pytest

import queen

BUILDERS = [
    "ConsumeBuilder",
    "DLQBuilder",
    "OperationBuilder",
    "PushBuilder",
    "QueueBuilder",
    "TransactionBuilder",
    "TransactionQueueBuilder",
]
DEFAULTS = [
    "CLIENT_DEFAULTS", "QUEUE_DEFAULTS", "CONSUME_DEFAULTS", "POP_DEFAULTS", "BUFFER_DEFAULTS",
]

PUBLIC: Dict[str, List[str]] = {
    "queen.client": ["Queen"],
    "queen.admin": ["Admin"],
    "queen.admin.admin": ["Admin"],
    "queen.builders": BUILDERS,
    "queen.builders.consume_builder": ["ConsumeBuilder"],
    "queen.builders.dlq_builder": ["DLQBuilder"],
    "queen.builders.operation_builder": ["OperationBuilder"],
    "queen.builders.push_builder": ["PushBuilder"],
    "queen.builders.queue_builder": ["QueueBuilder"],
    "queen.builders.transaction_builder": ["TransactionBuilder", "TransactionQueueBuilder"],
    "queen.types": [
        "Message", "AckResponse", "BufferStats", "DLQResponse", "TransactionResponse",
        "MessageHandler", "BatchMessageHandler", "SuccessCallback", "ErrorCallback",
        "DuplicateCallback", "TraceConfig", "TraceMethod", "MessageWithTrace",
    ],
    "queen.utils": [
        *DEFAULTS, "log", "warn", "error", "is_log_enabled", "is_valid_uuid",
        "validate_queue_name", "validate_url", "validate_urls",
    ],
    "queen.utils.defaults": DEFAULTS,
    "queen.utils.logger": ["LOG_ENABLED", "log", "warn", "error", "is_enabled"],
    "queen.utils.uuid_gen": ["generate_uuid"],
    "queen.utils.validation": [
        "is_valid_uuid", "validate_queue_name", "validate_url", "validate_urls",
    ],
}

INTERNAL: Dict[str, List[str]] = {
    "queen.buffer": ["BufferManager", "MessageBuffer"],
    "queen.buffer.buffer_manager": ["BufferManager"],
    "queen.buffer.message_buffer": ["MessageBuffer"],
    "queen.consumer": ["ConsumerManager"],
    "queen.consumer.consumer_manager": ["ConsumerManager"],
    "queen.http": ["HttpClient", "LoadBalancer"],
    "queen.http.http_client": ["HttpClient"],
    "queen.http.load_balancer": ["LoadBalancer"],
}


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_reference_module_exports_its_names(path: str) -> None:
    module = importlib.import_module(path)
    for name in PUBLIC[path]:
        assert hasattr(module, name), f"{path}.{name}"
        # The same objects as the package root's, where the root has them.
        if hasattr(queen, name):
            assert getattr(module, name) is getattr(queen, name), f"{path}.{name}"


@pytest.mark.parametrize("path", sorted(INTERNAL))
def test_reference_internals_refuse_with_the_public_way(path: str) -> None:
    module = importlib.import_module(path)
    for name in INTERNAL[path]:
        with pytest.raises(ImportError, match=f"queen-turbo has no public {name}.*use "):
            exec(f"from {path} import {name}", {})
        assert name not in module.__all__
    with pytest.raises(AttributeError):
        module.NoSuchName  # noqa: B018


def test_builders_are_the_classes_the_client_hands_out() -> None:
    import queen.builders as b

    client = queen.Queen("http://127.0.0.1:1", handle_signals=False)
    q = client.queue("q")
    assert isinstance(q, b.QueueBuilder)
    assert isinstance(q.push({"data": 1}), b.PushBuilder)
    assert isinstance(q.create(), b.OperationBuilder)
    assert isinstance(q.dlq(), b.DLQBuilder)
    assert isinstance(q.consume(print), b.ConsumeBuilder)
    assert isinstance(client.transaction(), b.TransactionBuilder)
    assert isinstance(client.transaction().queue("q"), b.TransactionQueueBuilder)


def test_utils_follow_the_client_rules(caplog: pytest.LogCaptureFixture) -> None:
    from queen.utils import logger, uuid_gen, validation

    generated = uuid_gen.generate_uuid()
    assert uuid.UUID(generated).version == 7
    assert validation.is_valid_uuid(generated) and validation.is_valid_uuid(str(uuid.uuid4()))
    assert not validation.is_valid_uuid("nope")
    assert validation.validate_queue_name("ümlaut#1") == "ümlaut#1"
    for bad in ("a/b", "has space", ""):
        with pytest.raises(ValueError):
            validation.validate_queue_name(bad)
    assert validation.validate_urls(["HTTP://a:1/"]) == ["http://a:1"]
    with pytest.raises(ValueError, match="did you mean 'http://a:1'"):
        validation.validate_url("a:1")
    with pytest.raises(ValueError):
        validation.validate_urls([])
    with caplog.at_level(logging.INFO, logger="queen.client"):
        logger.log("Custom.op", {"k": 1})
        logger.warn("Custom.op", "careful")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ['[Custom.op] {"k":1}', "[Custom.op] careful"]
