"""``mypy --strict`` on a user's program: the public API's types are what it really returns.

``user_script.py`` must check clean (its ``assert_type`` lines pin the return types);
``misuse.py`` must be reported exactly on its lines marked ``# error``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Set

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def _error_lines(report: str) -> Dict[str, Set[int]]:
    lines: Dict[str, Set[int]] = {}
    for match in re.finditer(r"^(?P<file>[^\s:]+\.py):(?P<line>\d+): error:", report, re.M):
        lines.setdefault(Path(match["file"]).name, set()).add(int(match["line"]))
    return lines


@pytest.mark.slow
def test_mypy_strict_on_a_user_script(monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api")
    monkeypatch.chdir(ROOT)
    # As for an installed package, errors inside queen itself are not the script's.
    report, errors, _status = api.run(
        [
            "--strict",
            "--follow-imports=silent",
            "--no-error-summary",
            str(HERE / "user_script.py"),
            str(HERE / "misuse.py"),
        ]
    )
    assert errors == ""
    found = _error_lines(report)
    misuse = (HERE / "misuse.py").read_text().splitlines()
    marked = {n for n, line in enumerate(misuse, 1) if line.endswith("# error")}
    assert "user_script.py" not in found, report
    assert found.get("misuse.py") == marked, report
