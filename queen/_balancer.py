"""Client-side load balancing across broker URLs (client contract §5.3-§5.4).

Strategies: ``affinity`` (consistent hashing of a routing key on the FNV-1a ring),
``round-robin`` and ``session`` (sticky key → URL map). Health is tracked per URL; an
unhealthy URL becomes a candidate again ``health_retry_after_millis`` after its last failure.
The ring is rebuilt only when the candidate set changes, never per request.
"""

from __future__ import annotations

import random
import string
import time
from typing import Callable, Dict, List, Optional, Sequence

from ._speedups import HashRing

__all__ = ["STRATEGIES", "LoadBalancer"]

STRATEGIES = ("affinity", "round-robin", "session")
_B36 = string.digits + string.ascii_lowercase


class _Health:
    __slots__ = ("failures", "healthy", "last_failure")

    def __init__(self) -> None:
        self.healthy = True
        self.failures = 0
        self.last_failure: Optional[float] = None


class LoadBalancer:
    """Picks the URL for each request.

    Args:
        urls: normalised server URLs (no trailing ``/``), in configured order.
        strategy: one of :data:`STRATEGIES`.
        affinity_hash_ring: virtual nodes per URL.
        health_retry_after_millis: how long an unhealthy URL waits before it is a candidate.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        urls: Sequence[str],
        strategy: str = "affinity",
        affinity_hash_ring: int = 128,
        health_retry_after_millis: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown load_balancing_strategy {strategy!r}; use one of {', '.join(STRATEGIES)}"
            )
        self.urls: List[str] = list(urls)
        self.strategy = strategy
        self._retry_after = health_retry_after_millis / 1000.0
        self._clock = clock
        self._health: Dict[str, _Health] = {url: _Health() for url in self.urls}
        self._current_index = 0
        self._sessions: Dict[str, str] = {}
        suffix = "".join(random.choice(_B36) for _ in range(9))
        self.session_id = f"session_{int(time.time() * 1000)}_{suffix}"
        self._ring = HashRing(self.urls, affinity_hash_ring) if strategy == "affinity" else None
        self._ring_mask: List[bool] = [True] * len(self.urls)
        self._all_healthy = True

    # -- health -------------------------------------------------------------------------

    def mark_healthy(self, url: str) -> None:
        record = self._health.get(url)
        if record is not None and not record.healthy:
            record.healthy = True
            record.failures = 0
            record.last_failure = None
            self._all_healthy = all(h.healthy for h in self._health.values())

    def mark_unhealthy(self, url: str) -> None:
        record = self._health.get(url)
        if record is not None:
            record.healthy = False
            record.failures += 1
            record.last_failure = self._clock()
            self._all_healthy = False

    def health(self) -> Dict[str, Dict[str, object]]:
        """A snapshot of every URL's health record."""
        return {
            url: {"healthy": h.healthy, "failures": h.failures, "last_failure": h.last_failure}
            for url, h in self._health.items()
        }

    def get_all_urls(self) -> List[str]:
        return list(self.urls)

    def _candidate_mask(self) -> List[bool]:
        if self._all_healthy:
            return self._ring_mask if all(self._ring_mask) else [True] * len(self.urls)
        now = self._clock()
        return [
            h.healthy or h.last_failure is None or now - h.last_failure >= self._retry_after
            for h in (self._health[url] for url in self.urls)
        ]

    # -- selection ----------------------------------------------------------------------

    def get_next_url(self, key: Optional[str] = None) -> str:
        """The URL for a request routed by ``key`` (the session id when None)."""
        if key is None:
            key = self.session_id
        mask = self._candidate_mask()
        if not any(mask):
            return self.urls[self._current_index % len(self.urls)]
        if self.strategy == "affinity" and key:
            assert self._ring is not None
            if mask != self._ring_mask:
                self._ring.rebuild(mask)
                self._ring_mask = mask
            return self.urls[self._ring.lookup(key)]
        candidates = [url for url, ok in zip(self.urls, mask) if ok]
        if self.strategy == "session" and key:
            mapped = self._sessions.get(key)
            if mapped is not None and mapped in candidates:
                return mapped
            url = candidates[self._current_index % len(candidates)]
            self._current_index = (self._current_index + 1) % len(candidates)
            self._sessions[key] = url
            return url
        url = candidates[self._current_index % len(candidates)]
        self._current_index = (self._current_index + 1) % len(candidates)
        return url
