"""Push item encoding (client contract §4.4), UUIDv7, is_uuid and pop decoding, both twins."""

from __future__ import annotations

import re
import threading
import time
from types import ModuleType
from typing import Any, List, Tuple

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queen._errors import QueenPayloadError, QueenValidationError
from queen._speedups import load

PREFIX = b'{"queue":"q","partition":"p","payload":'
TX = "01a21eb3-da5a-7000-b0de-b7d996df2f4b"
TRACE = "01A21EB3-DA69-7000-A720-CDDD5B5424A9"
ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
GENERATED = re.compile(rb'"transactionId":"([0-9a-f-]{36})"')


class Message(dict):  # type: ignore[type-arg]
    __slots__ = ()


def wire(payload: bytes, tx: str = TX, trace: str = "") -> bytes:
    out = PREFIX + payload + b',"transactionId":' + orjson.dumps(tx)
    if trace:
        out += b',"traceId":"' + trace.encode() + b'"'
    return out + b"}"


@pytest.fixture
def enc(codec: ModuleType) -> Any:
    return codec.PushEncoder("q", "p")


# --- payload rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "payload"),
    [
        ({"data": None}, b"null"),
        ({"data": {}}, b"{}"),
        ({"data": []}, b"[]"),
        ({"data": 0}, b"0"),
        ({"data": {"a": 1}, "payload": 2}, b'{"a":1}'),
        ({"payload": None}, b"null"),
        ({"payload": {"b": [1, 2.5, "s"]}}, b'{"b":[1,2.5,"s"]}'),
        ({"a": 1}, b'{"a":1,"transactionId":"' + TX.encode() + b'"}'),
        (
            {"queue": "other", "partition": "o", "n": True},
            b'{"queue":"other","partition":"o","n":true,"transactionId":"' + TX.encode() + b'"}',
        ),
        ({"data": {1: "int", None: "none", False: "b"}}, b'{"1":"int","null":"none","false":"b"}'),
        ({"data": 2**64}, b"18446744073709551616"),
        ({"data": [-(2**63) - 1, 1]}, b"[-9223372036854775809,1]"),
        (
            {"data": {"big": 10**30, "s": "\u00e9"}},
            '{"big":1000000000000000000000000000000,"s":"\u00e9"}'.encode(),
        ),
        ({"data": "\U0001f600\u65e5"}, '"\U0001f600\u65e5"'.encode()),
        ({"data": '"\\\n\x00\x7f\u2028'}, b'"\\"\\\\\\n\\u0000\x7f\xe2\x80\xa8"'),
        ({"data": float("nan")}, b"null"),
        ({"data": 1.5e300}, orjson.dumps(1.5e300)),  # the exponent form varies by orjson
    ],
)
def test_payload_rules(enc: Any, item: dict, payload: bytes) -> None:
    item = {**item, "transactionId": TX}
    assert enc.item(item) == wire(payload)


def test_queue_and_partition_are_json_strings(codec: ModuleType) -> None:
    e = codec.PushEncoder('q"\u00e9', "\U0001f600")
    out = e.item({"data": 1, "transactionId": "t"})
    expected = '{"queue":"q\\"\u00e9","partition":"\U0001f600","payload":1,"transactionId":"t"}'
    assert out == expected.encode()
    assert e.queue == 'q"\u00e9'
    assert e.partition == "\U0001f600"


@pytest.mark.parametrize(
    "tx",
    [
        "t",
        "a" * 255,
        'with"quote',
        "back\\slash",
        "tab\there",
        "\u00e9\u65e5",
        "\U0001f600",
        "\x7f",
    ],
)
def test_transaction_id_kept_and_escaped(enc: Any, tx: str) -> None:
    assert enc.item({"data": 1, "transactionId": tx}) == wire(b"1", tx)


@pytest.mark.parametrize("tx", ["a" * 256, 123, 1.5, ["x"], b"bytes", True])
def test_bad_transaction_id(enc: Any, tx: Any) -> None:
    with pytest.raises(QueenValidationError, match="transactionId must be a string"):
        enc.item({"data": 1, "transactionId": tx})


def test_lone_surrogate_transaction_id_is_an_orjson_error(enc: Any) -> None:
    with pytest.raises(orjson.JSONEncodeError):
        enc.item({"data": 1, "transactionId": "\ud800"})


