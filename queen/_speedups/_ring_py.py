"""Affinity hash ring: 32-bit FNV-1a over UTF-16 code units and the virtual-node ring.

This is the documented twin of ``_ring_c.pyx``; both return identical results (client
contract §5.4-§5.5, decision D1: the JS reference hashes UTF-16 code units, so astral
characters contribute their two surrogates and lone surrogates are hashed as they are).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import List, Sequence, Tuple

__all__ = ["HashRing", "fnv1a32"]

_OFFSET_BASIS = 2166136261
_PRIME = 16777619


def fnv1a32(key: str) -> int:
    """32-bit FNV-1a of ``key`` over its UTF-16 code units, as an unsigned int."""
    data = key.encode("utf-16-le", "surrogatepass")
    h = _OFFSET_BASIS
    for i in range(0, len(data), 2):
        h ^= data[i] | (data[i + 1] << 8)
        h = (h * _PRIME) & 0xFFFFFFFF
    return h


class HashRing:
    """Virtual-node ring over a fixed URL list.

    Each URL ``u`` gets ``vnodes`` nodes keyed ``"<u>#vnode<i>"``; nodes are sorted by hash,
    ties keeping insertion order (URL order, then ``i``). :meth:`rebuild` restricts the ring to
    the candidate URLs; it is called when health changes, never per lookup.

    Args:
        urls: the server URLs, already normalised (no trailing ``/``).
        vnodes: virtual nodes per URL (the client's ``affinity_hash_ring``).
    """

    __slots__ = ("_all", "_hashes", "_owners", "urls", "vnodes")

    def __init__(self, urls: Sequence[str], vnodes: int = 128) -> None:
        self.urls: Tuple[str, ...] = tuple(urls)
        self.vnodes = vnodes
        nodes = [
            (fnv1a32(f"{url}#vnode{i}"), position)
            for position, url in enumerate(self.urls)
            for i in range(vnodes)
        ]
        # sort() is stable, so equal hashes keep (URL order, i) as required.
        nodes.sort(key=lambda node: node[0])
        self._all: List[Tuple[int, int]] = nodes
        self._hashes: List[int] = []
        self._owners: List[int] = []
        self.rebuild([True] * len(self.urls))

    def rebuild(self, candidates: Sequence[bool]) -> None:
        """Keep only the nodes of URLs whose flag in ``candidates`` is true."""
        kept = [node for node in self._all if candidates[node[1]]]
        self._hashes = [node[0] for node in kept]
        self._owners = [node[1] for node in kept]

    def lookup(self, key: str) -> int:
        """Index in :attr:`urls` of the first candidate node at or after ``fnv1a32(key)``.

        Wraps to the first node; returns -1 when no URL is a candidate.
        """
        if not self._owners:
            return -1
        i = bisect_left(self._hashes, fnv1a32(key))
        return self._owners[i if i < len(self._owners) else 0]
