"""Where the CLI's tables go and how they read: on stdout (messages and progress stay on stderr), as a rich table
in a terminal and a plain one in a pipe or file, or as JSON or CSV (`--format table|json|csv`; `--json` is
`--format json`). Values read through `aioa.formatting`; a table of numbers ends with a totals row."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from aioa import formatting


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def chosen_format(output_format: OutputFormat | None, as_json: bool) -> OutputFormat:
    """`--json` wins (scripts written before `--format`), else `--format`, else a table."""
    return OutputFormat.json if as_json else (output_format or OutputFormat.table)


@dataclass(frozen=True)
class Field:
    """One column: the row's key, its header, how a value reads, and whether the totals row sums it."""

    key: str
    header: str
    render: Callable[[Any], str] = str
    total: bool = False
    align: str = "right"
    plain: Callable[[Any], Any] | None = None  # the CSV value (default: the raw value)


def stdout_console() -> Console:
    """Rich on a terminal; in a pipe or a file: no colour, no wrapping (a line per row)."""
    if sys.stdout.isatty():
        return Console()
    return Console(file=sys.stdout, no_color=True, width=10_000, soft_wrap=True, highlight=False)


def print_rich_table(table: Table) -> None:
    """A rich table on stdout; in a pipe or a file without its box (columns padded with spaces, as `plain_table`)."""
    if not sys.stdout.isatty():
        table.box = None
        table.title_justify = "left"
    stdout_console().print(table)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def print_csv(rows: Sequence[dict], fields: Sequence[Field]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([field.key for field in fields])
    for row in rows:
        values = [row.get(field.key) for field in fields]
        writer.writerow(
            [
                "" if value is None else (field.plain(value) if field.plain else value)
                for field, value in zip(fields, values, strict=True)
            ]
        )


def build_table(
    rows: Sequence[dict], fields: Sequence[Field], *, title: str | None = None, totals: bool = True, plain: bool = False
) -> Table:
    table = Table(title=title, box=box.SIMPLE if plain else box.HEAVY_HEAD, show_footer=False)
    for field in fields:
        table.add_column(field.header, justify=field.align, overflow="fold")
    for row in rows:
        table.add_row(*(field.render(row.get(field.key)) for field in fields))
    if totals and rows and any(field.total for field in fields):
        table.add_section()
        cells = []
        for index, field in enumerate(fields):
            if field.total:
                cells.append(field.render(sum(row.get(field.key) or 0 for row in rows)))
            else:
                cells.append(f"total ({len(rows):,} rows)" if index == 0 else "")
        table.add_row(*cells, style="bold")
    return table


def emit(
    rows: Sequence[dict],
    fields: Sequence[Field],
    output_format: OutputFormat,
    *,
    title: str | None = None,
    payload: Any = None,
    totals: bool = True,
) -> None:
    """The rows as the chosen format on stdout; `payload` is what JSON prints (default: the rows)."""
    if output_format == OutputFormat.json:
        print_json(rows if payload is None else payload)
    elif output_format == OutputFormat.csv:
        print_csv(rows, fields)
    elif sys.stdout.isatty():
        stdout_console().print(build_table(rows, fields, title=title, totals=totals))
    else:
        sys.stdout.write(plain_table(rows, fields, title=title, totals=totals))


def plain_table(rows: Sequence[dict], fields: Sequence[Field], *, title: str | None = None, totals: bool = True) -> str:
    """Text for a pipe or a file: one line per row, columns padded with spaces, no colour, no box, no wrapping."""
    table = build_table(rows, fields, totals=totals)
    header = [field.header for field in fields]
    body = [[cell for cell in column.cells] for column in table.columns]
    lines = [list(row) for row in zip(*body, strict=True)] if body and body[0] else []
    widths = [max([len(header[index]), *(len(str(line[index])) for line in lines)]) for index in range(len(fields))]

    def render(cells) -> str:
        parts = [
            str(cell).ljust(width) if field.align == "left" else str(cell).rjust(width)
            for cell, width, field in zip(cells, widths, fields, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [title] if title else []
    out += [render(header), render(["-" * width for width in widths])]
    has_totals = totals and rows and any(field.total for field in fields)
    for index, line in enumerate(lines):
        if has_totals and index == len(lines) - 1:
            out.append(render(["-" * width for width in widths]))
        out.append(render(line))
    return "\n".join(out) + "\n"


money = formatting.money
count = formatting.count
