"""Terminal output helpers shared by the commands (rich, imported lazily)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def console(stderr: bool = False) -> Any:
    """A rich console that does not wrap lines when output is not a terminal."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Any:
    """A rich table with ``columns`` and string-ified ``rows``."""
    from rich.table import Table

    result = Table(title=title, title_justify="left")
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result