@pytest.mark.parametrize("tx", [None, "", 0, False, [], "MISSING"])
def test_falsy_transaction_id_is_generated(enc: Any, tx: Any) -> None:
    item: dict = {"data": 1}
    if tx != "MISSING":
        item["transactionId"] = tx
    out = enc.item(item)
    m = GENERATED.search(out)
    assert m is not None
    generated = m.group(1).decode()
    assert ID_RE.match(generated)
    assert out == wire(b"1", generated)


def test_trace_id_kept_only_when_canonical(codec: ModuleType) -> None:
    bad: List[object] = []
    e = codec.PushEncoder("q", "p", bad.append)
    assert e.item({"data": 1, "transactionId": TX, "traceId": TRACE}) == wire(b"1", TX, TRACE)
    lower = TRACE.lower()
    assert e.item({"data": 1, "transactionId": TX, "traceId": lower}) == wire(b"1", TX, lower)
    assert e.item({"data": 1, "transactionId": TX, "traceId": None}) == wire(b"1")
    assert bad == []
    for value in ("not-a-uuid", TRACE[:-1], TRACE + "0", TRACE.replace("-", "_"), 7, "", b"x"):
        assert e.item({"data": 1, "transactionId": TX, "traceId": value}) == wire(b"1")
    assert bad == ["not-a-uuid", TRACE[:-1], TRACE + "0", TRACE.replace("-", "_"), 7, "", b"x"]


def test_bad_trace_without_callback_is_dropped(enc: Any) -> None:
    assert enc.item({"data": 1, "transactionId": TX, "traceId": "nope"}) == wire(b"1")


@pytest.mark.parametrize("item", [None, [1], "s", 1, ({"data": 1},)])
def test_non_dict_item(enc: Any, item: Any) -> None:
    with pytest.raises(QueenValidationError, match="push items must be dicts"):
        enc.item(item)


@pytest.mark.parametrize(
    "payload",
    [
        object(),
        {1, 2},
        {(1, 2): "tuple key"},
        "\ud800",
        {"s": "x\udfffy"},
        {"big": 2**70, "nan": float("nan")},
        {"big": 2**70, "o": object()},
    ],
)
def test_non_serialisable_payload(enc: Any, payload: Any) -> None:
    with pytest.raises(QueenPayloadError, match="not JSON serialisable") as info:
        enc.item({"data": payload, "transactionId": TX})
    assert isinstance(info.value, TypeError)
    assert info.value.__cause__ is not None


def test_error_order_validation_before_payload(enc: Any) -> None:
    with pytest.raises(QueenValidationError) as info:
        enc.item({"data": object(), "transactionId": 5})
    assert not isinstance(info.value, QueenPayloadError)


def test_bad_trace_reported_only_after_payload_encoded(codec: ModuleType) -> None:
    bad: List[object] = []
    e = codec.PushEncoder("q", "p", bad.append)
    with pytest.raises(QueenPayloadError):
        e.item({"data": object(), "transactionId": TX, "traceId": "bad"})
    assert bad == []


def test_dict_subclass_item_uses_its_mapping(enc: Any) -> None:
    class Item(dict):  # type: ignore[type-arg]
        def __contains__(self, key: object) -> bool:
            return key != "data" and dict.__contains__(self, key)

    item = Item(data=1, payload=2, transactionId=TX)
    assert enc.item(item) == wire(b"2")


def test_items_and_body(codec: ModuleType, enc: Any) -> None:
    encoded = enc.items([{"data": i, "transactionId": f"t{i}"} for i in range(3)])
    assert encoded == [wire(str(i).encode(), f"t{i}") for i in range(3)]
    assert enc.items([]) == []
    assert enc.items(iter([{"data": 1, "transactionId": TX}])) == [wire(b"1")]
    assert codec.PushEncoder.body(encoded) == b'{"items":[' + b",".join(encoded) + b"]}"
    assert enc.body([]) == b'{"items":[]}'
    assert enc.body((b"1", bytearray(b"2"))) == b'{"items":[1,2]}'
    assert enc.body(iter([b"a"])) == b'{"items":[a]}'
    body = enc.body(enc.items([{"data": {"k": "v"}, "transactionId": TX}] * 2))
    assert orjson.loads(body) == {
        "items": [{"queue": "q", "partition": "p", "payload": {"k": "v"}, "transactionId": TX}] * 2
    }


def test_dumps_payload(codec: ModuleType) -> None:
    assert codec.dumps_payload({"a": [1, None]}) == b'{"a":[1,null]}'
    assert codec.dumps_payload({1: 2**65}) == b'{"1":36893488147419103232}'
    with pytest.raises(QueenPayloadError):
        codec.dumps_payload(object())


