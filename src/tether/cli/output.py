"""How the CLI prints: two consoles that never read markup, tables that never cut an id,
lines a user copies that are never wrapped, JSON, and times with their timezone.

Every string that came from elsewhere is passed through `tether.sanitize` here or by the
caller; the consoles are built with `markup=False` and `emoji=False`, so text is only ever
text — styling comes from `Text` spans, never from `[tags]` inside a string.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from tether.sanitize import revealed, terminal_json, terminal_name, terminal_text

if TYPE_CHECKING:  # Rich is imported when something is printed, not when the CLI loads.
    from rich.console import Console
    from rich.text import Text


@functools.cache
def out() -> Console:
    """The console for results (stdout)."""
    return _console(stderr=False)


@functools.cache
def err() -> Console:
    """The console for progress and errors (stderr)."""
    return _console(stderr=True)


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """`Text` from plain strings and (string, style) pairs; callers sanitize remote parts."""
    from rich.text import Text

    return Text.assemble(*parts)


def say(*parts: str | tuple[str, str], style: str = "") -> None:
    """A progress or status line on stderr."""
    line = styled(*parts)
    line.stylize(style)
    err().print(line, soft_wrap=True)


def copyable(*parts: str | tuple[str, str]) -> None:
    """A line the user copies (a code, a link, a command): never wrapped, at any width."""
    out().print(styled(*parts), soft_wrap=True)


def print_json(data: Any) -> None:
    """Indented JSON on stdout, safe for a terminal and the same data for a program."""
    sys.stdout.write(terminal_json(json.dumps(data, indent=2, ensure_ascii=False)) + "\n")


def json_line(data: Any) -> str:
    """One JSON object on one line, safe for a terminal."""
    return terminal_json(json.dumps(data, ensure_ascii=False, sort_keys=True))


def when(ts: float | None) -> str:
    """A Unix time as local date and time with its timezone: `2026-01-31 12:00:00 CET`
    (the UTC offset, `+0100`, where the zone has no abbreviation)."""
    if ts is None:
        return "-"
    local = datetime.fromtimestamp(ts).astimezone()
    zone = local.strftime("%Z")
    if not zone or zone[0] in "+-":
        zone = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {zone}"


@dataclass(frozen=True)
class Column:
    """A table column; `whole` columns (ids, times) are never shortened or wrapped."""

    header: str
    whole: bool = False


def columns(*headers: str, ids: int = 1) -> list[Column]:
    """A table's columns: the first `ids` of them hold ids or times (whole), the rest text."""
    return [Column(header, whole=index < ids) for index, header in enumerate(headers)]


def print_table(
    columns: Sequence[Column], rows: Iterable[Sequence[object]], *, title: str | None = None
) -> None:
    """A table of remote values (id cells sanitized as names, the others as text).

    Id columns are as wide as their longest id and never wrap; when the terminal (or
    COLUMNS, or the 80 columns Rich assumes for a pipe) is too narrow, the other columns
    wrap or end in an ellipsis instead."""
    from rich.table import Table
    from rich.text import Text

    cells = [
        [
            cell
            if isinstance(cell, Text)
            else Text((terminal_name if col.whole else revealed)(cell))
            for col, cell in zip(columns, row, strict=True)
        ]
        for row in rows
    ]
    table = Table(title=title)
    for index, column in enumerate(columns):
        if column.whole:
            widest = max([len(column.header), *(len(row[index]) for row in cells)])
            table.add_column(column.header, no_wrap=True, min_width=widest)
        else:
            table.add_column(column.header)
    for row in cells:
        table.add_row(*row)
    out().print(table)


Row = TypeVar("Row")


def print_rows(
    rows: Sequence[Row],
    columns: Sequence[Column],
    cells: Callable[[Row], Sequence[object]],
    *,
    as_json: bool,
) -> None:
    """What the hub listed: as it gave it with `--json`, else a table of `cells(row)`."""
    if as_json:
        print_json(rows)
    else:
        print_table(columns, [cells(row) for row in rows])


def _cell_text(value: object, whole: bool) -> str:
    return terminal_name(value) if whole else revealed(value)


def error_text(message: object, hint: object = None) -> list[Text]:
    """The lines of an error: `error: …` and, if there is one, `hint: …` (sanitized)."""
    lines = [styled(("error:", "bold red"), " ", terminal_text(message))]
    if hint:
        lines.append(styled(("  hint: " + terminal_text(hint), "dim")))
    return lines
