"""Runs every speedups test against both twins.

The ``impl`` fixture is parametrized over ``"compiled"`` and ``"pure"``. A compiled module that
fails to import makes its tests FAIL (a broken build must not pass as pure); with
``QUEEN_NO_EXTENSIONS=1`` the compiled parameters and the ``compiled``-marked tests are
deselected instead.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import List

import pytest

from queen._speedups import load

NO_EXTENSIONS = os.environ.get("QUEEN_NO_EXTENSIONS") == "1"
IMPLS = ("compiled", "pure")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if not NO_EXTENSIONS:
        return
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        compiled_param = callspec is not None and callspec.params.get("impl") == "compiled"
        if compiled_param or item.get_closest_marker("compiled") is not None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=IMPLS)
def impl(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ring(impl: str) -> ModuleType:
    return load("ring", impl)


@pytest.fixture
def codec(impl: str) -> ModuleType:
    return load("codec", impl)


@pytest.fixture
def batch(impl: str) -> ModuleType:
    return load("batch", impl)


@pytest.fixture
def acks(impl: str) -> ModuleType:
    return load("acks", impl)
