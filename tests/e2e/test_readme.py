"""The README's pop/ack/renew example, run verbatim on both brokers: every answer succeeds."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any, Dict, List

from queen import Queen

README = Path(__file__).resolve().parents[2] / "README.md"


def _example(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"### {heading}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, heading
    return match.group(1)


class _Recorder:
    """The client, recording what ``ack()`` and ``renew()`` answer."""

    def __init__(self, queen: Queen) -> None:
        self._queen = queen
        self.answers: List[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queen, name)

    async def ack(self, *args: Any, **kwargs: Any) -> Any:
        self.answers.append(await self._queen.ack(*args, **kwargs))
        return self.answers[-1]

    async def renew(self, *args: Any, **kwargs: Any) -> Any:
        self.answers.append(await self._queen.renew(*args, **kwargs))
        return self.answers[-1]


async def test_pop_ack_renew_example(any_broker: Any) -> None:
    source = _example("Pop, ack, renew").replace('"tasks"', "name")
    body = "async def example(queen, name):\n" + textwrap.indent(source, "    ")
    scope: Dict[str, Any] = {}
    exec(compile(body, str(README), "exec"), scope)
    name = any_broker.name("readme")
    async with Queen(any_broker.url, handle_signals=False) as queen:
        await queen.queue(name).push([{"data": {"n": n}} for n in range(3)])
        # Another group's long poll returns once the pushes are visible to pops (a loaded
        # broker can take a moment); the example pops without waiting.
        assert await queen.queue(name).group("probe").batch(3).timeout_millis(10000).pop()
        recorder = _Recorder(queen)
        await scope["example"](recorder, name)
        renewed, acked, nacked = recorder.answers
        assert [r["success"] for r in renewed] == [True]
        assert acked["success"] is True and len(acked["results"]) == 2
        assert nacked["success"] is True
