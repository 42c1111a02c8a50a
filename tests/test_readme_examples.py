"""The README's marked examples (``<!-- example: NAME -->`` before a python block) run as
written, in a subprocess, against both brokers."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```python\n(.*?)```", re.S)


def examples() -> dict:
    return dict(EXAMPLE.findall(README.read_text(encoding="utf-8")))


def test_the_examples_are_found() -> None:
    assert {"sync", "keyed"} <= set(examples())


@pytest.mark.parametrize("name", ["sync", "keyed"])
async def test_readme_example_runs(any_broker, name: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", examples()[name],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "QUEEN_URL": any_broker.url},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    if name == "sync":
        assert "got {'job'" in out.decode()
