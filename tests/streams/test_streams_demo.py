"""``python -m queen.demo_streams`` on the embedded broker."""

from __future__ import annotations

import io

from queen.demo_streams import run_streams_demo


async def test_streams_demo_counts_every_click_once() -> None:
    out = io.StringIO()
    report = await run_streams_demo(messages=400, partitions=4, out=out)
    assert report["ok"], out.getvalue()
    assert sum(c for c, _ in report["totals"].values()) == 400
    assert report["windows"] >= 4 and "exactly once: True" in out.getvalue()
