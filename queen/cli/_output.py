"""How the CLI shows results: readable tables on a terminal, JSON for scripts."""

from __future__ import annotations

import sys
from typing import Any, Iterable, List, Sequence, Tuple

import orjson

__all__ = ["Column", "emit_json", "emit_table", "json_line"]

#: ``(header, dotted path into a row)``.
Column = Tuple[str, str]


def json_line(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def emit_json(value: Any) -> None:
    sys.stdout.write(json_line(value) + "\n")
    sys.stdout.flush()


def _dig(row: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(row, dict):
            return None
        row = row.get(part)
    return row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        text = json_line(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def emit_table(title: str, rows: Iterable[Any], columns: Sequence[Column]) -> None:
    """A table of ``rows`` (dicts) on stdout; plain aligned text when not a terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for header, _ in columns:
        table.add_column(header, no_wrap=True)
    count = 0
    for row in rows:
        table.add_row(*(_cell(_dig(row, path)) for _, path in columns))
        count += 1
    # On a terminal the table fits its width; in a pipe or file it keeps its natural width.
    console = Console(soft_wrap=False) if sys.stdout.isatty() else Console(width=1000)
    if count:
        console.print(table)
    else:
        console.print(f"{title}: none")


def scalar_columns(rows: List[Any], limit: int = 8) -> List[Column]:
    """Columns for rows of unknown shape: their first scalar fields."""
    names: List[str] = []
    for row in rows[:20]:
        if isinstance(row, dict):
            for key, value in row.items():
                if key not in names and not isinstance(value, (dict, list)):
                    names.append(key)
    return [(name, name) for name in names[:limit]]
