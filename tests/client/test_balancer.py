"""Load balancer: FNV-1a (D1), the affinity ring, round-robin, session (D16), health (§5.3-§5.6)."""

from __future__ import annotations

from typing import List, Optional

import pytest

from queen._balancer import LoadBalancer
from queen._speedups import fnv1a32

HASH_VECTORS = [
    ("", 2166136261),
    ("a", 3826002220),
    ("x", 4245442695),
    ("orders:Default:__QUEUE_MODE__", 104353408),
    ("orders:*:__QUEUE_MODE__", 4149210757),
    ("orders:*:workers", 3024228545),
    ("ns:*:__QUEUE_MODE__", 936384623),
    ("http://localhost:6632#vnode0", 1020800782),
    ("é", 1812687940),
    ("日本", 1610399396),
    ("😀", 3409036472),
    ("q😀:*:g", 3960646362),
]

URLS = ["http://a:6632", "http://b:6632", "http://c:6632"]

# key -> (all healthy, c unhealthy, a unhealthy)
RING_VECTORS = [
    ("orders:Default:__QUEUE_MODE__", "a", "a", "c"),
    ("orders:*:__QUEUE_MODE__", "c", "a", "c"),
    ("orders:*:workers", "c", "b", "c"),
    ("ns:*:__QUEUE_MODE__", "c", "b", "c"),
    ("x", "c", "a", "c"),
    ("😀", "b", "b", "b"),
    ("q😀:*:g", "c", "a", "c"),
]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lb(strategy: str = "affinity", clock: Optional[FakeClock] = None, urls: List[str] = URLS,
        retry_ms: int = 5000) -> LoadBalancer:
    return LoadBalancer(urls, strategy, 128, retry_ms, clock=clock or FakeClock())


def _name(url: str) -> str:
    return url[len("http://")]


@pytest.mark.parametrize(("key", "expected"), HASH_VECTORS)
def test_fnv1a_vectors(key: str, expected: int) -> None:
    assert fnv1a32(key) == expected


@pytest.mark.parametrize(("key", "healthy", "c_down", "a_down"), RING_VECTORS)
def test_ring_vectors(key: str, healthy: str, c_down: str, a_down: str) -> None:
    lb = _lb()
    assert _name(lb.get_next_url(key)) == healthy
    lb.mark_unhealthy("http://c:6632")
    assert _name(lb.get_next_url(key)) == c_down
    lb.mark_healthy("http://c:6632")
    assert _name(lb.get_next_url(key)) == healthy
    lb.mark_unhealthy("http://a:6632")
    assert _name(lb.get_next_url(key)) == a_down


def test_affinity_is_stable_and_session_keyed_without_a_key() -> None:
    lb = _lb()
    first = lb.get_next_url()
    assert all(lb.get_next_url() == first for _ in range(20))
    assert lb.get_next_url(lb.session_id) == first
    assert lb.session_id.startswith("session_")
    assert _lb().session_id != lb.session_id


def test_affinity_with_an_empty_key_falls_back_to_round_robin() -> None:
    lb = _lb()
    assert [lb.get_next_url("") for _ in range(4)] == [*URLS, URLS[0]]


def test_round_robin_over_candidates() -> None:
    clock = FakeClock()
    lb = _lb("round-robin", clock)
    assert [lb.get_next_url("k") for _ in range(4)] == [*URLS, URLS[0]]
    lb.mark_unhealthy(URLS[1])
    picks = [lb.get_next_url() for _ in range(4)]
    assert URLS[1] not in picks
    assert set(picks) == {URLS[0], URLS[2]}


def test_unhealthy_url_becomes_a_candidate_after_retry_window() -> None:
    clock = FakeClock()
    lb = _lb("round-robin", clock, retry_ms=5000)
    lb.mark_unhealthy(URLS[0])
    assert URLS[0] not in {lb.get_next_url() for _ in range(6)}
    clock.now += 4.999
    assert URLS[0] not in {lb.get_next_url() for _ in range(6)}
    clock.now += 0.002
    assert URLS[0] in {lb.get_next_url() for _ in range(6)}


def test_retry_eligible_url_is_back_on_the_affinity_ring() -> None:
    clock = FakeClock()
    lb = _lb("affinity", clock)
    lb.mark_unhealthy("http://a:6632")
    assert _name(lb.get_next_url("orders:Default:__QUEUE_MODE__")) == "c"
    clock.now += 5.0
    assert _name(lb.get_next_url("orders:Default:__QUEUE_MODE__")) == "a"


def test_no_candidates_returns_current_index_without_advancing() -> None:
    lb = _lb("round-robin")
    assert lb.get_next_url() == URLS[0]  # index now 1
    for url in URLS:
        lb.mark_unhealthy(url)
    assert [lb.get_next_url() for _ in range(3)] == [URLS[1]] * 3


def test_health_records() -> None:
    clock = FakeClock()
    lb = _lb(clock=clock)
    lb.mark_unhealthy(URLS[0])
    lb.mark_unhealthy(URLS[0])
    record = lb.health()[URLS[0]]
    assert record == {"healthy": False, "failures": 2, "last_failure": clock.now}
    lb.mark_healthy(URLS[0])
    assert lb.health()[URLS[0]] == {"healthy": True, "failures": 0, "last_failure": None}


def test_session_strategy_is_sticky_per_key() -> None:
    lb = _lb("session")
    a = lb.get_next_url("k1")
    b = lb.get_next_url("k2")
    c = lb.get_next_url("k3")
    assert [a, b, c] == URLS
    assert lb.get_next_url("k1") == a
    assert lb.get_next_url("k2") == b


def test_session_strategy_indexes_into_candidates_d16() -> None:
    clock = FakeClock()
    lb = _lb("session", clock)
    lb.mark_unhealthy(URLS[0])
    # Candidates are [b, c]; the index runs over that list, not the full one.
    assert lb.get_next_url("k1") == URLS[1]
    assert lb.get_next_url("k2") == URLS[2]
    assert lb.get_next_url("k3") == URLS[1]
    # A key mapped to a URL that stops being a candidate is re-assigned.
    lb.mark_unhealthy(URLS[1])
    assert lb.get_next_url("k1") == URLS[2]
    assert lb.get_next_url("k1") == URLS[2]


def test_vnode_count_changes_the_ring() -> None:
    small = LoadBalancer(URLS, "affinity", 1, 5000)
    keys = [f"k{i}" for i in range(200)]
    assert [small.get_next_url(k) for k in keys] != [_lb().get_next_url(k) for k in keys]
