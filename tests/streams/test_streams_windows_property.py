"""Property tests of window assignment and late data (client contract §8.4, §8.10)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from hypothesis import given, settings
from hypothesis import strategies as st

from queen import Stream
from queen.streams._time import iso_from_ms, parse_iso_ms
from queen.streams.operators.window_cron import WEEK_EPOCH_OFFSET_MS
from queen.streams.runtime._windowing import _advance, _late_filter

SRC = {"queueName": "src"}
TS = st.integers(min_value=0, max_value=4_102_444_800_000)  # 1970 .. 2100, epoch ms
MONDAY = 4 * 86_400_000  # 1970-01-05 00:00 UTC was a Monday


def _annotate(window: Any, ts: int) -> List[Dict[str, Any]]:
    env = {"msg": {"data": {}, "ts": ts}, "key": "k", "value": 1}
    return asyncio.run(window.apply(env))


def _event_time(m: Dict[str, Any]) -> int:
    return m["ts"]


@given(TS, st.integers(min_value=1, max_value=86_400_000))
def test_tumbling_assigns_exactly_the_window_containing_ts(ts: int, size_ms: int) -> None:
    window = Stream.from_(SRC).window_tumbling(seconds=size_ms / 1000,
                                               event_time=_event_time).operators[0]
    [out] = _annotate(window, ts)
    start, end = out["windowStart"], out["windowEnd"]
    assert start <= ts < end and end - start == window.window_ms
    assert start % window.window_ms == 0
    assert out["windowKey"] == iso_from_ms(start) and parse_iso_ms(out["windowKey"]) == start
    assert out["eventTimeMs"] == ts and out["operatorTag"] == window.operator_tag


@given(TS, st.integers(min_value=1, max_value=600), st.integers(min_value=1, max_value=12))
def test_sliding_assigns_every_covering_window_once(ts: int, slide_s: int, n: int) -> None:
    window = Stream.from_(SRC).window_sliding(size=slide_s * n, slide=slide_s,
                                              event_time=_event_time).operators[0]
    out = _annotate(window, ts)
    starts = [e["windowStart"] for e in out]
    assert len(starts) == len(set(starts)) == n  # ts >= 0 and aligned starts: all n windows
    slide_ms, size_ms = slide_s * 1000, slide_s * n * 1000
    for e in out:
        assert e["windowStart"] <= ts < e["windowEnd"] == e["windowStart"] + size_ms
        assert e["windowStart"] % slide_ms == 0
    # ... and no other aligned window contains ts.
    latest = ts // slide_ms * slide_ms
    assert set(starts) == {latest - i * slide_ms for i in range(n)}


@given(TS, st.sampled_from(["second", "minute", "hour", "day", "week"]))
def test_cron_windows_are_calendar_aligned(ts: int, every: str) -> None:
    window = Stream.from_(SRC).window_cron(every=every, event_time=_event_time).operators[0]
    [out] = _annotate(window, ts)
    start, end = out["windowStart"], out["windowEnd"]
    assert start <= ts < end and end - start == window.window_ms
    if every == "week":
        assert (start - MONDAY) % window.window_ms == 0
        assert (start - WEEK_EPOCH_OFFSET_MS) % window.window_ms == 0
    else:
        assert start % window.window_ms == 0


@settings(max_examples=200)
@given(st.lists(TS, min_size=1, max_size=30), st.one_of(st.none(), TS),
       st.sampled_from(["drop", "include"]), st.integers(min_value=0, max_value=60_000))
def test_late_events_and_watermark(stamps: List[int], watermark: Any, policy: str,
                                   lateness_ms: int) -> None:
    window = Stream.from_(SRC).window_tumbling(
        seconds=1, event_time=_event_time, on_late=policy,
        allowed_lateness=lateness_ms / 1000).operators[0]
    annotated = [{"eventTimeMs": ts, "value": ts} for ts in stamps]
    kept, dropped, newest = _late_filter(window, annotated, watermark)
    late = [ts for ts in stamps if watermark is not None and ts < watermark]
    if policy == "drop":
        assert [e["eventTimeMs"] for e in kept] == [ts for ts in stamps if ts not in late]
        assert dropped == len(late)
    else:
        assert kept == annotated and dropped == 0
    assert newest == max(stamps)  # late events still count for the newest event time
    advanced = _advance(window, watermark, newest)
    expected = max(stamps) - window.allowed_lateness_ms
    assert advanced == (expected if watermark is None else max(watermark, expected))
    assert advanced is not None and (watermark is None or advanced >= watermark)


def test_processing_time_without_created_at_is_reported() -> None:
    window = Stream.from_(SRC).window_tumbling(seconds=1).operators[0]
    errors: List[BaseException] = []
    out = asyncio.run(window.annotate([{"msg": {"data": 1}, "key": "k", "value": 1},
                                       {"msg": {"createdAt": "2026-01-01T00:00:00.5Z"},
                                        "key": "k", "value": 2}], errors.append))
    assert [e["windowKey"] for e in out] == ["2026-01-01T00:00:00.000Z"]
    assert [str(e) for e in errors] == ["window_tumbling could not determine timestamp for "
                                        "message"]


def test_event_time_extractor_results_and_errors() -> None:
    import datetime as dt

    def boom(m):
        raise KeyError("ts")

    samples = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), 1767225600000,
               1767225600000.9, "2026-01-01T00:00:00Z"]
    for raw in samples:
        window = Stream.from_(SRC).window_session(gap=1, event_time=lambda m, r=raw: r)
        [out] = _annotate(window.operators[0], 0)
        assert out["eventTimeMs"] == 1767225600000
    for raw, text in ((None, "could not determine timestamp"), (True, "could not determine"),
                      ("soon", "could not determine")):
        window = Stream.from_(SRC).window_cron(every="hour", event_time=lambda m, r=raw: r)
        errors: List[BaseException] = []
        asyncio.run(window.operators[0].annotate([{"msg": {}, "key": "k", "value": 1}],
                                                 errors.append))
        assert text in str(errors[0]) and str(errors[0]).startswith("window_cron")
    errors = []
    window = Stream.from_(SRC).window_tumbling(seconds=1, event_time=boom).operators[0]
    asyncio.run(window.annotate([{"msg": {}, "key": "k", "value": 1}], errors.append))
    assert str(errors[0]) == "eventTime extractor threw: 'ts'"
