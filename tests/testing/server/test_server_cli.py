"""``python -m queen.testing`` as a standalone broker."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

import httpx
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _spawn(*args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-m", "queen.testing", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _urls(proc: subprocess.Popen, n: int) -> list:
    assert proc.stdout is not None
    return [proc.stdout.readline().strip() for _ in range(n)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_and_exits_cleanly_on_a_signal(sig):
    proc = _spawn("--nodes", "2")
    try:
        urls = _urls(proc, 2)
        assert all(u.startswith("http://127.0.0.1:") for u in urls), urls
        for url in urls:
            assert httpx.get(url + "/health", timeout=5).json()["status"] == "healthy"
        proc.send_signal(sig)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_cli_http2_and_status_mode_options():
    proc = _spawn("--http2", "--status-mode", "intended", "--long-poll", "wire")
    try:
        (url,) = _urls(proc, 1)
        with httpx.Client(http1=False, http2=True, timeout=5) as client:
            r = client.get(url + "/health")
        assert r.http_version == "HTTP/2" and r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_options():
    proc = _spawn("--status-mode", "bogus")
    assert proc.wait(10) == 2
    assert proc.stderr is not None and "invalid choice" in proc.stderr.read()
