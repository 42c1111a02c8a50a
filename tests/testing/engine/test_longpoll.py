"""Long polling in both modes, cancellation, deadlines (§1.6, §6.3, check 9)."""

from __future__ import annotations

import asyncio
import time

import pytest


async def _poll(api, query):
    return asyncio.ensure_future(api.pop("q", query=query))


async def test_prompt_push_wakes_parked_pop(make_api):
    api = make_api(long_poll="prompt")
    task = await _poll(api, "wait=true&timeout=30000")
    await asyncio.sleep(0.01)
    assert not task.done() and api.broker.parked() == 1
    t0 = time.monotonic()
    await api.push("q", "hello")
    body = await asyncio.wait_for(task, 1)
    assert time.monotonic() - t0 < 0.05
    assert body["messages"][0]["data"] == "hello"
    assert api.broker.parked() == 0


async def test_expiry_by_clock_advance(api):
    task = await _poll(api, "wait=true&timeout=5000")
    await asyncio.sleep(0.01)
    api.clock.advance(6)
    body = await asyncio.wait_for(task, 1)
    assert body == {"consumerGroup": "__QUEUE_MODE__", "leaseId": None, "messages": [],
                    "partition": "", "partitionId": None, "queue": "q", "success": True}


async def test_expired_shape_on_partition_route(api):
    body = await api.pop("q", "P", "wait=true&timeout=50")
    assert body["partition"] == "P" and body["partitionId"] is None and body["leaseId"] is None


async def test_real_time_deadline_prompt(api):
    t0 = time.monotonic()
    body = await api.pop("q", query="wait=true&timeout=150")
    assert 0.14 <= time.monotonic() - t0 < 0.4
    assert body["messages"] == []


async def test_wait_false_is_immediate_and_bool_strict(api):
    t0 = time.monotonic()
    body = await api.pop("q", query="wait=True&timeout=5000")
    assert time.monotonic() - t0 < 0.05 and body["error"] == "no_available_partition"


async def test_wait_one_waits(api):
    t0 = time.monotonic()
    await api.pop("q", query="wait=1&timeout=120")
    assert time.monotonic() - t0 >= 0.1


async def test_lease_expiry_delivers_to_parked_pop(api):
    await api.push("q", 1)
    await api.pop("q")
    task = await _poll(api, "wait=true&timeout=30000")
    await asyncio.sleep(0.01)
    api.clock.advance(301)
    body = await asyncio.wait_for(task, 1)
    assert len(body["messages"]) == 1


async def test_cancelled_long_poll_leaves_nothing_leased(api):
    task = await _poll(api, "wait=true&timeout=30000")
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert api.broker.parked() == 0
    await api.push("q", 1)
    body = await api.pop("q")
    assert len(body["messages"]) == 1


async def test_wire_mode_push_waits_for_tick_and_expiry_on_tick(make_api):
    api = make_api(long_poll="wire")
    t0 = time.monotonic()
    body = await api.pop("q", query="wait=true&timeout=500")
    assert body["messages"] == [] and 1.05 <= time.monotonic() - t0 < 1.4  # tick 1.1 s
    task = await _poll(api, "wait=true&timeout=30000")
    await asyncio.sleep(0.35)
    t1 = time.monotonic()
    await api.push("q", 1)
    await asyncio.sleep(0.1)
    assert not task.done()  # no wake-up on push without cluster sync
    body = await asyncio.wait_for(task, 2)
    waited = time.monotonic() - t1
    assert 0.6 <= waited < 0.95 and len(body["messages"]) == 1  # delivered on the 1.1 s tick


async def test_wire_mode_short_timeouts_land_on_early_ticks(make_api):
    api = make_api(long_poll="wire")
    t0 = time.monotonic()
    await api.pop("q", query="wait=true&timeout=200")
    assert 0.19 <= time.monotonic() - t0 < 0.3


async def test_wire_mode_clock_advance_past_deadline(make_api):
    api = make_api(long_poll="wire")
    task = await _poll(api, "wait=true&timeout=10000")
    await asyncio.sleep(0.01)
    api.clock.advance(11)
    body = await asyncio.wait_for(task, 1)
    assert body["messages"] == [] and body["leaseId"] is None


def test_wire_timing_is_the_default():
    # A 0.15 broker without cluster sync does not wake parked pops on a push; the test
    # double must not be kinder by default.
    from queen.testing import Broker, QueenTestServer

    assert Broker().long_poll == "wire"
    assert QueenTestServer().broker.long_poll == "wire"
