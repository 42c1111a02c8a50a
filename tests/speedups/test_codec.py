"""Push item encoding (client contract §4.4), UUIDv7, is_uuid and pop decoding, both twins."""

from __future__ import annotations

import gc
import re
import sys
import threading
import time
from types import ModuleType
from typing import Any, Dict, List, Tuple

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queen._errors import QueenPayloadError, QueenValidationError
from queen._message import message_class
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
        ({"data": '"\\\n\x01\x7f\u2028'}, b'"\\"\\\\\\n\\u0001\x7f\xe2\x80\xa8"'),
        # The text \u0000 (an escaped backslash) and the word null are no NUL and no NaN.
        ({"data": "\\u0000"}, b'"\\\\u0000"'),
        ({"data": {"a": None, "null": "null"}}, b'{"a":null,"null":"null"}'),
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


@pytest.mark.parametrize("char", ['"', "\\", "\x00", "\x1f", " ", "\x7f", "~", "\u00e9"])
def test_transaction_id_char_at_every_position(enc: Any, char: str) -> None:
    for at in range(20):
        tx = "a" * at + char + "b" * (19 - at)
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


# --- items() of a list: one dump for all payloads, falling back to item by item ----------

TRICKY = [
    'q"uo"te',
    "back\\slash\\",
    '\\"',
    "a,b,,c",
    "[{]}",
    ",\x01,",
    "\x1f",
    "\\u0000",
    "\u00e9\u65e5\U0001f600\u2028",
    "",
]


def _each(enc: Any, items: List[Any]) -> List[bytes]:
    return [enc.item(item) for item in items]


def _generated_id(encoded: bytes) -> bytes:
    m = GENERATED.search(encoded)
    assert m is not None
    return m.group(1)


def test_items_tricky_strings(enc: Any) -> None:
    items: List[Dict[str, Any]] = [{"data": t, "transactionId": TX} for t in TRICKY]
    items += [{"data": {t: [t, {t: t}]}, "transactionId": TX} for t in TRICKY]
    items.append({"data": [TRICKY, {"k": TRICKY}], "transactionId": TX})
    assert enc.items(items) == _each(enc, items)
    assert enc.items(items)[0] == wire(b'"q\\"uo\\"te"')
    assert enc.items(items)[5] == wire(b'",\\u0001,"')


@pytest.mark.parametrize(
    "payloads",
    [
        [{1: "a"}, {"b": 2}],  # non-str keys: the dump is retried with OPT_NON_STR_KEYS
        [1, 2**64, 3],  # beyond 64 bits: item by item, through the stdlib
        [1.5, -0.0, 1e300, 5e-324],
        [None, {}, [], "", 0, False],
        [[[[]]], {"a": {"b": {"c": [1, [2, [3]]]}}}],
        [orjson.Fragment(b"\x00"), 1],  # a user NUL: more NULs than separators
        [orjson.Fragment(b",\x00,"), orjson.Fragment(b"[,\x00,]"), 2],
        [orjson.Fragment(b""), orjson.Fragment(b"7")],
    ],
)
def test_items_payload_kinds(enc: Any, payloads: List[Any]) -> None:
    items = [{"data": p, "transactionId": TX} for p in payloads]
    assert enc.items(items) == _each(enc, items)
    assert enc.items(tuple(items)) == _each(enc, items)


def test_items_nesting_at_the_orjson_limit(enc: Any) -> None:
    deep: Any = 1
    depth = 0
    while True:  # the deepest payload orjson accepts on its own; a list around it is too deep
        try:
            orjson.dumps([deep])
        except orjson.JSONEncodeError:
            break
        deep, depth = [deep], depth + 1
    assert depth > 100
    items = [{"data": deep, "transactionId": TX}, {"data": 1, "transactionId": TX}]
    assert enc.items(items) == _each(enc, items) == [wire(orjson.dumps(deep)), wire(b"1")]


def test_items_keys_and_ids(codec: ModuleType) -> None:
    bad: List[object] = []
    e = codec.PushEncoder("q", "p", bad.append)
    items = [
        {"data": 1, "payload": 2, "transactionId": TX, "traceId": TRACE},
        {"payload": 3, "traceId": None, "transactionId": ""},
        {"whole": True, "transactionId": TX},
        {"traceId": TRACE, "transactionId": 'id"\u00e9'},
    ]
    out = e.items(items)
    assert out[0] == wire(b"1", TX, TRACE)
    assert out[1] == wire(b"3", _generated_id(out[1]).decode())
    assert out[2] == wire(b'{"whole":true,"transactionId":"' + TX.encode() + b'"}')
    assert out[3] == wire(
        b'{"traceId":"' + TRACE.encode() + b'","transactionId":"id\\"\xc3\xa9"}', 'id"\u00e9', TRACE
    )
    assert bad == []