# --- ids ----------------------------------------------------------------------------------


def test_uuid7_format_and_time(codec: ModuleType) -> None:
    before = time.time_ns() // 1_000_000
    value = codec.uuid7()
    after = time.time_ns() // 1_000_000
    assert ID_RE.match(value)
    assert codec.is_uuid(value)
    ms = int(value[:8] + value[9:13], 16)
    assert before <= ms <= after + 1


def test_uuid7_monotonic_tight_loop(codec: ModuleType) -> None:
    ids = [codec.uuid7() for _ in range(100_000)]
    assert all(ID_RE.match(i) for i in ids[::997])
    assert all(a < b for a, b in zip(ids, ids[1:]))


def test_uuid7_monotonic_in_batches(enc: Any) -> None:
    out = enc.items([{"data": 1}] * 5000)
    ids = [GENERATED.search(o).group(1) for o in out]  # type: ignore[union-attr]
    assert all(a < b for a, b in zip(ids, ids[1:]))


def test_uuid7_across_threads(codec: ModuleType) -> None:
    per_thread: List[List[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def run(out: List[str]) -> None:
        start.wait()
        for _ in range(20_000):
            out.append(codec.uuid7())

    threads = [threading.Thread(target=run, args=(out,)) for out in per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ids in per_thread:
        assert all(a < b for a, b in zip(ids, ids[1:]))
    assert len({i for ids in per_thread for i in ids}) == 80_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TX, True),
        (TRACE, True),
        ("00000000-0000-0000-0000-000000000000", True),
        ("ffffffff-FFFF-ffff-FFFF-ffffffffffff", True),
        ("01a21eb3-da5a-7000-b0de-b7d996df2f4", False),
        ("01a21eb3-da5a-7000-b0de-b7d996df2f4bb", False),
        ("01a21eb3da5a-7000-b0de-b7d996df2f4b-", False),
        ("01a21eb3-da5a-7000-b0de-b7d996df2f4g", False),
        ("0\u00e9a21eb3-da5a-7000-b0de-b7d996df2f4", False),
        ("01a21eb3-da5a-7000-b0de-b7d996df2f4\U0001f600", False),
        ("{01a21eb3-da5a-7000-b0de-b7d996df2f}", False),
        ("", False),
        (None, False),
        (123, False),
        (TX.encode(), False),
    ],
)
def test_is_uuid(codec: ModuleType, value: object, expected: bool) -> None:
    assert codec.is_uuid(value) is expected


# --- pop decoding -------------------------------------------------------------------------

MSG = {"id": TX, "data": {"i": 0}, "transactionId": "a0", "traceId": None, "partition": "A"}


@pytest.mark.parametrize("message_cls", [Message, dict])
def test_decode_pop(codec: ModuleType, message_cls: type) -> None:
    body = orjson.dumps({"messages": [MSG, None, {**MSG, "id": "2"}], "leaseId": "l"})
    top, messages = codec.decode_pop(body, message_cls)
    assert top == orjson.loads(body)
    assert messages == [MSG, {**MSG, "id": "2"}]
    assert all(type(m) is message_cls for m in messages)
    assert messages[0] is not top["messages"][0]
    messages[0]["x"] = 1
    assert "x" not in top["messages"][0]


@pytest.mark.parametrize(
    ("body", "top"),
    [
        (b"", None),
        (b"null", None),
        (b"[1,2]", [1, 2]),
        (b'"s"', "s"),
        (b"{}", {}),
        (b'{"messages":null}', {"messages": None}),
        (b'{"messages":[]}', {"messages": []}),
        (b'{"messages":{"a":1}}', {"messages": {"a": 1}}),
        (b'{"messages":[null]}', {"messages": [None]}),
    ],
)
def test_decode_pop_without_messages(codec: ModuleType, body: bytes, top: Any) -> None:
    decoded, messages = codec.decode_pop(body, Message)
    assert decoded == top
    assert messages == []


def test_decode_pop_accepts_str_and_buffers(codec: ModuleType) -> None:
    raw = b'{"messages":[{"a":1}]}'
    for body in (raw.decode(), bytearray(raw), memoryview(raw)):
        assert codec.decode_pop(body, Message)[1] == [{"a": 1}]


def test_decode_pop_invalid_json(codec: ModuleType) -> None:
    with pytest.raises(ValueError):
        codec.decode_pop(b"{not json", Message)


