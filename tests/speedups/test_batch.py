"""ItemQueue and Chunk: behaviour pinned on both twins, and a model-based comparison."""

from __future__ import annotations

from types import ModuleType
from typing import Any, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queen._speedups import load


def test_empty_queue(batch: ModuleType) -> None:
    q = batch.ItemQueue()
    assert len(q) == 0
    assert q.nbytes == 0
    assert q.oldest_arrival() is None
    chunk = q.take(10)
    assert (chunk.items, chunk.arrivals, chunk.nbytes, chunk.count) == ([], [], 0, 0)
    assert chunk.body == b'{"items":[]}'
    assert q.snapshot() == ([], [])


def test_fifo_take_and_accounting(batch: ModuleType) -> None:
    q = batch.ItemQueue()
    q.append(b"a", 1.0)
    q.extend([b"bb", b"ccc"], 2.0)
    q.append(b"dddd", 3)
    assert len(q) == 4
    assert q.nbytes == 10
    assert q.oldest_arrival() == 1.0
    chunk = q.take(3)
    assert chunk.items == [b"a", b"bb", b"ccc"]
    assert chunk.arrivals == [1.0, 2.0, 2.0]
    assert chunk.nbytes == 6
    assert chunk.count == 3
    assert chunk.body == b'{"items":[a,bb,ccc]}'
    assert len(q) == 1
    assert q.nbytes == 4
    arrival = q.oldest_arrival()
    assert arrival == 3 and type(arrival) is int  # kept as given
    assert q.take(0).items == []
    assert q.take(-1).items == []
    assert q.take(5).items == [b"dddd"]
    assert len(q) == 0
    assert q.nbytes == 0


def test_take_up_to_a_byte_limit(batch: ModuleType) -> None:
    q = batch.ItemQueue()
    q.extend([b"aaaa", b"bb", b"cccccc", b"d"], 1.0)
    chunk = q.take(10, 6)
    assert (chunk.items, chunk.nbytes) == ([b"aaaa", b"bb"], 6)  # "cccccc" would pass 6
    assert q.nbytes == 7 and q.oldest_arrival() == 1.0
    assert q.take(10, 3).items == [b"cccccc"]  # the first item goes, however large
    assert q.take(10, None).items == [b"d"]  # None: no byte limit
    q.extend([b"11", b"22", b"33", b"44"], 2.0)
    assert q.take(10, 3, 3).items == [b"11", b"22", b"33"]  # min_count goes regardless
    assert q.take(10, 0, 0).items == [b"44"]  # at least one item
    q.extend([b"55", b"66", b"77"], 3.0)
    assert q.take(2, 100, 5).items == [b"55", b"66"]  # n still caps
    assert q.take(0, 100).items == [] and q.take(-1, 100, 3).items == []
    assert q.take(5, 2).items == [b"77"]
    assert len(q) == 0 and q.nbytes == 0
    assert q.take(5, 10).items == []


def test_requeue_puts_chunk_back_in_front(batch: ModuleType) -> None:
    q = batch.ItemQueue()
    q.extend([b"1", b"22", b"333"], 1.0)
    first = q.take(2)
    q.append(b"4444", 2.0)
    q.requeue(first)
    assert q.snapshot() == ([b"1", b"22", b"333", b"4444"], [1.0, 1.0, 1.0, 2.0])
    assert q.nbytes == 10
    assert q.oldest_arrival() == 1.0
    # A requeued chunk into an empty queue, and one bigger than the queue's free room.
    q2 = batch.ItemQueue()
    q2.requeue(batch.Chunk([b"x"] * 100, [0.5] * 100, 100))
    assert len(q2) == 100
    assert q2.nbytes == 100


def test_snapshot_is_a_copy(batch: ModuleType) -> None:
    q = batch.ItemQueue()
    q.append(b"a", 1.0)
    items, arrivals = q.snapshot()
    items.append(b"zzz")
    arrivals.clear()
    assert q.snapshot() == ([b"a"], [1.0])


