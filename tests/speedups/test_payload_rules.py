"""Payload rules of both codec twins: no NUL character, no NaN/Infinity (queen/_payload.py).

The broker parks a push holding ``\\u0000`` in its disk buffer forever (PostgreSQL's jsonb
cannot store it) and orjson would write NaN as ``null``: both raise QueenPayloadError naming
the item and the value's path, on the one-dump path of ``items()`` and item by item alike.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from types import ModuleType
from typing import Any, List, Optional

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queen._errors import QueenPayloadError
from queen._speedups import load

NUL = "\x00"


def _raises(codec: ModuleType, items: List[Any]) -> QueenPayloadError:
    encoder = codec.PushEncoder("q", "p")
    with pytest.raises(QueenPayloadError) as info:
        encoder.items(items)
    return info.value


@pytest.mark.parametrize(
    ("payload", "path", "text"),
    [
        ("a\x00b", "$", "the string at $ contains a NUL character"),
        ({"a": {"b": ["ok", "x\x00"]}}, "$.a.b[1]", "the string at $.a.b[1] contains a NUL"),
        ({"k\x00": 1}, "$", "the key 'k\\x00' at $ contains a NUL character"),
        ({"odd key": {"n": "\x00"}}, '$["odd key"].n', "contains a NUL"),
        ({1: "\x00"}, "$[1]", "the string at $[1]"),
        ("\\" + NUL, "$", "contains a NUL"),  # an escaped backslash, then a real NUL
        (float("nan"), "$", "NaN at $ cannot be sent: JSON has no NaN or Infinity"),
        ({"t": [1.5, math.inf]}, "$.t[1]", "Infinity at $.t[1] cannot be sent"),
        ({"t": (None, -math.inf)}, "$.t[1]", "-Infinity at $.t[1] cannot be sent"),
        ({math.nan: 1}, "$", "the key NaN at $ cannot be sent"),
        ({"first": float("nan"), "second": "\x00"}, "$.first", "NaN at $.first"),
        ({"big": 2**70, "s": "\x00"}, "$.s", "the string at $.s"),  # the stdlib fallback
        (orjson.Fragment(b'"\\u0000"'), "$", "the payload contains a NUL character"),
    ],
)
def test_faulty_payload_names_item_and_path(
    codec: ModuleType, payload: Any, path: str, text: str
) -> None:
    items = [{"data": {"fine": [None, "null", 1.5]}}, {"data": 2}, {"data": payload}]
    error = _raises(codec, items)
    assert str(error).startswith("push item 2: ")
    assert text in str(error)
    assert (error.index, error.path) == (2, path)
    assert isinstance(error, ValueError)  # what the reference client raised for NaN
    # Alone (the single-item path) and as the first item, the same fault at index 0.
    alone = _raises(codec, [{"data": payload}])
    assert (alone.index, alone.path) == (0, path)


@pytest.mark.parametrize(
    "payload",
    [
        "\\u0000",  # the six characters, not a NUL
        "\\\\u0000",
        {"null": None, "s": "null", "n": [None, None]},
        {"\\u0000": "\\\\\\u0000"},
        [0.0, -0.0, 1e308, 5e-324, -1.5],
        orjson.Fragment(b'"\\\\u0000"'),
    ],
)
def test_lookalikes_pass(codec: ModuleType, payload: Any) -> None:
    encoder = codec.PushEncoder("q", "p")
    items = [{"data": payload, "transactionId": "t"}, {"data": 1, "transactionId": "t"}]
    encoded = encoder.items(items)
    assert orjson.loads(encoded[0])["payload"] == orjson.loads(orjson.dumps(payload))


@dataclasses.dataclass
class Reading:
    name: str
    value: float


class Level(float, enum.Enum):
    BAD = math.inf


def test_dataclass_and_enum_payloads(codec: ModuleType) -> None:
    error = _raises(codec, [{"data": {"r": [Reading("ok", 1.0), Reading("t", math.nan)]}}])
    assert (error.index, error.path) == (0, "$.r[1].value")
    error = _raises(codec, [{"data": 1}, {"data": {"level": Level.BAD}}])
    assert (error.index, error.path) == (1, "$.level")
    error = _raises(codec, [{"data": Reading("a\x00", 1.0)}, {"data": 1}])
    assert (error.index, error.path) == (0, "$.name")


def test_first_faulty_item_wins_and_callbacks_stop_there(codec: ModuleType) -> None:
    seen: List[object] = []
    encoder = codec.PushEncoder("q", "p", seen.append)
    items = [
        {"data": 1, "traceId": "bad-1"},
        {"data": {"x": math.nan}, "traceId": "bad-2"},
        {"data": {"y": "\x00"}},
        {"data": {1, 2}},
    ]
    with pytest.raises(QueenPayloadError) as info:
        encoder.items(items)
    assert info.value.index == 1
    assert seen == ["bad-1"]  # the faulty item's trace id is never looked at


@pytest.mark.parametrize("offset", range(0, 41))
def test_every_offset_is_scanned(codec: ModuleType, offset: int) -> None:
    # The compiled scan looks at 16 (or 8) bytes at a time: a fault must be found wherever it
    # lands, and a lookalike must pass wherever it lands.
    pad = "x" * offset
    for payload, index in (
        ([pad, math.nan], 1),
        ({pad: -math.inf}, None),
        (pad + NUL, None),
        (pad + "\\" * 3 + NUL, None),
    ):
        for items in ([{"data": payload}], [{"data": 1}, {"data": payload}, {"data": 2}]):
            error = _raises(codec, items)
            assert error.index == len(items) // 2
            if index is not None:
                assert error.path == f"$[{index}]"
    encoder = codec.PushEncoder("q", "p")
    for lookalike in (pad + "\\u0000", pad + "\\" * 2 + "u0000" + pad, [pad, None, "null"]):
        encoder.items([{"data": lookalike}])
        encoder.items([{"data": 1}, {"data": lookalike}])


# --- the rule against an independent definition, both twins ---------------------------------


def _reference_fault(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_reference_fault(k) or _reference_fault(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_reference_fault(v) for v in value)
    return False


def _first_fault(payloads: List[Any]) -> Optional[int]:
    return next((i for i, p in enumerate(payloads) if _reference_fault(p)), None)


pieces = st.sampled_from(["\x00", "\\", "u0000", "null", "n", "l", "\\u", "0", "a", "\u00e9", '"'])
texts = st.lists(pieces, max_size=12).map("".join)
floats = st.floats(allow_nan=True, allow_infinity=True)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | floats | texts,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(texts | floats | st.integers(-3, 3), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("impl", ["compiled", "pure"])  # the fixture's values, not per example
@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(values, min_size=1, max_size=8))
def test_rule_matches_an_independent_definition(impl: str, payloads: List[Any]) -> None:
    expected = _first_fault(payloads)
    encoder = load("codec", impl).PushEncoder("q", "p")
    items = [{"data": p} for p in payloads]
    if expected is None:
        encoder.items(items)
        return
    with pytest.raises(QueenPayloadError) as info:
        encoder.items(items)
    assert info.value.index == expected


@pytest.mark.compiled
@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(values, min_size=1, max_size=8))
def test_payload_errors_compiled_equals_pure(payloads: List[Any]) -> None:
    outcomes = []
    for impl in ("compiled", "pure"):
        encoder = load("codec", impl).PushEncoder("q", "p")
        try:
            encoder.items([{"data": p, "transactionId": "t"} for p in payloads])
            outcomes.append(None)
        except QueenPayloadError as exc:
            outcomes.append((str(exc), exc.index, exc.path))
    assert outcomes[0] == outcomes[1]