def test_decode_pop_custom_message_class(codec: ModuleType) -> None:
    class Tagged(dict):  # type: ignore[type-arg]
        def __init__(self, raw: dict) -> None:
            super().__init__(raw)
            self["tagged"] = True

    class Wrapper:
        def __init__(self, raw: Any) -> None:
            self.raw = raw

    body = b'{"messages":[{"a":1},[["k","v"]],3]}'
    _, tagged = codec.decode_pop(b'{"messages":[{"a":1}]}', Tagged)
    assert tagged == [{"a": 1, "tagged": True}]
    assert type(tagged[0]) is Tagged
    _, wrapped = codec.decode_pop(body, Wrapper)
    assert [w.raw for w in wrapped] == [{"a": 1}, [["k", "v"]], 3]
    with pytest.raises((TypeError, ValueError)):
        codec.decode_pop(body, Message)


# --- compiled == pure ---------------------------------------------------------------------

text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(text | st.integers(-5, 5) | st.booleans() | st.none(), inner, max_size=5)
    ),
    max_leaves=25,
)
tx_ids = st.none() | st.just("") | text | st.text(min_size=250, max_size=260) | st.integers()
trace_ids = st.none() | st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()) | text


def _outcome(fn: Any, *args: Any) -> Tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # the type is what is compared
        return "error", type(exc)


def _mask_generated(encoded: Any) -> Any:
    if isinstance(encoded, (list, tuple)):
        return [_mask_generated(e) for e in encoded]
    if isinstance(encoded, bytes):
        return GENERATED.sub(b'"transactionId":"<generated>"', encoded)
    return encoded


def _item(shape: int, payload: Any, tx: Any, trace: Any) -> dict:
    item: dict = {}
    if shape == 0:
        item["data"] = payload
    elif shape == 1:
        item["payload"] = payload
    else:
        item["whole"] = payload
    if tx is not None:
        item["transactionId"] = tx
    if trace is not None:
        item["traceId"] = trace
    return item


items_st = st.lists(st.builds(_item, st.integers(0, 2), json_like, tx_ids, trace_ids), max_size=12)


@pytest.mark.compiled
@settings(max_examples=400, deadline=None)
@given(items=items_st)
def test_encoding_compiled_equals_pure(items: List[dict]) -> None:
    bad_c: List[object] = []
    bad_p: List[object] = []
    c = load("codec", "compiled").PushEncoder("q\u00e9", "p", bad_c.append)
    p = load("codec", "pure").PushEncoder("q\u00e9", "p", bad_p.append)
    for item in items:
        got_c, got_p = _outcome(c.item, item), _outcome(p.item, item)
        assert _mask_generated(got_c) == _mask_generated(got_p)
    assert bad_c == bad_p
    ok_c, enc_c = _outcome(c.items, items)
    ok_p, enc_p = _outcome(p.items, items)
    assert ok_c == ok_p
    if ok_c == "ok":
        assert _mask_generated(c.body(enc_c)) == _mask_generated(p.body(enc_p))
    else:
        assert enc_c == enc_p


@pytest.mark.compiled
@settings(max_examples=300, deadline=None)
@given(payload=json_like)
def test_dumps_payload_compiled_equals_pure(payload: Any) -> None:
    c = _outcome(load("codec", "compiled").dumps_payload, payload)
    p = _outcome(load("codec", "pure").dumps_payload, payload)
    assert c == p


@pytest.mark.compiled
@settings(max_examples=300, deadline=None)
@given(value=text | st.uuids().map(str) | st.none() | st.integers())
def test_is_uuid_compiled_equals_pure(value: Any) -> None:
    assert load("codec", "compiled").is_uuid(value) == load("codec", "pure").is_uuid(value)


messages_st = st.lists(
    st.none() | st.dictionaries(st.text(max_size=8), json_like, max_size=6), max_size=20
)


@pytest.mark.compiled
@settings(max_examples=200, deadline=None)
@given(messages=messages_st, extra=st.dictionaries(st.text(max_size=5), scalars, max_size=3))
def test_decode_pop_compiled_equals_pure(messages: List[Any], extra: dict) -> None:
    try:
        body = orjson.dumps({**extra, "messages": messages})
    except TypeError:
        return  # not representable in JSON (for example a lone surrogate)
    c = load("codec", "compiled").decode_pop(body, Message)
    p = load("codec", "pure").decode_pop(body, Message)
    assert c == p
    assert [type(m) for m in c[1]] == [type(m) for m in p[1]]
