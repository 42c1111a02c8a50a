"""``config_hash`` (client contract §8.9): the contract's vectors and JS number formatting."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queen import Stream
from queen.streams.util.config_hash import canonical_chain, config_hash_of
from queen.streams.util.jsjson import js_number, js_stringify

SRC = {"queueName": "src"}


def _f(*_a):
    return 1


VECTORS = [
    (lambda s: s.map(_f).filter(_f).to({"queueName": "out"}),
     '[{"kind":"map"},{"kind":"filter"},{"kind":"sink","queue":"out"}]',
     "26e8e576fb2b4e60473d325efea14df31e80fd246930f4754557250236e49b69"),
    (lambda s: s.window_tumbling(seconds=60).aggregate({"count": _f, "sum": _f})
     .to({"queueName": "totals"}),
     '[{"kind":"window-tumbling","seconds":60,"gracePeriod":0,"idleFlushMs":5000,'
     '"eventTime":false,"allowedLateness":0,"onLate":"drop"},'
     '{"kind":"aggregate","fields":["count","sum"]},{"kind":"sink","queue":"totals"}]',
     "a8a6bf439628f5e13916c21f42723a9e6c0d6405b51e5f66d25e8e832fb91741"),
    (lambda s: s.key_by(_f).window_session(gap=30).reduce(_f, 0).foreach(_f),
     '[{"kind":"keyBy"},{"kind":"window-session","gap":30,"gracePeriod":0,"idleFlushMs":1000,'
     '"eventTime":false,"allowedLateness":0,"onLate":"drop"},'
     '{"kind":"reduce","hasInitial":true},{"kind":"foreach"}]',
     "957c54b182400d4e33fc113b905c2245d24cdd8a3c45cc80b47636cf66f80856"),
    (lambda s: s.window_sliding(size=60, slide=10, grace_period=5, allowed_lateness=2.5,
                                event_time=_f, on_late="include").reduce(_f),
     '[{"kind":"window-sliding","size":60,"slide":10,"gracePeriod":5,"idleFlushMs":5000,'
     '"eventTime":true,"allowedLateness":2.5,"onLate":"include"},'
     '{"kind":"reduce","hasInitial":false}]',
     "475acaea08e8badef1dadba0a3a4df26da705cc57236a3208d12cf4908c13ff9"),
    (lambda s: s.window_cron(every="hour").aggregate({"avg": _f, "max": _f}),
     '[{"kind":"window-cron","every":"hour","gracePeriod":0,"idleFlushMs":30000,'
     '"eventTime":false,"allowedLateness":0,"onLate":"drop"},'
     '{"kind":"aggregate","fields":["avg","max"]}]',
     "45136ab358fa0fc0639522bdbf8ade20352afb75e1a7129b8c27145a919a88c4"),
    (lambda s: s.gate(_f).flat_map(_f).to({"queueName": "café"}),
     '[{"kind":"gate"},{"kind":"flatMap"},{"kind":"sink","queue":"café"}]',
     "137db8e77a2e5fb5fcd05110f32a13ad66abe40c6b5497112a48fdced219178d"),
    (lambda s: s.window_tumbling(seconds=0.5),
     '[{"kind":"window-tumbling","seconds":0.5,"gracePeriod":0,"idleFlushMs":5000,'
     '"eventTime":false,"allowedLateness":0,"onLate":"drop"}]',
     "cc9abf1286b9582035b62a1da195260b6f657cc1f32cf216093dff2645822a61"),
]


@pytest.mark.parametrize("build,canonical,digest", VECTORS)
def test_contract_vectors(build, canonical, digest) -> None:
    stream = build(Stream.from_(SRC))
    assert canonical_chain(stream.operators) == canonical
    assert config_hash_of(stream.operators) == digest
    assert stream.config_hash == digest


def test_integral_float_hashes_as_an_integer() -> None:
    # Bug D23c of the reference SDK: 60.0 was written as "60.0".
    as_float = (Stream.from_(SRC).window_tumbling(seconds=60.0)
                .aggregate({"count": _f, "sum": _f}).to({"queueName": "totals"}))
    assert as_float.config_hash == VECTORS[1][2]
    assert as_float.config_hash != (
        "fee7ef51d84b29253ffd5ef5c3550f0da7f989eb0e5351880b07c641080236f4")


def test_functions_are_not_hashed_and_order_is() -> None:
    a = Stream.from_(SRC).map(lambda m: 1).filter(lambda m: 2)
    b = Stream.from_(SRC).map(lambda m: 3).filter(lambda m: 4)
    c = Stream.from_(SRC).filter(lambda m: 2).map(lambda m: 1)
    assert a.config_hash == b.config_hash != c.config_hash


def test_hash_is_64_lowercase_hex() -> None:
    digest = Stream.from_(SRC).map(_f).config_hash
    assert len(digest) == 64 and digest == digest.lower() and int(digest, 16) >= 0


# Number::toString outputs, checked against Node.js.
JS_NUMBERS = [
    (60.0, "60"), (0.5, "0.5"), (2.5, "2.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
    (1e-7, "1e-7"), (1e-6, "0.000001"), (0.1, "0.1"), (-0.0, "0"), (123.456, "123.456"),
    (1.5e300, "1.5e+300"), (5e-324, "5e-324"), (2**60, "1152921504606847000"), (12, "12"),
    (-2.5e-8, "-2.5e-8"), (0.30000000000000004, "0.30000000000000004"),
    (123456789012345678901234.0, "1.2345678901234569e+23"), (float("nan"), "null"),
    (float("inf"), "null"),
]


@pytest.mark.parametrize("value,text", JS_NUMBERS)
def test_js_number(value, text) -> None:
    assert js_number(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_js_number_round_trips(value: float) -> None:
    text = js_number(value)
    assert float(text) == value or (value == 0 and text == "0")
    if value == math.floor(value) and abs(value) < 1e21:
        assert "." not in text and "e" not in text


def test_js_stringify_strings() -> None:
    assert js_stringify("a\"b\\c\n\u0001é\u2028") == '"a\\"b\\\\c\\n\\u0001é\u2028"'
    assert js_stringify("\ud800") == '"\\ud800"'
    assert js_stringify([True, None, {"k": [1, 2.0]}]) == '[true,null,{"k":[1,2]}]'
    with pytest.raises(TypeError):
        js_stringify({1, 2})
