"""How the CLI prints: readable tables to stdout by default, csv or json for machines; messages to stderr."""

from __future__ import annotations

import io
import json
import sys
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from salesintel.formatting import csv_ready, json_rows
from salesintel.lazy import lazy

pd = lazy("pandas")

stdout = Console(width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, soft_wrap=True)


def render(df: pd.DataFrame, fmt: str = "table", *, title: str | None = None) -> None:
    """Print ``df`` as a rich table, CSV, one JSON document (an array of records) or JSON lines."""
    if fmt == "csv":
        buf = io.StringIO()
        csv_ready(df).to_csv(buf, index=False, date_format="%Y-%m-%d %H:%M:%S")
        sys.stdout.write(buf.getvalue())
    elif fmt == "json":
        rows = json_rows(df)
        sys.stdout.write("[\n" + ",\n".join(rows) + "\n]\n" if rows else "[]\n")
    elif fmt == "jsonl":
        rows = json_rows(df)
        sys.stdout.write("\n".join(rows) + "\n" if rows else "")
    else:
        table = Table(title=title, show_lines=False, header_style="bold")
        for col in df.columns:
            numeric = pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
            table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
        for row in df.itertuples(index=False):
            table.add_row(*[_cell(v) for v in row])
        stdout.print(table)


def render_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, indent=1, default=str) + "\n")


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if pd.api.types.is_bool(value):  # Python's or numpy's; before the numbers, as a bool is an int
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    return str(value)


def message(text: str) -> None:
    # plain text: a hint such as pip install 'salesintel[spark]' is not a style tag
    stderr.print(text, highlight=False, markup=False)


@contextmanager
def progress(description: str, total: int) -> Iterator:
    """A progress bar on stderr, silent when stderr is not a terminal."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=stderr,
        disable=not stderr.is_terminal,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)

        class _Step:
            def advance(self, label: str | None = None) -> None:
                bar.update(task, advance=1, description=label or description)

            def describe(self, label: str) -> None:
                bar.update(task, description=label)

        yield _Step()
