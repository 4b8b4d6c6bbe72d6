"""Rendering of API objects for humans (Rich tables) and for scripts (`--json`).

Called by the command modules. JSON goes to stdout verbatim (no Rich highlighting) so it can be
piped into `jq`; table cells are `rich.text.Text`, never markup, because values come from users
(a deployment message like "[bold]" must print as typed). Log lines go through `typer.echo`
for the same reason.
"""

import json
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

_PIPE_WIDTH = 200  # tables piped into files or tests should not wrap at 80 columns


def console() -> Console:
    """A Console on the current stdout (created per call so test runners can swap stdout)."""
    con = Console(highlight=False)
    if not con.is_terminal:
        con.width = _PIPE_WIDTH
    return con


def print_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout."""
    typer.echo(json.dumps(data, indent=2, sort_keys=False))


def print_json_line(data: Any) -> None:
    """Print `data` as one compact JSON line (NDJSON, for streamed records)."""
    typer.echo(json.dumps(data, separators=(",", ":")))


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a borderless table; None cells show as '-'."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell_text(value)) for value in row))
    console().print(table)


def print_fields(fields: Sequence[tuple[str, Any]]) -> None:
    """Print `label  value` pairs aligned, e.g. for `kubidu status`."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in fields:
        table.add_row(Text(label), Text(cell_text(value)))
    console().print(table)


def cell_text(value: Any) -> str:
    """Render one value for a table cell."""
    if value is None or value == "":
        return "-"
    return str(value)


def error(message: str) -> None:
    """Print the one-line failure reason on stderr."""
    typer.echo(f"error: {message}", err=True)


def info(message: str) -> None:
    """Print a progress note on stderr, keeping stdout for results."""
    typer.echo(message, err=True)
