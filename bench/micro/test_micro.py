"""Micro benchmarks of the hot path, per implementation and per size.

Run (one run, ratios from it)::

    pytest bench/micro -q -p no:cacheprovider --benchmark-only \
        --benchmark-json=/tmp/micro.json
    python bench/micro/report.py /tmp/micro.json

``impl`` is ``compiled``, ``pure`` or ``floor`` (what the same work costs in orjson alone: one
``orjson.dumps`` of the finished push body dict, one bare ``orjson.loads`` of the pop body).
Tags are in ``extra_info``: ``component``, ``impl``, ``size``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import orjson
import pytest

from queen._speedups import load

from .conftest import NULLS, Message, finished_body, pop_body, user_items

IMPLS = ("compiled", "pure")


def _module(component: str, impl: str) -> ModuleType:
    try:
        return load(component, impl)
    except ImportError:
        pytest.skip(f"{component}: compiled twin not built")


def _tag(benchmark: Any, component: str, impl: str, size: int) -> None:
    benchmark.group = f"{component}-{size}"
    benchmark.extra_info.update(component=component, impl=impl, size=size)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("urls", [2, 4, 8, 16])
def test_ring_lookup(benchmark: Any, impl: str, urls: int) -> None:
    ring = _module("ring", impl).HashRing([f"http://queen-{i}:6632" for i in range(urls)], 128)
    _tag(benchmark, "ring_lookup", impl, urls)
    benchmark(ring.lookup, "orders:*:__QUEUE_MODE__")


@pytest.mark.parametrize("impl", IMPLS)
def test_uuid7(benchmark: Any, impl: str) -> None:
    _tag(benchmark, "uuid7", impl, 1)
    benchmark(_module("codec", impl).uuid7)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", [64, 256, 1024])
def test_batching(benchmark: Any, impl: str, size: int) -> None:
    batch = _module("batch", impl)
    encoder = load("codec", "pure").PushEncoder("orders", "p1")
    encoded = encoder.items(user_items(size))

    def run() -> bytes:
        queue = batch.ItemQueue()
        for item in encoded:
            queue.append(item, 1.0)
        return bytes(queue.take(size).body)

    _tag(benchmark, "batching", impl, size)
    benchmark(run)


@pytest.mark.parametrize("impl", (*IMPLS, "floor"))
@pytest.mark.parametrize("size", [100, 1000])
@pytest.mark.parametrize("ids", ["generated", "given"])
def test_push_encode(benchmark: Any, impl: str, size: int, ids: str) -> None:
    # The immediate push: PushEncoder.items() of the user's list, then body(). "given" items
    # carry their own transactionId (an idempotent producer); "generated" ones get a UUIDv7.
    run: Callable[[], bytes]
    if impl == "floor":
        body = finished_body(size)
        run = lambda: orjson.dumps(body)  # noqa: E731
    else:
        encoder = _module("codec", impl).PushEncoder("orders", "p1")
        items = user_items(size, with_ids=ids == "given")
        run = lambda: encoder.body(encoder.items(items))  # noqa: E731
    _tag(benchmark, "push_encode" if ids == "generated" else "push_encode_ids", impl, size)
    benchmark(run)


@pytest.mark.parametrize("impl", (*IMPLS, "floor"))
@pytest.mark.parametrize("size", [100])
def test_push_encode_nulls(benchmark: Any, impl: str, size: int) -> None:
    # As push_encode, with null values in every payload: the encoder then walks the payloads
    # for NaN/Infinity, which orjson would also write as null.
    run: Callable[[], bytes]
    if impl == "floor":
        body = finished_body(size, base=NULLS)
        run = lambda: orjson.dumps(body)  # noqa: E731
    else:
        encoder = _module("codec", impl).PushEncoder("orders", "p1")
        items = user_items(size, base=NULLS)
        run = lambda: encoder.body(encoder.items(items))  # noqa: E731
    _tag(benchmark, "push_encode_nulls", impl, size)
    benchmark(run)


@pytest.mark.parametrize("impl", (*IMPLS, "floor"))
@pytest.mark.parametrize("size", [100])
def test_pop_decode(benchmark: Any, impl: str, size: int) -> None:
    body = pop_body(size)
    run: Callable[[], Any]
    if impl == "floor":
        run = lambda: orjson.loads(body)  # noqa: E731
    else:
        decode = _module("codec", impl).decode_pop
        run = lambda: decode(body, Message)  # noqa: E731
    _tag(benchmark, "pop_decode", impl, size)
    benchmark(run)
