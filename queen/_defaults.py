"""The five default tables of the reference client (client contract §2), plus our additions.

They are exported as plain dicts. Constructors and builders copy them and never mutate them.
"""

from __future__ import annotations

from typing import Any, Dict

__all__ = [
    "BUFFER_DEFAULTS",
    "CLIENT_DEFAULTS",
    "CONSUME_DEFAULTS",
    "DEFAULT_PARTITION",
    "POP_DEFAULTS",
    "QUEUE_DEFAULTS",
    "QUEUE_MODE",
]

CLIENT_DEFAULTS: Dict[str, Any] = {
    "timeout_millis": 30000,
    "retry_attempts": 3,
    "retry_delay_millis": 1000,
    "load_balancing_strategy": "affinity",
    "affinity_hash_ring": 128,
    "enable_failover": True,
    "health_retry_after_millis": 5000,
    "bearer_token": None,
    "headers": {},
    "handle_signals": True,
    "logger": None,
    "retry_429": True,
}

QUEUE_DEFAULTS: Dict[str, Any] = {
    "lease_time": 300,
    "retry_limit": 3,
    "priority": 0,
    "delayed_processing": 0,
    "window_buffer": 0,
    "max_size": 0,
    "retention_seconds": 0,
    "completed_retention_seconds": 0,
    "encryption_enabled": False,
}

CONSUME_DEFAULTS: Dict[str, Any] = {
    "concurrency": 1,
    "batch": 1,
    "auto_ack": True,
    "wait": True,
    "timeout_millis": 30000,
    "limit": None,
    "idle_millis": None,
    "renew_lease": False,
    "renew_lease_interval_millis": None,
    "subscription_mode": None,
    "subscription_from": None,
}

POP_DEFAULTS: Dict[str, Any] = {
    "batch": 1,
    "wait": False,
    "timeout_millis": 30000,
    "auto_ack": False,
}

BUFFER_DEFAULTS: Dict[str, Any] = {
    "message_count": 100,
    "time_millis": 1000,
    "max_size": None,
    "max_bytes": 16 * 1024 * 1024,
    "retry_delay_millis": 250,
    "on_flush_error": None,
}

# The broker's name for "no consumer group" and its default partition.
QUEUE_MODE = "__QUEUE_MODE__"
DEFAULT_PARTITION = "Default"
