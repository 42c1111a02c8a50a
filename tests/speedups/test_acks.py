"""ack_outcomes(): the four values a consumer reads from each entry of an ack answer."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any, List, Tuple

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queen._speedups import load

TX = "01a24a7b-ddd8-7193-ab68-b7c0b7e55dd3"


def _entry(i: int, **over: Any) -> dict:
    entry = {"dlq": False, "error": None, "index": i, "leaseReleased": i == 0,
             "partitionName": "Default", "queueName": "q", "success": True,
             "transactionId": TX}
    entry.update(over)
    return entry


# What the broker answers (API §2.3, §2.4), byte for byte in its key order.
BATCH = orjson.dumps([_entry(0), _entry(1), _entry(2, success=False,
                                                   error="Invalid or expired lease")])


def test_a_broker_answer(acks: ModuleType) -> None:
    assert acks.ack_outcomes(BATCH) == (None, [
        (True, None, True, False),
        (True, None, False, False),
        (False, "Invalid or expired lease", False, False),
    ])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", (None, None)),
        (b"[]", (None, [])),
        (b" [ ] \n", (None, [])),
        (b'{"success":false,"error":"boom"}', ({"success": False, "error": "boom"}, None)),
        (b"null", (None, None)),
        (b'"x"', ("x", None)),
        # Entries that are not objects have no outcome values.
        (b'[1,null,{"success":true}]',
         (None, [(None,) * 4, (None,) * 4, (True, None, None, None)])),
        # Missing keys are None; a repeated key counts with its last value, as in orjson.
        (b'[{"dlq":true,"dlq":false,"success":"yes"}]', (None, [("yes", None, None, False)])),
        # Escapes, non-ASCII text, numbers and nested values where an outcome belongs.
        (b'[{"error":"a\\"b\\u00e9","success":1,"dlq":[true],"leaseReleased":{"x":1}}]',
         (None, [(1, 'a"b\u00e9', {"x": 1}, [True])])),
        ('[{"error":"\u00e9t\u00e9","queueName":"\u65e5\u672c"}]'.encode(),
         (None, [(None, "\u00e9t\u00e9", None, None)])),
        (b'\t[{ "success" : true , "index" : -0 , "x" : 12.5e3 }\r\n]',
         (None, [(True, None, None, None)])),
    ],
)
def test_known_answers(acks: ModuleType, body: bytes, expected: Any) -> None:
    assert acks.ack_outcomes(body) == expected


@pytest.mark.parametrize(
    "body",
    [b"[", b"[{]", b'[{"success":tru}]', b'[{"success":true,}]', b"[1,]", b'[{"a":01}]',
     b'[{"a":"\x01"}]', b'[{"a":"\xff"}]', b"[] x", b'[{"a":NaN}]', b"{", b"nul"],
)
def test_not_json(acks: ModuleType, body: bytes) -> None:
    with pytest.raises(ValueError):
        acks.ack_outcomes(body)


def test_other_buffers(acks: ModuleType) -> None:
    for body in (BATCH.decode(), bytearray(BATCH), memoryview(BATCH)):
        assert acks.ack_outcomes(body) == acks.ack_outcomes(BATCH)


@pytest.mark.compiled
def test_compiled_reads_broker_answers_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = load("acks", "compiled")

    def refuse(body: Any) -> Any:
        raise AssertionError("handed to the pure twin")

    monkeypatch.setattr(compiled, "_pure_ack_outcomes", refuse)
    big = orjson.dumps([_entry(i, leaseReleased=i == 99) for i in range(100)])
    assert compiled.ack_outcomes(big)[1] == [(True, None, i == 99, False) for i in range(100)]
    assert compiled.ack_outcomes(BATCH)[1][2] == (False, "Invalid or expired lease", False, False)
    with pytest.raises(AssertionError):
        compiled.ack_outcomes(b'[{"error":"\\n"}]')


# --- compiled == pure ---------------------------------------------------------------------

KEYS = st.sampled_from(["success", "error", "leaseReleased", "dlq", "index", "transactionId",
                        "queueName", "succes", "dlqx", ""])
ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10)
# What the compiled pass reads itself: printable ASCII, small integers, literals, flat entries.
PLAIN = (
    st.none()
    | st.booleans()
    | st.integers(-(10**18) + 1, 10**18 - 1)
    | ASCII
    | st.sampled_from(["Invalid or expired lease", "Message not found", TX])
)
# Everything else JSON has, for the hand-over to the pure twin.
SCALARS = (
    PLAIN
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
VALUES = SCALARS | st.lists(SCALARS, max_size=2) | st.dictionaries(st.text(max_size=3), SCALARS,
                                                                     max_size=2)
WS = st.sampled_from(["", "", "", " ", "\n", "\t", "\r\n "])


def _text(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":"))


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    plain = draw(st.booleans())
    keys, values = (KEYS, PLAIN) if plain else (KEYS | st.text(max_size=6), VALUES)
    entries = st.lists(st.tuples(keys, values), max_size=9)  # pairs: repeated keys allowed
    ascii_only = plain or draw(st.booleans())
    parts: List[str] = []
    for entry in draw(st.lists(entries if plain else entries | SCALARS, max_size=6)):
        if isinstance(entry, list):
            pairs = [
                draw(WS) + _text(k, ascii_only) + draw(WS) + ":" + draw(WS)
                + _text(v, ascii_only) + draw(WS)
                for k, v in entry
            ]
            parts.append(draw(WS) + "{" + ",".join(pairs) + "}" + draw(WS))
        else:
            parts.append(draw(WS) + _text(entry, ascii_only) + draw(WS))
    text = draw(WS) + "[" + ",".join(parts) + "]" + draw(WS)
    body = text.encode("utf-8", "surrogatepass")
    edit = draw(st.integers(0, 5))
    if 1 <= edit <= 3 and body:  # a damaged answer: one byte replaced, removed or inserted
        at = draw(st.integers(0, len(body) - 1))
        byte = bytes([draw(st.integers(0, 255))])
        body = (body[:at] + byte + body[at + 1:], body[:at] + body[at + 1:],
                body[:at] + byte + body[at:])[edit - 1]
    return body


def _outcome(module: ModuleType, body: bytes) -> Tuple[str, Any]:
    try:
        return "ok", module.ack_outcomes(body)
    except Exception as exc:  # the type is what is compared
        return "error", type(exc)


@pytest.mark.compiled
@settings(max_examples=600, deadline=None)
@given(body=bodies())
def test_compiled_equals_pure(body: bytes) -> None:
    assert _outcome(load("acks", "compiled"), body) == _outcome(load("acks", "pure"), body)


# --- all_succeeded ------------------------------------------------------------------------


class _Entry(dict):  # type: ignore[type-arg]
    def get(self, key: Any, default: Any = None) -> Any:
        return True  # a subclass's own get() is what isinstance/get semantics call


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([], True),
        ([{"success": True}, {"success": True, "error": None}], True),
        ([{"success": True}, {"success": False}], False),
        ([{"success": True}, {"success": 1}], False),  # truthy is not true
        ([{"success": True}, {}], False),
        ([{"success": True}, None], False),
        ([_Entry()], True),
        ((e for e in [{"success": True}]), True),
    ],
)
def test_all_succeeded(acks: ModuleType, results: Any, expected: bool) -> None:
    assert acks.all_succeeded(results) is expected


@pytest.mark.compiled
@given(body=bodies())
def test_all_succeeded_compiled_equals_pure(body: bytes) -> None:
    try:
        results = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    if isinstance(results, list):
        assert load("acks", "compiled").all_succeeded(results) is load(
            "acks", "pure"
        ).all_succeeded(results)
