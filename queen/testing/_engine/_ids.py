"""Identifier generation and validation.

Message ids and lease tokens are UUIDv7 (spec §2.1, §2.2: "lease tokens are UUIDv7"), laid out
like the server's: 48-bit millisecond time, then a 12-bit counter that restarts at 0 every
millisecond (the observed ``...-7000-``, ``...-7001-`` ids of one request), then random bits,
so ids of one broker are strictly increasing. Partition, queue, trace and transaction ids are
random version-4 UUIDs, as PostgreSQL's ``gen_random_uuid()`` makes them.
"""

from __future__ import annotations

import os
import random
import re

__all__ = ["UuidV7", "is_uuid", "uuid4"]

_UUID_RE = re.compile(
    r"^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$"
)


def is_uuid(value: str) -> bool:
    """Whether PostgreSQL's ``uuid`` input function accepts ``value`` (hyphens optional)."""
    if len(value) > 38 or not _UUID_RE.match(value):
        return False
    # PostgreSQL wants either both braces or none.
    return value.startswith("{") == value.endswith("}")


_rng = random.Random(int.from_bytes(os.urandom(16), "big"))
_V4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_V4_SET = (4 << 76) | (0x2 << 62)


def _fmt(x: int) -> str:
    h = f"{x:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid4() -> str:
    """A random version-4 UUID string (ids, not secrets: a seeded PRNG is enough here)."""
    return _fmt((_rng.getrandbits(128) & _V4_CLEAR) | _V4_SET)


class UuidV7:
    """Monotonic UUIDv7 generator driven by the broker's clock."""

    __slots__ = ("_counter", "_ms", "_rand")

    def __init__(self) -> None:
        self._ms = 0
        self._counter = 0
        self._rand = random.Random(int.from_bytes(os.urandom(16), "big"))

    def next(self, now: float) -> str:
        """The next id for ``now`` (epoch seconds); always greater than the previous one."""
        ms = int(now * 1000)
        if ms > self._ms:
            self._ms = ms
            self._counter = 0
        else:
            self._counter += 1
            if self._counter > 0xFFF:
                self._ms += 1
                self._counter = 0
        tail = self._rand.getrandbits(62) | (1 << 63)
        return _fmt((self._ms << 80) | (0x7000 | self._counter) << 64 | tail)
