"""The README's marked examples (``<!-- example: NAME -->`` before a python or bash block)
run as written, in a subprocess, against both brokers."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```(?:python|bash)\n(.*?)```", re.S)


def examples() -> dict:
    return dict(EXAMPLE.findall(README.read_text(encoding="utf-8")))


def test_the_examples_are_found() -> None:
    assert {"sync", "keyed", "cli"} <= set(examples())


@pytest.mark.parametrize("name", ["sync", "keyed", pytest.param("cli", marks=pytest.mark.slow)])
async def test_readme_example_runs(any_broker, name: str) -> None:
    # The shell example runs with this interpreter's `queen` first on PATH.
    command = (
        ["bash", "-e", "-o", "pipefail", "-c", examples()[name]] if name == "cli"
        else [sys.executable, "-c", examples()[name]]
    )
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "QUEEN_URL": any_broker.url, "PATH": path},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    if name == "sync":
        assert "got {'job'" in out.decode()
    if name == "cli":
        assert "sent 1000, duplicates 0, failed 0" in out.decode()