class BadA:
    pass


class BadB:
    pass


def test_items_error_at_the_same_item(codec: ModuleType) -> None:
    bad: List[object] = []
    e = codec.PushEncoder("q", "p", bad.append)
    items = [
        {"data": 1, "traceId": "t0"},
        {"data": BadA()},
        {"data": 2, "traceId": "t2"},
        {"data": BadB()},
    ]
    with pytest.raises(QueenPayloadError, match="BadA"):
        e.items(items)
    assert bad == ["t0"]


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"data": 1, "transactionId": 5}, QueenValidationError),
        ({"data": 1, "transactionId": "x" * 256}, QueenValidationError),
        ([1], QueenValidationError),
        ({"data": 1, "transactionId": "\ud800"}, orjson.JSONEncodeError),
        ({"data": {"s": "\ud800"}}, QueenPayloadError),
        ({"data": {(1,): 2}}, QueenPayloadError),
    ],
)
def test_items_error_after_good_items(codec: ModuleType, item: Any, error: type) -> None:
    bad: List[object] = []
    e = codec.PushEncoder("q", "p", bad.append)
    items = [{"data": 1, "traceId": "before"}, item, {"data": 2, "traceId": "after"}]
    with pytest.raises(error):
        e.items(items)
    assert bad == ["before"]


def test_unencodable_id_fails_before_the_trace_is_reported(codec: ModuleType) -> None:
    bad: List[object] = []
    e = codec.PushEncoder("q", "p", bad.append)
    item = {"data": 2**64, "transactionId": "\ud800", "traceId": "bad"}
    with pytest.raises(orjson.JSONEncodeError):
        e.item(item)
    with pytest.raises(orjson.JSONEncodeError):
        e.items([{"data": 1}, item])
    assert bad == []


def test_items_falsy_ids_generated(enc: Any) -> None:
    falsy: List[Any] = [None, "", 0, False, []]
    out = enc.items([{"data": 1, "transactionId": tx} for tx in falsy])
    ids = [_generated_id(o) for o in out]
    assert all(ID_RE.match(i.decode()) for i in ids)
    assert all(a < b for a, b in zip(ids, ids[1:]))


def test_items_dict_subclass_among_items(enc: Any) -> None:
    class Item(dict):  # type: ignore[type-arg]
        def __contains__(self, key: object) -> bool:
            return key != "data" and dict.__contains__(self, key)

    items = [{"data": 1, "transactionId": TX}, Item(data=1, payload=2, transactionId=TX)]
    assert enc.items(items) == [wire(b"1"), wire(b"2")]


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
    # The messages are the answer's entries themselves (no second copy of every message).
    assert top["messages"] == [messages[0], None, messages[1]]
    assert top["messages"][0] is messages[0] and top["messages"][2] is messages[1]


def test_decode_pop_retypes_only_what_it_owns(codec: ModuleType) -> None:
    # A message class with instance storage of its own cannot share a dict's layout: its
    # messages are built by the class, as any custom class's are.
    class WithSlot(Message):
        __slots__ = ("extra",)

    class WithDict(dict):  # type: ignore[type-arg]
        pass

    body = orjson.dumps({"messages": [MSG, {**MSG, "id": "2"}]})
    for cls in (WithSlot, WithDict):
        top, messages = codec.decode_pop(body, cls)
        assert messages == [MSG, {**MSG, "id": "2"}]
        assert [type(m) for m in messages] == [cls, cls]
        assert top["messages"][0] is messages[0]
    plain = message_class(None, "g")
    base = sys.getrefcount(plain)
    top, messages = codec.decode_pop(body, plain)
    assert sys.getrefcount(plain) == base + 2  # each instance holds its class
    assert messages[0]["trace"] is not None and "trace" in messages[1]
    assert gc.is_tracked(messages[0])
    del top, messages
    assert sys.getrefcount(plain) == base


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


class Unserialisable:
    pass


