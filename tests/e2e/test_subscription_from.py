"""``subscription_from`` values the broker's timestamp parser (PostgreSQL's) takes besides
ISO 8601: its special words, in any case. Found on a live 0.15.1 broker; the client sends
them without a warning, and queen.testing reads them as the broker does."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from queen import Queen


@pytest.mark.parametrize(
    ("start", "replays"),
    [
        ("now", False),
        ("NOW", False),
        ("tomorrow", False),  # a future start pins the group at the newest message
        ("Today", True),  # midnight UTC: the message was pushed after it
        ("yesterday", True),
        ("epoch", True),
        ("2000-01-01T00:00:00Z", True),
        ("2999-01-01T00:00:00Z", False),
    ],
)
async def test_subscription_start_words(any_broker: Any, start: str, replays: bool) -> None:
    name = any_broker.name("subfrom")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).push({"data": {"n": 1}})
        # Another group's long poll returns once the message is visible to pops (a loaded
        # broker can take a moment), so the first pop below sees it exist.
        assert await queen.queue(name).group("probe").timeout_millis(10000).pop()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # none of these is warned about
            builder = queen.queue(name).group("g").subscription_from(start)
        first = await builder.batch(10).wait(False).pop()
        assert [m["data"]["n"] for m in first] == ([1] if replays else [])
        if not replays:
            await queen.queue(name).push({"data": {"n": 2}})
            later = await queen.queue(name).group("g").batch(10).timeout_millis(10000).pop()
            assert [m["data"]["n"] for m in later] == [2]
