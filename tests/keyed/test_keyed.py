"""Keyed partitioning: the documented rule, its known vectors, and keyed pushes end to end."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queen import Queen, QueenValidationError
from queen._keyed import key_partition, lane_names


def murmur3_x86_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit written from the published algorithm: an independent check
    of the mmh3 package the client uses."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    rounded = len(data) - len(data) % 4
    for (k,) in struct.iter_unpack("<I", data[:rounded]):
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[rounded:]
    k = 0
    for i, byte in enumerate(tail):
        k |= byte << (8 * i)
    if tail:
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


# Published MurmurHash3_x86_32 vectors (seed 0): they pin the reference implementation above.
@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", 0), (b"a", 0x3C2569B2), (b"hello", 0x248BFA47), (b"\x00\x00\x00\x00", 0x2362F9DE)],
)
def test_reference_implementation_matches_published_vectors(data: bytes, expected: int) -> None:
    assert murmur3_x86_32(data) == expected


# The rule's own vectors, as a port to another language would check them.
@pytest.mark.parametrize(
    ("key", "n", "partition"),
    [
        ("", 16, "key-0"),
        ("a", 16, "key-2"),  # 1009084850 % 16
        ("hello", 7, "key-6"),  # 613153351 % 7
        ("user-42", 16, "key-0"),  # 3111312080 % 16
        ("user-42", 1000, "key-80"),
        ("héllo", 10, "key-6"),  # UTF-8 bytes, unsigned hash 3164577896
        ("日本", 3, "key-2"),  # 3302619458 % 3
        ("order:1001", 1, "key-0"),
    ],
)
def test_known_vectors(key: str, n: int, partition: str) -> None:
    assert key_partition(key, n) == partition
    assert partition == f"key-{murmur3_x86_32(key.encode('utf-8')) % n}"


@given(st.text(max_size=40), st.integers(min_value=1, max_value=5000))
def test_rule_matches_the_reference_implementation(key: str, n: int) -> None:
    assert key_partition(key, n) == f"key-{murmur3_x86_32(key.encode('utf-8')) % n}"
    assert key_partition(key, n) in lane_names(n)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "4", True, None, 65537])
def test_keyed_rejects_bad_partition_counts(bad: object) -> None:
    queen = Queen("http://127.0.0.1:1", handle_signals=False)
    with pytest.raises(QueenValidationError):
        queen.queue("q").keyed(bad)  # type: ignore[arg-type]
    with pytest.raises(QueenValidationError):
        queen.transaction().queue("q").keyed(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("item", [{"data": 1}, {"key": None, "data": 1}, {"key": 7, "data": 1}])
def test_a_keyed_push_needs_a_string_key_in_every_item(item: dict) -> None:
    queen = Queen("http://127.0.0.1:1", handle_signals=False)
    with pytest.raises(QueenValidationError, match="'key'"):
        queen.queue("q").keyed(4).push([{"key": "ok", "data": 0}, item])
    with pytest.raises(QueenValidationError, match="'key'"):
        queen.transaction().queue("q").keyed(4).push([item])


def test_key_and_explicit_partition_is_an_error() -> None:
    queen = Queen("http://127.0.0.1:1", handle_signals=False)
    with pytest.raises(QueenValidationError, match="partition"):
        queen.queue("q").partition("p").keyed(4).push([{"key": "k", "data": 1}])
    with pytest.raises(QueenValidationError, match="partition"):
        queen.queue("q").keyed(4).partition("Default").push([{"key": "k", "data": 1}])
    with pytest.raises(QueenValidationError, match="partition"):
        queen.transaction().queue("q").partition("p").keyed(4).push([{"key": "k", "data": 1}])


def test_without_keyed_a_key_field_is_plain_data() -> None:
    """Drop-in behaviour: an item's "key" means nothing unless keyed() is set."""
    queen = Queen("http://127.0.0.1:1", handle_signals=False)
    builder = queen.queue("q").push([{"key": "k", "value": 1}])
    assert builder.items()[0]["payload"] == {"key": "k", "value": 1}
    assert builder.items()[0]["partition"] == "Default"


KEYS = [f"user-{i}" for i in range(40)]


async def _drain(queen: Queen, name: str) -> list:
    out: list = []
    while True:
        batch = await queen.queue(name).batch(100).wait(False).pop()
        if not batch:
            return out
        out.extend(batch)
        await queen.ack(batch)


async def test_keyed_push_lands_each_key_in_its_partition(any_broker) -> None:
    name = any_broker.name("keyed")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).create()
        items = [{"key": k, "data": {"key": k, "seq": s}} for s in range(2) for k in KEYS]
        builder = queen.queue(name).keyed(8).push(items)
        assert builder.partitions == [key_partition(k, 8) for k in KEYS] * 2
        result = await builder
        assert [e["status"] for e in result] == ["queued"] * len(items)

        messages = await _drain(queen, name)
        assert len(messages) == len(items)
        for m in messages:
            assert m["partition"] == key_partition(m["data"]["key"], 8)
        assert {m["partition"] for m in messages} <= set(lane_names(8))
        # Per key, the order of pushes is kept.
        for key in KEYS:
            assert [m["data"]["seq"] for m in messages if m["data"]["key"] == key] == [0, 1]


async def test_buffered_keyed_push_fills_one_buffer_per_partition(any_broker) -> None:
    name = any_broker.name("keyedbuf")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).create()
        qb = queen.queue(name).keyed(4).buffer({"message_count": 1000, "time_millis": 60000})
        answer = await qb.push([{"key": k, "data": {"key": k}} for k in KEYS])
        assert answer == {"buffered": True, "count": len(KEYS)}
        stats = queen.get_buffer_stats()
        lanes = {key_partition(k, 4) for k in KEYS}
        assert stats["activeBuffers"] == len(lanes)
        assert stats["totalBufferedMessages"] == len(KEYS)
        await qb.flush_buffer()
        assert queen.get_buffer_stats()["totalBufferedMessages"] == 0
        messages = await _drain(queen, name)
        assert sorted(m["data"]["key"] for m in messages) == sorted(KEYS)
        assert all(m["partition"] == key_partition(m["data"]["key"], 4) for m in messages)


async def test_transactional_keyed_push(any_broker) -> None:
    name = any_broker.name("keyedtx")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).create()
        await (
            queen.transaction()
            .queue(name).keyed(16).push([{"key": k, "data": {"key": k}} for k in KEYS[:10]])
            .commit()
        )
        messages = await _drain(queen, name)
        assert sorted(m["data"]["key"] for m in messages) == sorted(KEYS[:10])
        assert all(m["partition"] == key_partition(m["data"]["key"], 16) for m in messages)