def test_growth_and_wraparound(batch: ModuleType) -> None:
    q = batch.ItemQueue()
    expected: List[bytes] = []
    for round_ in range(50):
        new = [str(round_ * 1000 + i).encode() for i in range(37)]
        q.extend(new, float(round_))
        expected.extend(new)
        taken = q.take(29)
        assert taken.items == expected[:29]
        del expected[:29]
        if round_ % 3 == 0:
            q.requeue(taken)
            expected[:0] = taken.items
    assert q.snapshot()[0] == expected
    assert q.nbytes == sum(map(len, expected))


def test_chunk_is_plain_data(batch: ModuleType) -> None:
    chunk = batch.Chunk([b'{"a":1}', b"2"], [1.0, 2.0], 8)
    assert chunk.count == 2
    assert chunk.body == b'{"items":[{"a":1},2]}'
    chunk.items = [b"3"]
    assert chunk.body == b'{"items":[3]}'
    assert batch.Chunk((b"1", bytearray(b"2")), [0, 0], 2).body == b'{"items":[1,2]}'


def test_nbytes_is_writable(batch: ModuleType) -> None:
    q = batch.ItemQueue()
    q.append(b"abc", 0.0)
    q.nbytes = 0
    assert q.nbytes == 0


def test_queue_releases_its_items(batch: ModuleType) -> None:
    import gc
    import sys

    item = b"x" * 1000
    before = sys.getrefcount(item)
    q = batch.ItemQueue()
    q.extend([item] * 10, 0.0)
    chunk = q.take(4)
    q.requeue(chunk)
    del chunk
    q.snapshot()
    del q
    gc.collect()
    assert sys.getrefcount(item) == before


# --- model-based: compiled == pure == a list -----------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.binary(max_size=6), st.floats(0, 100)),
        st.tuples(
            st.just("extend"), st.lists(st.binary(max_size=6), max_size=40), st.floats(0, 100)
        ),
        st.tuples(st.just("take"), st.integers(-2, 60), st.none()),
        st.tuples(
            st.just("take"),
            st.integers(-2, 60),
            st.tuples(st.integers(0, 40), st.integers(-1, 8)),
        ),
        st.tuples(st.just("requeue"), st.none(), st.none()),
    ),
    max_size=60,
)


@pytest.mark.compiled
@settings(max_examples=300, deadline=None)
@given(ops=operations)
def test_item_queue_against_model(ops: List[Tuple[str, Any, Any]]) -> None:
    queues = [load("batch", "compiled").ItemQueue(), load("batch", "pure").ItemQueue()]
    model: List[Tuple[bytes, float]] = []
    taken: List[List[Any]] = [[], []]
    taken_model: List[List[Tuple[bytes, float]]] = []
    for op, arg, arrived in ops:
        if op == "append":
            for q in queues:
                q.append(arg, arrived)
            model.append((arg, arrived))
        elif op == "extend":
            for q in queues:
                q.extend(arg, arrived)
            model.extend((a, arrived) for a in arg)
        elif op == "take":
            count = max(0, min(arg, len(model)))
            if arrived is not None:  # (max_bytes, min_count)
                max_bytes, min_count = arrived
                total = 0
                for k in range(count):
                    if k >= max(min_count, 1) and total + len(model[k][0]) > max_bytes:
                        count = k
                        break
                    total += len(model[k][0])
            want, model[:count] = model[:count], []
            for i, q in enumerate(queues):
                chunk = q.take(arg) if arrived is None else q.take(arg, *arrived)
                assert chunk.items == [w[0] for w in want]
                assert chunk.arrivals == [w[1] for w in want]
                assert chunk.nbytes == sum(len(w[0]) for w in want)
                assert chunk.body == b'{"items":[' + b",".join(chunk.items) + b"]}"
                taken[i].append(chunk)
            taken_model.append(want)
        elif taken_model:
            want = taken_model.pop()
            model[:0] = want
            for i, q in enumerate(queues):
                q.requeue(taken[i].pop())
        for q in queues:
            assert len(q) == len(model)
            assert q.nbytes == sum(len(m[0]) for m in model)
            assert q.oldest_arrival() == (model[0][1] if model else None)
            assert q.snapshot() == ([m[0] for m in model], [m[1] for m in model])
