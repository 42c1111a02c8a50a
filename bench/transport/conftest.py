"""Fixtures of the transport micro benchmarks: the canned-answer responder in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Iterator

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def responder_url() -> Iterator[str]:
    """``python -m bench.responder``: every request gets a canned answer at once."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.responder", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