class Unserialisable2:
    pass


tricky_text = st.text(
    st.sampled_from(
        [
            '"',
            "\\",
            ",",
            "[",
            "]",
            "{",
            "}",
            ":",
            "\x00",
            "\n",
            "a",
            "\u00e9",
            "\u2028",
            "\U0001f600",
        ]
    ),
    max_size=10,
)
tricky_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | tricky_text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(tricky_text | st.integers(-3, 3) | st.none(), inner, max_size=4)
    ),
    max_leaves=15,
)
rare_payloads = (
    st.integers(2**64, 2**80)
    | st.just(float("nan"))
    | st.builds(Unserialisable)
    | st.builds(Unserialisable2)
    | st.just("\ud800")
    | st.just({(1, 2): 1})
    | st.sampled_from([b"\x00", b",\x00,", b"[\x00]", b""]).map(orjson.Fragment)
)
joint_tx = (
    st.none()
    | st.none()
    | st.just("")
    | st.uuids().map(str)
    | tricky_text
    | st.sampled_from([0, False, 7, "x" * 256, "\ud800"])
)
joint_trace = st.none() | st.uuids().map(str) | st.just("bad")


def _joint_item(shape: int, payload: Any, tx: Any, trace: Any, rare: Any, use_rare: bool) -> Any:
    if shape == 3:
        return [payload]  # not a dict
    return _item(shape, rare if use_rare else payload, tx, trace)


joint_items = st.lists(
    st.builds(
        _joint_item,
        st.integers(0, 2),
        tricky_json,
        joint_tx,
        joint_trace,
        rare_payloads,
        st.integers(0, 15).map(lambda r: r == 0),
    ),
    min_size=2,
    max_size=16,
)


def _error_outcome(fn: Any, *args: Any) -> Tuple[str, Any]:
    try:
        return "ok", _mask_generated(fn(*args))
    except Exception as exc:  # type and message tell which item failed and how
        return "error", (type(exc), str(exc))


@pytest.mark.compiled
@settings(max_examples=500, deadline=None)
@given(
    items=joint_items,
    with_callback=st.booleans(),
    as_tuple=st.booleans(),
    non_dict=st.integers(0, 40),
)
def test_items_compiled_equals_pure(
    items: List[Any], with_callback: bool, as_tuple: bool, non_dict: int
) -> None:
    if non_dict < len(items):
        items[non_dict] = [items[non_dict]]
    seq: Any = tuple(items) if as_tuple else items
    bad_c: List[object] = []
    bad_p: List[object] = []
    c = load("codec", "compiled").PushEncoder("q", "p", bad_c.append if with_callback else None)
    p = load("codec", "pure").PushEncoder("q", "p", bad_p.append if with_callback else None)
    got_c = _error_outcome(c.items, seq)
    assert got_c == _error_outcome(p.items, seq)
    assert bad_c == bad_p
    if got_c[0] == "ok":
        assert got_c[1] == _mask_generated([c.item(item) for item in items])


@pytest.mark.compiled
@settings(max_examples=300, deadline=None)
@given(items=st.lists(st.builds(lambda p: {"data": p}, tricky_json), min_size=2, max_size=30))
def test_items_of_serialisable_payloads_compiled_equals_pure(items: List[Any]) -> None:
    c = load("codec", "compiled").PushEncoder("q\u00e9", '"p"')
    p = load("codec", "pure").PushEncoder("q\u00e9", '"p"')
    got = _error_outcome(c.items, items)
    assert got == _error_outcome(p.items, items)
    if got[0] == "ok":
        assert _mask_generated(c.body(c.items(items))) == _mask_generated(p.body(p.items(items)))


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
    for top, out in (c, p):
        assert [m for m in top["messages"] if m is not None] == out
        assert all(
            a is b for a, b in zip([m for m in top["messages"] if m is not None], out)
        )


# -- batch ack bodies --------------------------------------------------------------------------

PID = "c75f9a44-fca5-4b85-86c2-ed7d0df74276"
LEASE = "01a24a13-9e59-7000-bae7-fe2040fc1b36"


def _ack(tx: Any = TX, pid: Any = PID, lease: Any = LEASE, **extra: Any) -> Dict[str, Any]:
    m: Dict[str, Any] = {"transactionId": tx, "partitionId": pid, "data": {"x": 1}, **extra}
    if lease is not None:
        m["leaseId"] = lease
    return m


