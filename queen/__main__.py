"""``python -m queen``: the ``queen`` command-line tool."""

from .cli import main

main()
