#!/usr/bin/env python3
"""The version is written once, in queen/_version.py; this checks that the rest agrees with it.

    python3 .ci/release_check.py              # CHANGELOG.md has an entry for the version
    python3 .ci/release_check.py --tag v1.2.3 # ... and the tag names it, and the entry is dated

Read as text, not imported, so it runs without installing anything.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = ROOT / "queen" / "_version.py"
CHANGELOG = ROOT / "CHANGELOG.md"


def version() -> str:
    match = re.search(r'^__version__ = "([^"]+)"$', VERSION_FILE.read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"{VERSION_FILE}: no __version__ = \"...\" line")
    return match.group(1)


def problems(current: str, changelog: str, tag: Optional[str] = None) -> List[str]:
    """What disagrees with the version ``current`` (empty when everything agrees)."""
    found: List[str] = []
    heading = re.search(rf"^## \[{re.escape(current)}\] - (.+)$", changelog, re.MULTILINE)
    if not heading:
        found.append(f"CHANGELOG.md has no '## [{current}] - <date>' entry for {current}")
    if tag is not None:
        if tag != f"v{current}":
            found.append(f"tag {tag} does not name the version {current} (expected v{current})")
        if heading and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", heading.group(1).strip()):
            found.append(f"CHANGELOG.md's entry for {current} is not dated: {heading.group(0)}")
    return found


def check(tag: Optional[str] = None) -> List[str]:
    """:func:`problems` of this checkout."""
    return problems(version(), CHANGELOG.read_text(), tag)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", help="the git tag being released, e.g. v0.1.0")
    args = parser.parse_args(argv)
    found = check(args.tag)
    for problem in found:
        print(f"release check: {problem}", file=sys.stderr)
    if not found:
        print(f"release check: version {version()} ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