def test_ack_body_shape(codec: ModuleType) -> None:
    body = codec.ack_body([_ack(), _ack(tx="b", lease="")], True, None, None)
    assert orjson.loads(body) == {
        "acknowledgments": [
            {"transactionId": TX, "partitionId": PID, "status": "completed", "error": None,
             "leaseId": LEASE},
            {"transactionId": "b", "partitionId": PID, "status": "completed", "error": None},
        ],
        "consumerGroup": None,
    }
    # Key order as the reference sends them, compact separators.
    assert body.startswith(b'{"acknowledgments":[{"transactionId":"' + TX.encode()
                           + b'","partitionId":"' + PID.encode()
                           + b'","status":"completed","error":null,"leaseId":"')
    assert body.endswith(b'}],"consumerGroup":null}')


def test_ack_body_status_error_group_and_escapes(codec: ModuleType) -> None:
    body = codec.ack_body([_ack(tx='q"\\\n\u00e9')], False, 'boom "x"', "gr\u00fcn")
    assert orjson.loads(body) == {
        "acknowledgments": [{"transactionId": 'q"\\\n\u00e9', "partitionId": PID,
                             "status": "failed", "error": 'boom "x"', "leaseId": LEASE}],
        "consumerGroup": "gr\u00fcn",
    }
    retry = orjson.loads(codec.ack_body([_ack()], "retry", None, "g"))
    assert retry["acknowledgments"][0]["status"] == "retry"


def test_ack_body_id_fallback_and_overrides(codec: ModuleType) -> None:
    body = orjson.loads(codec.ack_body(
        [{"id": "i1", "partitionId": PID},
         _ack(tx="t2", _status=False, _error="bad"),
         _ack(tx="t3", _status="retry")],
        True, "ctx", None))
    acks = body["acknowledgments"]
    assert acks[0] == {"transactionId": "i1", "partitionId": PID, "status": "completed",
                       "error": "ctx"}
    assert (acks[1]["status"], acks[1]["error"]) == ("failed", "bad")
    assert (acks[2]["status"], acks[2]["error"]) == ("retry", "ctx")
    assert "_status" not in body and all("_error" not in a for a in acks)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"partitionId": PID}, "transactionId or id"),
        ({"transactionId": "t"}, "partitionId"),
        ({"transactionId": "t", "partitionId": ""}, "partitionId"),
        ("not a dict", "transactionId or id"),
    ],
)
def test_ack_body_missing_address_raises(codec: ModuleType, message: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        codec.ack_body([_ack(), message], True, None, None)


def test_ack_body_reads_the_mapping_of_dict_subclasses(codec: ModuleType) -> None:
    class Sneaky(dict):  # type: ignore[type-arg]
        def get(self, key: Any, default: Any = None) -> Any:
            return "overridden"

    body = orjson.loads(codec.ack_body([Sneaky(_ack())], True, None, None))
    assert body["acknowledgments"][0]["transactionId"] == TX


def test_ack_body_non_serialisable_value(codec: ModuleType) -> None:
    with pytest.raises(QueenPayloadError):
        codec.ack_body([_ack(lease=Unserialisable())], True, None, None)


ack_values = st.none() | st.just("") | text | st.uuids().map(str) | st.integers() | st.booleans()


@st.composite
def ack_messages(draw: Any) -> Any:
    if draw(st.integers(0, 30)) == 0:
        return draw(st.none() | st.integers() | text)
    m: Dict[str, Any] = {}
    for key in ("transactionId", "id", "partitionId", "leaseId", "_status", "_error"):
        if draw(st.booleans()) or key in ("transactionId", "partitionId"):
            m[key] = draw(ack_values)
    return m


@pytest.mark.compiled
@settings(max_examples=400, deadline=None)
@given(
    messages=st.lists(ack_messages(), max_size=6) | st.tuples(ack_messages(), ack_messages()),
    status=st.booleans() | text | st.sampled_from(["completed", "failed", "retry"]) | st.none(),
    error=st.none() | text | st.integers(),
    group=st.none() | text | st.integers(),
)
def test_ack_body_compiled_equals_pure(messages: Any, status: Any, error: Any, group: Any) -> None:
    c = _outcome(load("codec", "compiled").ack_body, messages, status, error, group)
    p = _outcome(load("codec", "pure").ack_body, messages, status, error, group)
    assert c == p
