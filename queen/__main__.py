"""``python -m queen``: the ``queen`` command-line tool."""

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
