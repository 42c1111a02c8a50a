"""``queen``: the command-line tool (``pip install 'queen-turbo[cli]'``).

The entry point imports click and rich only when it runs, so the library never needs them;
without the ``cli`` extra it prints a one-line install hint and exits with 1.
"""

from __future__ import annotations

import sys
from typing import List, Optional

__all__ = ["main"]

INSTALL_HINT = "queen: the command-line tool needs its extra: pip install 'queen-turbo[cli]'"


def main(argv: Optional[List[str]] = None) -> None:
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        sys.exit(1)
    from ._app import run

    run(argv)
