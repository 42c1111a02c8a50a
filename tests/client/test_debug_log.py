"""``QUEEN_CLIENT_LOG=debug``: one record per request and per answer (method, URL, status,
duration, sizes), never a header (tokens) or a body (payloads); nothing at all, and no
timing work, when DEBUG is off."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest

from queen import Queen, QueenConnectionError
from queen.testing import QueenTestServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-token"
PAYLOAD = "payload-marker-42"

SCRIPT = f"""
import asyncio
from queen import Queen
from queen.testing import QueenTestServer

async def main():
    async with QueenTestServer() as server:
        async with Queen(server.url, handle_signals=False, bearer_token={TOKEN!r}) as queen:
            await queen.queue("dbg").push({{"data": {PAYLOAD!r}}})
            await queen.queue("dbg").wait(False).pop()

asyncio.run(main())
"""


def _run(setting: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QUEEN_CLIENT_LOG=setting)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60,
        check=True,
    )
    return done.stdout + done.stderr


def test_debug_logs_each_exchange_and_true_does_not() -> None:
    debug, info = _run("debug"), _run("true")
    exchanges = [line for line in debug.splitlines() if "[HttpClient.response]" in line]
    assert len(exchanges) == 2
    assert '"method":"POST"' in exchanges[0] and "/api/v1/push" in exchanges[0]
    assert '"method":"GET"' in exchanges[1] and "/api/v1/pop/queue/dbg" in exchanges[1]
    assert all('"status":200' in line and '"millis":' in line for line in exchanges)
    assert all("[DEBUG]" in line for line in exchanges)
    assert debug.count("[HttpClient.request]") == 2
    assert "[HttpClient." not in info and "[Queen.constructor]" in info
    for output in (debug, info):
        assert TOKEN not in output and PAYLOAD not in output


async def test_records_carry_method_url_status_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="queen.client")
    async with QueenTestServer() as server:
        async with Queen(server.url, handle_signals=False, bearer_token=TOKEN) as queen:
            await queen.queue("dbg").push({"data": PAYLOAD})
        await server.nodes[0].stop()
        async with Queen(server.url, handle_signals=False, retry_attempts=1) as queen:
            with pytest.raises(QueenConnectionError):
                await queen.admin.health()
    details: List[Any] = [
        r.queen_details for r in caplog.records  # type: ignore[attr-defined]
        if getattr(r, "queen_operation", "") == "HttpClient.response"
    ]
    assert details[0]["method"] == "POST" and details[0]["status"] == 200
    assert details[0]["url"] == f"{server.url}/api/v1/push"
    assert details[0]["millis"] >= 0 and details[0]["bodyBytes"] > 0
    assert details[1] == {**details[1], "method": "GET", "error": "QueenConnectError"}  # refused
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in text and PAYLOAD not in text


async def test_nothing_is_timed_when_debug_is_off(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from queen._http import HttpClient

    async def refuse(*args: Any) -> Any:
        raise AssertionError("the logged send ran with DEBUG off")

    monkeypatch.setattr(HttpClient, "_send_logged", refuse)
    caplog.set_level(logging.INFO, logger="queen.client")
    async with QueenTestServer() as server, Queen(server.url, handle_signals=False) as queen:
        await queen.queue("quiet").push({"data": 1})
    assert not [r for r in caplog.records if r.levelno == logging.DEBUG]
