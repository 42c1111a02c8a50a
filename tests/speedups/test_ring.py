"""FNV-1a and the affinity ring: client contract §5.4-§5.5 vectors, compiled == pure."""

from __future__ import annotations

from types import ModuleType
from typing import List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queen._speedups import load

HASH_VECTORS = [
    ("", 2166136261),
    ("a", 3826002220),
    ("x", 4245442695),
    ("orders:Default:__QUEUE_MODE__", 104353408),
    ("orders:*:__QUEUE_MODE__", 4149210757),
    ("orders:*:workers", 3024228545),
    ("ns:*:__QUEUE_MODE__", 936384623),
    ("http://localhost:6632#vnode0", 1020800782),
    ("\u00e9", 1812687940),
    ("\u65e5\u672c", 1610399396),
    ("\U0001f600", 3409036472),
    ("q\U0001f600:*:g", 3960646362),
]

URLS = ["http://a:6632", "http://b:6632", "http://c:6632"]
NAMES = {"a": 0, "b": 1, "c": 2}
# key -> (all healthy, c unhealthy, a unhealthy)
RING_VECTORS = [
    ("orders:Default:__QUEUE_MODE__", "a", "a", "c"),
    ("orders:*:__QUEUE_MODE__", "c", "a", "c"),
    ("orders:*:workers", "c", "b", "c"),
    ("ns:*:__QUEUE_MODE__", "c", "b", "c"),
    ("x", "c", "a", "c"),
    ("\U0001f600", "b", "b", "b"),
    ("q\U0001f600:*:g", "c", "a", "c"),
]


@pytest.mark.parametrize(("key", "expected"), HASH_VECTORS)
def test_fnv1a32_vectors(ring: ModuleType, key: str, expected: int) -> None:
    assert ring.fnv1a32(key) == expected


@pytest.mark.parametrize(
    "key",
    [
        "\ud800",  # lone high surrogate (2-byte kind)
        "\udc00x",  # lone low surrogate
        "\ud83d\ude00",  # a surrogate pair spelled out: same units as U+1F600
        "a\udfff\U0010ffff",  # lone surrogate beside an astral char (4-byte kind)
        "\x00\xff\u0100\uffff",
    ],
)
def test_fnv1a32_units_match_utf16(ring: ModuleType, key: str) -> None:
    data = key.encode("utf-16-le", "surrogatepass")
    h = 2166136261
    for i in range(0, len(data), 2):
        h = ((h ^ (data[i] | data[i + 1] << 8)) * 16777619) & 0xFFFFFFFF
    assert ring.fnv1a32(key) == h


def test_surrogate_pair_spelled_out_hashes_like_astral(ring: ModuleType) -> None:
    assert ring.fnv1a32("\ud83d\ude00") == ring.fnv1a32("\U0001f600") == 3409036472


@pytest.mark.parametrize(("key", "healthy", "no_c", "no_a"), RING_VECTORS)
def test_ring_vectors(ring: ModuleType, key: str, healthy: str, no_c: str, no_a: str) -> None:
    r = ring.HashRing(URLS, 128)
    assert r.lookup(key) == NAMES[healthy]
    r.rebuild([True, True, False])
    assert r.lookup(key) == NAMES[no_c]
    r.rebuild([False, True, True])
    assert r.lookup(key) == NAMES[no_a]
    r.rebuild([True, True, True])
    assert r.lookup(key) == NAMES[healthy]


def test_ring_default_vnodes_and_attributes(ring: ModuleType) -> None:
    r = ring.HashRing(URLS)
    assert r.urls == tuple(URLS)
    assert r.vnodes == 128
    assert r.lookup("orders:*:workers") == NAMES["c"]


def test_ring_empty_and_no_candidates(ring: ModuleType) -> None:
    assert ring.HashRing([], 128).lookup("k") == -1
    assert ring.HashRing(URLS, 0).lookup("k") == -1
    r = ring.HashRing(URLS, 4)
    r.rebuild([False, False, False])
    assert r.lookup("k") == -1
    r.rebuild([0, 1, 0])  # any truthy flag
    assert r.lookup("k") == 1


def test_ring_wraps_to_first_node(ring: ModuleType) -> None:
    r = ring.HashRing(URLS, 128)
    nodes = sorted(
        (ring.fnv1a32(f"{u}#vnode{i}"), p) for p, u in enumerate(URLS) for i in range(128)
    )
    # A key whose hash is above every node lands on the lowest node.
    top = nodes[-1][0]
    key = next(k for k in (f"k{i}" for i in range(100000)) if ring.fnv1a32(k) > top)
    assert r.lookup(key) == nodes[0][1]


def test_ring_ties_keep_insertion_order(ring: ModuleType) -> None:
    # The same URL twice gives identical node hashes: ties resolve to the first position.
    r = ring.HashRing(["http://a:6632", "http://a:6632"], 8)
    for key in ("x", "y", "z", "orders:*:workers"):
        assert r.lookup(key) == 0
    r.rebuild([False, True])
    assert r.lookup("x") == 1


# --- compiled == pure ---------------------------------------------------------------------

keys = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
url_lists = st.lists(
    st.text(st.characters(min_codepoint=32, max_codepoint=0x10FFFF), min_size=1, max_size=20),
    min_size=1,
    max_size=6,
)


@pytest.mark.compiled
@settings(max_examples=500, deadline=None)
@given(key=keys)
def test_fnv1a32_compiled_equals_pure(key: str) -> None:
    assert load("ring", "compiled").fnv1a32(key) == load("ring", "pure").fnv1a32(key)


@pytest.mark.compiled
@settings(max_examples=150, deadline=None)
@given(
    urls=url_lists,
    vnodes=st.integers(min_value=0, max_value=40),
    masks=st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=1, max_size=4),
    lookups=st.lists(keys, min_size=1, max_size=20),
)
def test_ring_compiled_equals_pure(
    urls: List[str], vnodes: int, masks: List[List[bool]], lookups: List[str]
) -> None:
    c = load("ring", "compiled").HashRing(urls, vnodes)
    p = load("ring", "pure").HashRing(urls, vnodes)
    for key in lookups:
        assert c.lookup(key) == p.lookup(key)
    for mask in masks:
        c.rebuild(mask[: len(urls)])
        p.rebuild(mask[: len(urls)])
        for key in lookups:
            assert c.lookup(key) == p.lookup(key)
