"""queen.sync covers the async client's whole public surface, with the same signatures.

Every public method and property of every async builder reachable from ``queen.Queen`` must
exist on its synchronous mirror with the same parameters and defaults; coroutine methods
must become plain (blocking) methods; a method returning an awaitable builder must take that
builder's callback setters as keyword arguments. A method added to the async client that the
mirror cannot carry fails here.
"""

from __future__ import annotations

import inspect
from typing import Dict, List, Type

import pytest

import queen
import queen.sync
from queen._admin import Admin
from queen._builders._base import OnceAwaitable
from queen._builders._dlq import DLQBuilder
from queen._builders._queue import QueueBuilder
from queen._builders._transaction import TransactionBuilder, TransactionQueueBuilder
from queen.sync._mirror import Mirror, callback_names, mirrors, terminal_builder

PAIRS: Dict[type, type] = {
    queen.Queen: queen.sync.Queen,
    QueueBuilder: queen.sync.QueueBuilder,
    TransactionBuilder: queen.sync.TransactionBuilder,
    TransactionQueueBuilder: queen.sync.TransactionQueueBuilder,
    DLQBuilder: queen.sync.DLQBuilder,
    Admin: queen.sync.Admin,
}


def _public(cls: type) -> List[str]:
    return sorted(n for n in dir(cls) if not n.startswith("_"))


def _params(sig: inspect.Signature) -> list:
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


def surface_problems(async_cls: type, sync_cls: type) -> List[str]:
    """Every way ``sync_cls`` fails to mirror ``async_cls`` (empty when it does)."""
    problems = []
    for name in _public(async_cls):
        a = inspect.getattr_static(async_cls, name)
        s = inspect.getattr_static(sync_cls, name, None)
        if s is None or inspect.getattr_static(Mirror, name, None) is s:
            problems.append(f"{async_cls.__name__}.{name} is missing")
            continue
        if isinstance(a, property):
            if not isinstance(s, property):
                problems.append(f"{async_cls.__name__}.{name} is not a property")
            continue
        if not callable(a):
            continue
        if not inspect.isfunction(s) or inspect.iscoroutinefunction(s):
            problems.append(f"{async_cls.__name__}.{name} is not a plain function")
            continue
        builder = terminal_builder(a)
        extra = callback_names(builder) if builder is not None else []
        expected = _params(inspect.signature(a))
        expected_kw = [p for p in expected if p[1] is inspect.Parameter.VAR_KEYWORD]
        expected = [p for p in expected if p[1] is not inspect.Parameter.VAR_KEYWORD]
        expected += [(n, inspect.Parameter.KEYWORD_ONLY, None) for n in extra] + expected_kw
        if _params(inspect.signature(s)) != expected:
            problems.append(
                f"{async_cls.__name__}.{name}{inspect.signature(s)} differs from "
                f"{inspect.signature(a)} + {extra}"
            )
    return problems


@pytest.mark.parametrize("async_cls", list(PAIRS), ids=lambda c: c.__name__)
def test_sync_mirror_has_the_async_surface(async_cls: type) -> None:
    assert surface_problems(async_cls, PAIRS[async_cls]) == []


def test_every_builder_the_client_hands_out_is_mirrored_or_run() -> None:
    """Return annotations of the async surface name only mirrored classes or awaitable
    builders (which the mirror runs); a new builder class must be added to queen.sync."""
    known = {c.__name__ for c in PAIRS}
    builders = {c.__name__ for c in _subclasses(OnceAwaitable)}
    for async_cls in PAIRS:
        for name in _public(async_cls):
            attr = inspect.getattr_static(async_cls, name)
            fn = attr.fget if isinstance(attr, property) else attr
            ret = getattr(fn, "__annotations__", {}).get("return")
            if not isinstance(ret, str):
                continue
            if ret.endswith(("Builder", "Admin")) or ret == "Queen":
                assert ret in known | builders, f"{async_cls.__name__}.{name} -> {ret}"


def _subclasses(cls: type) -> List[Type]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_subclasses(sub))
    return out


def test_the_comparison_catches_a_method_the_mirror_lacks() -> None:
    class Grown(QueueBuilder):
        async def replay(self, since: str, *, limit: int = 10) -> None:
            """A method added to the async builder later."""

        @staticmethod
        def helper() -> None:
            """A kind the mirror does not carry."""

    class Stale(Mirror):  # an older mirror, not regenerated
        pass

    @mirrors(Grown)
    class Regenerated(Mirror):
        pass

    assert "Grown.replay is missing" in surface_problems(Grown, Stale)
    assert surface_problems(Grown, Regenerated) == ["Grown.helper is missing"]


def test_sync_constructor_takes_the_async_constructor_arguments() -> None:
    assert _params(inspect.signature(queen.sync.Queen)) == _params(
        inspect.signature(queen.Queen)
    )


def test_terminal_callbacks_are_the_builders_setters() -> None:
    sig = inspect.signature(queen.sync.QueueBuilder.push)
    assert [n for n in sig.parameters if n.startswith("on_")] == [
        "on_duplicate", "on_error", "on_success"
    ]
    assert "on_error" in inspect.signature(queen.sync.QueueBuilder.create).parameters
