"""The known-differences table of queen.testing and the suite that relies on it agree."""

from __future__ import annotations

import re
from pathlib import Path

from _conformance import documented_differences


def test_every_documented_difference_is_used_by_a_scenario() -> None:
    rows = documented_differences()
    assert rows == [f"D{i}" for i in range(1, len(rows) + 1)], rows
    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py")
                      if p.name != Path(__file__).name)
    used = set(re.findall(r'documented=\{"(D\d+)"', sources))
    assert used == set(rows), f"table rows {rows}, used by scenarios {sorted(used)}"
